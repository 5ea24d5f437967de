//! `ferry demo load`: fills a running server with the sample corpus that ships in the binary
//! (`demo/articles.tsv`: 108 short plain-English articles in nine topics, written for Ferry
//! and licensed with it), so a newcomer has something real to migrate. Everything goes
//! through the public API, as a user's own loader would.
//!
//! It creates a namespace, bucket `articles` with one object per article, collection
//! `articles_v1` (text_extractor v1) triggered to completion, and retriever `articles_search`
//! with a few recorded queries, which give a migration's benchmark stage something to compare.

use std::time::Duration;

use clap::Args;
use reqwest::Method;
use serde_json::{json, Value};

use super::client::{Client, Failure};
use super::exit::Exit;
use super::{report, Connection};

/// The corpus: a header line, then `topic<TAB>title<TAB>text` per article.
pub const ARTICLES: &str = include_str!("../../demo/articles.tsv");

/// Queries recorded on the retriever, one per topic.
const QUERIES: [&str; 9] = [
    "why does the moon change shape",
    "how to keep bread dough rising",
    "improving clay soil with compost",
    "sailing upwind in a zigzag",
    "how birds find their way when migrating",
    "resuming a data migration after a failure",
    "what causes earthquakes and volcanoes",
    "what makes one note higher than another",
    "how much sleep adults need",
];

#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: DemoCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum DemoCommand {
    /// Load the sample articles into a new namespace and index them (text_extractor v1).
    Load {
        /// Name of the namespace to create.
        #[arg(long, default_value = "demo")]
        namespace: String,
    },
}

/// One article of the corpus.
pub struct Article<'a> {
    pub topic: &'a str,
    pub title: &'a str,
    pub text: &'a str,
}

/// The articles, in file order.
pub fn articles() -> Vec<Article<'static>> {
    ARTICLES
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let mut fields = line.splitn(3, '\t');
            Some(Article {
                topic: fields.next()?,
                title: fields.next()?,
                text: fields.next()?,
            })
        })
        .collect()
}

pub async fn run(args: DemoArgs) -> Exit {
    let json = args.connection.json;
    let DemoCommand::Load { namespace } = args.command;
    match load(&args.connection.client(), &namespace, json).await {
        Ok(summary) => {
            if json {
                println!("{summary}");
            } else {
                println!("{}", describe(&summary));
            }
            Exit::Ok
        }
        Err(failure) => {
            report(&failure, json);
            failure.exit()
        }
    }
}

fn describe(s: &Value) -> String {
    format!(
        "loaded {objects} articles into namespace {ns} ({ns_id})\n\
         \x20 bucket      articles         {bucket}  {objects} objects\n\
         \x20 collection  articles_v1      {collection}  {documents} documents (text_extractor@v1)\n\
         \x20 retriever   articles_search  {retriever}  {queries} recorded queries\n\
         next: ferry migrations create --type re_extract --source {ns} \
         --extractor text_extractor@v2 --force --watch",
        objects = s["objects"],
        ns = s["namespace_name"].as_str().unwrap_or("?"),
        ns_id = s["namespace_id"].as_str().unwrap_or("?"),
        bucket = s["bucket_id"].as_str().unwrap_or("?"),
        collection = s["collection_id"].as_str().unwrap_or("?"),
        documents = s["documents"],
        retriever = s["retriever_id"].as_str().unwrap_or("?"),
        queries = s["queries"],
    )
}

async fn load(client: &Client, name: &str, json: bool) -> Result<Value, Failure> {
    let say = |line: &str| {
        if !json {
            eprintln!("{line}");
        }
    };
    let ns = client
        .call(
            Method::POST,
            "/v1/namespaces",
            Some(&json!({"namespace_name": name,
                         "description": "Ferry's sample articles (ferry demo load)"})),
            None,
        )
        .await?;
    let scope = Some(name);
    let bucket = client
        .call(
            Method::POST,
            "/v1/buckets",
            Some(
                &json!({"bucket_name": "articles", "bucket_schema": {"properties": {
                "topic": {"type": "string"}, "title": {"type": "string"},
                "content": {"type": "text"}}}}),
            ),
            scope,
        )
        .await?;
    let all = articles();
    for chunk in all.chunks(100) {
        let objects: Vec<Value> = chunk
            .iter()
            .map(|a| {
                json!({"topic": a.topic, "title": a.title,
                       "blobs": [{"property": "content", "type": "text", "data": a.text}]})
            })
            .collect();
        let answer = client
            .call(
                Method::POST,
                "/v1/buckets/articles/objects/batch",
                Some(&json!({"objects": objects})),
                scope,
            )
            .await?;
        if answer["failed_count"].as_u64() != Some(0) {
            return Err(Failure::Transport(format!(
                "the server refused some sample objects: {}",
                answer["failed"]
            )));
        }
    }
    say(&format!("stored {} articles in bucket articles", all.len()));
    let collection = client
        .call(
            Method::POST,
            "/v1/collections",
            Some(&json!({
                "collection_name": "articles_v1",
                "source": {"type": "bucket", "bucket_ids": ["articles"]},
                "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                    "input_mappings": {"text": "content"},
                    "field_passthrough": [{"source_path": "topic"}, {"source_path": "title"}]}
            })),
            scope,
        )
        .await?;
    let trigger = client
        .call(
            Method::POST,
            "/v1/collections/articles_v1/trigger",
            None,
            scope,
        )
        .await?;
    let task_id = trigger["task_id"].as_str().unwrap_or_default().to_owned();
    say(&format!(
        "indexing with text_extractor@v1 (task {task_id}) …"
    ));
    let task = wait_for_task(client, &task_id).await?;
    if task["status"] != "COMPLETED" {
        return Err(Failure::Transport(format!(
            "indexing the sample articles ended {}: {}",
            task["status"], task
        )));
    }
    let retriever = client
        .call(
            Method::POST,
            "/v1/retrievers",
            Some(&json!({
                "retriever_name": "articles_search",
                "collection_identifiers": ["articles_v1"],
                "input_schema": {"query": {"type": "text", "required": true}},
                "stages": [{"stage_name": "search", "config": {"stage_id": "feature_search",
                    "parameters": {"searches": [{
                        "feature_uri": "mixpeek://text_extractor@v1/text_embedding",
                        "query": {"input_mode": "text", "value": "{{INPUT.query}}"},
                        "top_k": 10}]}}}]
            })),
            scope,
        )
        .await?;
    let retriever_id = retriever["retriever_id"].as_str().unwrap_or_default();
    for query in QUERIES {
        client
            .call(
                Method::POST,
                &format!("/v1/retrievers/{retriever_id}/execute"),
                Some(&json!({"inputs": {"query": query}})),
                scope,
            )
            .await?;
    }
    let indexed = client
        .call(Method::GET, "/v1/collections/articles_v1", None, scope)
        .await?;
    Ok(json!({
        "namespace_id": ns["namespace_id"],
        "namespace_name": name,
        "bucket_id": bucket["bucket_id"],
        "collection_id": collection["collection_id"],
        "retriever_id": retriever_id,
        "objects": all.len(),
        "documents": indexed["document_count"],
        "queries": QUERIES.len(),
        "task_id": task_id,
    }))
}

/// The task once it finished (polled every 200 ms for up to 10 minutes).
async fn wait_for_task(client: &Client, task_id: &str) -> Result<Value, Failure> {
    for _ in 0..3000 {
        let task = client
            .call(Method::GET, &format!("/v1/tasks/{task_id}"), None, None)
            .await?;
        if ["COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"]
            .contains(&task["status"].as_str().unwrap_or(""))
        {
            return Ok(task);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(Failure::Transport(format!(
        "task {task_id} did not finish within 10 minutes"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corpus_is_real_text_in_every_topic() {
        let all = articles();
        assert_eq!(all.len(), 108);
        let topics: std::collections::BTreeSet<&str> = all.iter().map(|a| a.topic).collect();
        assert_eq!(topics.len(), 9, "{topics:?}");
        for a in &all {
            assert!(a.text.split_whitespace().count() >= 30, "{}", a.title);
            assert!(!a.title.is_empty() && !a.text.contains('\t'));
        }
    }
}
