//! Cutover and rollback of a namespace alias (Ferry's extension), on both stores:
//! - a writer keeps creating and deleting objects through the alias while a migration runs
//!   and the alias is cut over; afterwards every acknowledged create is in the new namespace
//!   and every acknowledged delete is absent, the old namespace refuses writes, and a
//!   rollback makes it the alias's (writable) target again;
//! - writes, updates and deletes made to the source after the migration (objects and
//!   documents) are caught up, counted in the answer;
//! - the quality gate refuses a re_extract to a worse extractor, naming the failing figures,
//!   passes one to a better extractor, and `force` overrides it;
//! - bad requests get their stable codes.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::corpus::{documents, scoped, seed, seed_with_extractor, trigger};
use common::migration::{post, receiver, wait_until_settled, Received, MIGRATIONS};
use common::{assert_error, assert_invalid, send, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const ALIAS: &str = "live";

fn through(server: &TestServer, ns: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    server.request(method, path).header("X-Namespace", ns)
}

async fn create_alias(server: &TestServer, namespace: &str) {
    let (status, body) = post(
        server,
        "/v1/namespaces/aliases",
        json!({"alias_name": ALIAS, "namespace": namespace}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Creates and starts a migration; returns its id.
async fn start_migration(server: &TestServer, config: Value) -> String {
    let (status, created) =
        post(server, &format!("{MIGRATIONS}/"), json!({"config": config})).await;
    assert_eq!(status, 200, "{created}");
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let (status, started) = post(
        server,
        &format!("{MIGRATIONS}/{id}/start"),
        json!({"force": true}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    id
}

async fn run_migration(server: &TestServer, config: Value) -> String {
    let id = start_migration(server, config).await;
    let done = wait_until_settled(server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    id
}

async fn cut_over(server: &TestServer, body: Value) -> (u16, Value) {
    post(
        server,
        &format!("/v1/namespaces/aliases/{ALIAS}/cutover"),
        body,
    )
    .await
}

async fn roll_back(server: &TestServer) -> (u16, Value) {
    post(
        server,
        &format!("/v1/namespaces/aliases/{ALIAS}/rollback"),
        json!({}),
    )
    .await
}

/// Creates a text object in bucket `docs` of `ns` (a namespace or the alias).
async fn create_object(server: &TestServer, ns: &str, text: &str) -> (u16, Value) {
    send(through(server, ns, Method::POST, "/v1/buckets/docs/objects").json(&text_object(text)))
        .await
}

fn text_object(text: &str) -> Value {
    json!({"blobs": [{"property": "content", "type": "text", "data": text}]})
}

/// What the writer was told: objects created and objects deleted, by id.
#[derive(Default)]
struct Acknowledged {
    created: BTreeSet<String>,
    deleted: BTreeSet<String>,
    /// Writes refused with a retryable freeze or read-only answer (and retried).
    refused: usize,
}

/// Creates objects through the alias until `stop`, deleting every third one it created.
/// A refusal by a freeze (503 with Retry-After) or by a retired namespace (409) is retried;
/// any other answer fails the test.
async fn writer(server: Arc<TestServer>, stop: Arc<AtomicBool>) -> Acknowledged {
    let mut acked = Acknowledged::default();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let request = through(&server, ALIAS, Method::POST, "/v1/buckets/docs/objects")
            .json(&text_object(&format!("written during cutover {n}")));
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").cloned();
        let body: Value = response.json().await.unwrap();
        match status {
            200 => {
                acked
                    .created
                    .insert(body["object_id"].as_str().unwrap().to_owned());
            }
            503 => {
                assert_eq!(body["error"]["code"], "namespace_frozen", "{body}");
                assert!(retry_after.is_some(), "a freeze answers with Retry-After");
                acked.refused += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            409 => {
                assert_eq!(body["error"]["code"], "namespace_read_only", "{body}");
                acked.refused += 1;
                continue;
            }
            other => panic!("create answered {other}: {body}"),
        }
        if n % 3 == 0 {
            let victim = acked.created.iter().next().unwrap().clone();
            loop {
                let (status, body) = send(through(
                    &server,
                    ALIAS,
                    Method::DELETE,
                    &format!("/v1/buckets/docs/objects/{victim}"),
                ))
                .await;
                match status {
                    200 => break,
                    503 | 409 => {
                        acked.refused += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    other => panic!("delete answered {other}: {body}"),
                }
            }
            acked.created.remove(&victim);
            acked.deleted.insert(victim);
        }
    }
    acked
}

async fn object_status(server: &TestServer, ns: &str, id: &str) -> u16 {
    send(through(
        server,
        ns,
        Method::GET,
        &format!("/v1/buckets/docs/objects/{id}"),
    ))
    .await
    .0
}

async fn a_writer_through_the_alias_loses_nothing_across_cutover_and_rollback(backend: Backend) {
    let server = Arc::new(TestServer::start(backend).await);
    seed(&server).await;
    create_alias(&server, "data").await;
    let stop = Arc::new(AtomicBool::new(false));
    let writing = tokio::spawn(writer(server.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The migration runs while the writer writes; ids are kept, so the writer's ids stay
    // valid through the alias after the cutover.
    let id = run_migration(
        &server,
        json!({"migration_type": "copy", "source_namespace_id": ALIAS,
               "target_namespace_name": "data_next", "preserve_resource_ids": true}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, done) = cut_over(&server, json!({"migration_id": id})).await;
    assert_eq!(status, 200, "{done}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    let acked = writing.await.unwrap();
    assert!(
        acked.created.len() > 3 && !acked.deleted.is_empty(),
        "the writer wrote throughout"
    );

    assert_eq!(done["object"], "namespace_alias_cutover");
    assert_eq!(done["migration_id"], id.as_str());
    assert_eq!(done["forced"], false);
    assert_eq!(done["catch_up"]["passes"], 2, "{done}");
    assert!(
        done["catch_up"]["objects_written"].as_u64().unwrap() > 0,
        "writes made during the run were caught up: {done}"
    );
    let alias = &done["alias"];
    assert_eq!(alias["namespace_name"], "data_next");
    assert_eq!(done["to_namespace_id"], alias["namespace_id"]);
    let history = alias["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["started_by"], "cutover");
    assert_eq!(history[1]["migration_id"], id.as_str());
    assert_eq!(history[0]["ended_by"], "cutover");

    // Every acknowledged create is in the new namespace, every acknowledged delete is not.
    for created in &acked.created {
        assert_eq!(
            object_status(&server, "data_next", created).await,
            200,
            "{created} was acknowledged"
        );
    }
    for deleted in &acked.deleted {
        assert_eq!(
            object_status(&server, "data_next", deleted).await,
            404,
            "{deleted} was deleted"
        );
    }

    // The source is read-only now, directly; through the alias, writes reach the target.
    let (status, refused) = create_object(&server, "data", "too late").await;
    assert_error(
        status,
        &refused,
        409,
        "ConflictError",
        "namespace_read_only",
    );
    let (status, written) = create_object(&server, ALIAS, "after the cutover").await;
    assert_eq!(status, 200, "{written}");
    let after = written["object_id"].as_str().unwrap();
    assert_eq!(object_status(&server, "data_next", after).await, 200);

    // Rollback: the alias points to the source again, which takes writes again; the
    // namespace it leaves is read-only.
    let (status, rolled) = roll_back(&server).await;
    assert_eq!(status, 200, "{rolled}");
    assert_eq!(rolled["object"], "namespace_alias_rollback");
    assert_eq!(rolled["alias"]["namespace_name"], "data");
    assert_eq!(rolled["migration_id"], id.as_str());
    assert_eq!(rolled["to_namespace_id"], history[0]["namespace_id"]);
    let history = rolled["alias"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[2]["started_by"], "rollback");
    let (status, written) = create_object(&server, ALIAS, "after the rollback").await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(
        object_status(&server, "data", written["object_id"].as_str().unwrap()).await,
        200
    );
    let (status, refused) = create_object(&server, "data_next", "to the retired one").await;
    assert_error(
        status,
        &refused,
        409,
        "ConflictError",
        "namespace_read_only",
    );

    // Deleting the alias leaves no namespace read-only: nothing could roll back to it.
    let (status, body) =
        send(server.request(Method::DELETE, &format!("/v1/namespaces/aliases/{ALIAS}"))).await;
    assert_eq!(status, 200, "{body}");
    let (status, written) = create_object(&server, "data_next", "writable again").await;
    assert_eq!(status, 200, "{written}");
}

async fn changes_after_the_migration_are_caught_up(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    create_alias(&server, "data").await;
    let (hook, received) = receiver().await;
    let id = run_migration(
        &server,
        json!({"migration_type": "copy", "source_namespace_id": "data",
               "target_namespace_name": "data_next", "webhook_url": hook}),
    )
    .await;

    // After the migration read the source: two new objects (processed into documents by a
    // trigger), one object updated, one deleted, one document deleted.
    let (status, created) = send(
        scoped(&server, Method::POST, "/v1/buckets/docs/objects/batch").json(&json!({
            "objects": [
                {"topic": "baking", "blobs": [{"property": "content", "type": "text",
                  "data": "rye flour starter"}]},
                {"topic": "baking", "blobs": [{"property": "content", "type": "text",
                  "data": "oven spring crust"}]}]})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    trigger(&server, "texts").await;
    let (status, listed) = send(
        scoped(
            &server,
            Method::POST,
            "/v1/buckets/docs/objects/list?limit=100",
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    // Two of the objects the migration copied (the new ones are about baking).
    let copied: Vec<&str> = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["topic"] == "football")
        .map(|o| o["object_id"].as_str().unwrap())
        .collect();
    let (updated, removed) = (copied[0], copied[1]);
    let (status, body) = send(
        scoped(
            &server,
            Method::PATCH,
            &format!("/v1/buckets/docs/objects/{updated}"),
        )
        .json(&json!({"topic": "reviewed"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(scoped(
        &server,
        Method::DELETE,
        &format!("/v1/buckets/docs/objects/{removed}"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    // A document the migration copied (one of a football object's; the trigger gave every
    // document a new creation time, so list order does not tell old from new).
    let doomed = documents(&server, "texts")
        .await
        .into_iter()
        .find(|d| d["topic"] == "football")
        .unwrap()["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = send(scoped(
        &server,
        Method::DELETE,
        &format!("/v1/collections/texts/documents/{doomed}"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, done) = cut_over(&server, json!({"migration_id": id})).await;
    assert_eq!(status, 200, "{done}");
    let caught = &done["catch_up"];
    assert_eq!(caught["objects_written"], 3, "{done}");
    assert_eq!(caught["objects_deleted"], 1, "{done}");
    // The trigger wrote every document again (20), and one was deleted since.
    assert_eq!(caught["documents_written"], 19, "{done}");
    assert_eq!(caught["documents_deleted"], 1, "{done}");
    assert_eq!(
        done["checks"],
        json!([]),
        "a copy without figures has nothing to check"
    );

    // The target, through the alias, holds what the source holds.
    let count = |server: &TestServer, ns: &'static str, path: &'static str| {
        let request = through(server, ns, Method::POST, path).json(&json!({}));
        async move {
            let (status, page) = send(request.query(&[("include_total", "true")])).await;
            assert_eq!(status, 200, "{page}");
            page["pagination"]["total"].as_i64().unwrap()
        }
    };
    for path in [
        "/v1/buckets/docs/objects/list",
        "/v1/collections/texts/documents/list",
    ] {
        assert_eq!(
            count(&server, ALIAS, path).await,
            count(&server, "data", path).await,
            "{path}"
        );
    }
    assert_eq!(
        count(&server, ALIAS, "/v1/buckets/docs/objects/list").await,
        19
    );
    assert_eq!(
        count(&server, ALIAS, "/v1/collections/texts/documents/list").await,
        19
    );
    let (status, listed) = send(
        through(
            &server,
            ALIAS,
            Method::POST,
            "/v1/buckets/docs/objects/list?limit=100",
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200);
    let reviewed = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["topic"] == "reviewed")
        .count();
    assert_eq!(reviewed, 1, "the update was caught up: {listed}");

    let (_, migration) = send(server.request(Method::GET, &format!("{MIGRATIONS}/{id}"))).await;
    let org = migration["internal_id"].as_str().unwrap();
    let event = announced(&server, &received, org, "namespace.alias.cutover").await;
    assert_eq!(event["migration_id"], id.as_str());
    assert_eq!(event["alias_name"], ALIAS);
    assert_eq!(event["to_namespace_id"], done["to_namespace_id"]);
    assert_eq!(event["catch_up"], done["catch_up"]);

    // A second cutover with the same migration: the alias no longer points to its source.
    let (status, refused) = cut_over(&server, json!({"migration_id": id})).await;
    assert_error(status, &refused, 409, "ConflictError", "cutover_not_ready");
    assert!(
        refused["error"]["details"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("not to the migration's source"),
        "{refused}"
    );
    let (status, rolled) = roll_back(&server).await;
    assert_eq!(status, 200, "{rolled}");
    let event = announced(&server, &received, org, "namespace.alias.rollback").await;
    assert_eq!(event["migration_id"], id.as_str());
    assert_eq!(event["to_namespace_id"], done["from_namespace_id"]);
}

/// The data of the signed webhook event `name` the receiver got (waiting up to 10 s).
async fn announced(server: &TestServer, received: &Received, org: &str, name: &str) -> Value {
    for _ in 0..400 {
        let found = received.lock().unwrap().iter().find_map(|(headers, body)| {
            let event: Value = serde_json::from_str(body).unwrap();
            (event["type"] == name).then(|| (headers.clone(), body.clone(), event))
        });
        if let Some((headers, body, event)) = found {
            let header = |name: &str| headers[name].to_str().unwrap().to_owned();
            let secret = server.store.webhook_secret(org).await.unwrap();
            let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
            assert_eq!(
                header("webhook-signature"),
                ferry_migrate::webhooks::sign(&secret, &header("webhook-id"), timestamp, &body),
                "signed as the migration's events are"
            );
            return event["data"].clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no {name} event arrived");
}

/// Namespace `data` with bucket `docs` (the shared topics) and collection `texts` on text
/// extractor `version`; retriever `semantic`; evaluation set `gold` whose queries use word
/// forms the documents do not contain (plurals), judged by topic.
async fn seed_judged(server: &TestServer, version: &str) {
    seed_with_extractor(server, version).await;
    let (status, body) = send(scoped(server, Method::POST, "/v1/retrievers").json(&json!({
        "retriever_name": "semantic", "collection_identifiers": ["texts"],
        "stages": [{"stage_name": "search", "config": {"stage_id": "feature_search",
            "parameters": {"searches": [{
                "feature_uri": format!("mixpeek://text_extractor@{version}/text_embedding"),
                "query": {"input_mode": "text", "value": "{{INPUT.query}}"}, "top_k": 10}]}}}],
        "input_schema": {"query": {"type": "text", "required": true}}})))
    .await;
    assert_eq!(status, 200, "{body}");
    let mut by_topic: std::collections::HashMap<String, Vec<Value>> = Default::default();
    for d in documents(server, "texts").await {
        by_topic
            .entry(d["topic"].as_str().unwrap().to_owned())
            .or_default()
            .push(json!({"document_id": d["document_id"], "grade": 1}));
    }
    let queries = [
        ("baking", "sourdoughs crusts kneading"),
        ("astronomy", "galaxies nebulae telescopes"),
        ("football", "strikers referees stadiums"),
    ];
    let queries: Vec<Value> = queries
        .iter()
        .map(|(topic, q)| json!({"inputs": {"query": q}, "relevant": by_topic[*topic]}))
        .collect();
    let (status, body) = send(
        scoped(server, Method::POST, "/v1/retrievers/semantic/evaluations")
            .json(&json!({"evaluation_name": "gold", "queries": queries})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

fn re_extract_to(version: &str, target: &str) -> Value {
    json!({"migration_type": "re_extract", "source_namespace_id": "data",
           "target_namespace_name": target,
           "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": version}]})
}

async fn the_gate_refuses_a_worse_extractor_unless_forced(backend: Backend) {
    let server = TestServer::start(backend).await;
    // v2 embeds character n-grams, so "galaxies" finds "galaxy"; v1 embeds whole words and
    // does not: a re_extract from v2 to v1 loses on every judged query.
    seed_judged(&server, "v2").await;
    create_alias(&server, "data").await;
    let worse = run_migration(&server, re_extract_to("v1", "data_v1")).await;
    let (status, refused) = cut_over(&server, json!({"migration_id": worse})).await;
    assert_error(status, &refused, 409, "ConflictError", "cutover_refused");
    let failures = refused["error"]["details"]["failures"].as_array().unwrap();
    let figures: BTreeSet<&str> = failures
        .iter()
        .map(|f| f["figure"].as_str().unwrap())
        .collect();
    assert!(figures.contains("ndcg_at_k"), "{refused}");
    for failure in failures {
        assert_eq!(failure["basis"], "evaluation_set", "{failure}");
        assert!(failure["evaluation_id"]
            .as_str()
            .unwrap()
            .starts_with("eval_"));
        assert!(
            failure["value"].as_f64().unwrap() > 0.0,
            "a drop: {failure}"
        );
        assert_eq!(failure["passed"], false);
    }
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("ndcg_at_k") && message.contains("dropped"),
        "{message}"
    );
    // Nothing moved, and the source still takes writes.
    let (status, alias) =
        send(server.request(Method::GET, &format!("/v1/namespaces/aliases/{ALIAS}"))).await;
    assert_eq!(status, 200);
    assert_eq!(alias["namespace_name"], "data", "{alias}");
    let (status, body) = create_object(&server, "data", "still writable").await;
    assert_eq!(status, 200, "{body}");

    // A lenient enough threshold, or force, lets it through; force reports the failures.
    let (status, forced) = cut_over(&server, json!({"migration_id": worse, "force": true})).await;
    assert_eq!(status, 200, "{forced}");
    assert_eq!(forced["forced"], true);
    assert_eq!(forced["alias"]["namespace_name"], "data_v1");
    assert!(
        forced["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["passed"] == false),
        "{forced}"
    );
    assert_eq!(
        forced["catch_up"]["objects_written"], 1,
        "the object written after the migration was caught up: {forced}"
    );
    let (status, rolled) = roll_back(&server).await;
    assert_eq!(status, 200, "{rolled}");
}

async fn the_gate_passes_a_better_extractor(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed_judged(&server, "v1").await;
    create_alias(&server, "data").await;
    let better = run_migration(&server, re_extract_to("v2", "data_v2")).await;
    // Written after the migration: the catch-up extracts it with v2 into the target.
    let (status, body) = create_object(&server, "data", "comet quasar pulsar").await;
    assert_eq!(status, 200, "{body}");
    let (status, done) = cut_over(&server, json!({"migration_id": better})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["forced"], false);
    let checks = done["checks"].as_array().unwrap();
    assert_eq!(
        checks.len(),
        3,
        "NDCG, recall and MRR of the one set: {done}"
    );
    assert!(checks.iter().all(|c| c["passed"] == true), "{done}");
    let ndcg = checks.iter().find(|c| c["figure"] == "ndcg_at_k").unwrap();
    assert!(
        ndcg["target"].as_f64().unwrap() > ndcg["source"].as_f64().unwrap(),
        "v2 finds the word forms v1 cannot: {ndcg}"
    );
    assert_eq!(done["catch_up"]["objects_written"], 1, "{done}");
    assert_eq!(done["catch_up"]["documents_written"], 1, "{done}");
    let texts = documents(&server, "texts").await.len();
    let (status, page) = send(
        through(
            &server,
            ALIAS,
            Method::POST,
            "/v1/collections/texts/documents/list",
        )
        .json(&json!({}))
        .query(&[("include_total", "true")]),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["pagination"]["total"].as_u64().unwrap() as usize,
        texts + 1,
        "the target has the source's documents and the caught-up one"
    );
}

/// A catch-up that cannot finish within its freeze (here: a one-second freeze, inside the
/// margin kept for other processes' clocks) gives up: the freeze is lifted, the alias stays,
/// and a later cutover continues from what the failed one caught up.
async fn a_catch_up_that_outlasts_its_freeze_moves_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    create_alias(&server, "data").await;
    let id = run_migration(
        &server,
        json!({"migration_type": "copy", "source_namespace_id": "data",
               "target_namespace_name": "data_next"}),
    )
    .await;
    let (status, body) = create_object(&server, ALIAS, "before the first attempt").await;
    assert_eq!(status, 200, "{body}");

    let (status, refused) = cut_over(
        &server,
        json!({"migration_id": id, "freeze_timeout_seconds": 1}),
    )
    .await;
    assert_error(status, &refused, 409, "ConflictError", "cutover_not_ready");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("freeze ran out"), "{message}");
    let (status, alias) =
        send(server.request(Method::GET, &format!("/v1/namespaces/aliases/{ALIAS}"))).await;
    assert_eq!(status, 200);
    assert_eq!(alias["namespace_name"], "data", "nothing moved: {alias}");
    assert_eq!(alias["history"].as_array().unwrap().len(), 1);
    let (status, body) = create_object(&server, ALIAS, "after the failed attempt").await;
    assert_eq!(status, 200, "the freeze was lifted: {body}");

    let (status, done) = cut_over(&server, json!({"migration_id": id})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["catch_up"]["objects_written"], 1,
        "the failed attempt had caught the first write up already: {done}"
    );
    let count = |ns: &'static str| {
        let request = through(&server, ns, Method::POST, "/v1/buckets/docs/objects/list")
            .json(&json!({}))
            .query(&[("include_total", "true")]);
        async move { send(request).await.1["pagination"]["total"].clone() }
    };
    assert_eq!(count(ALIAS).await, json!(20));
    assert_eq!(count(ALIAS).await, count("data").await);

    // Repointed by hand to the retired source, the alias finds it writable again.
    let (status, direct) = create_object(&server, "data", "to the retired source").await;
    assert_error(status, &direct, 409, "ConflictError", "namespace_read_only");
    let (status, moved) = send(
        server
            .request(Method::PATCH, &format!("/v1/namespaces/aliases/{ALIAS}"))
            .json(&json!({"namespace": "data"})),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let (status, body) = create_object(&server, ALIAS, "after the repoint").await;
    assert_eq!(status, 200, "{body}");
}

async fn bad_cutovers_get_stable_codes(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    server.create_namespace("other").await;
    create_alias(&server, "other").await;
    let id = run_migration(
        &server,
        json!({"migration_type": "copy", "source_namespace_id": "data",
               "target_namespace_name": "data_next"}),
    )
    .await;
    let (status, body) = cut_over(&server, json!({"migration_id": "mig_nowhere"})).await;
    assert_error(status, &body, 400, "BadRequestError", "migration_not_found");
    let (status, body) = cut_over(&server, json!({"migration_id": id})).await;
    assert_error(status, &body, 409, "ConflictError", "cutover_not_ready");
    let (status, body) = cut_over(
        &server,
        json!({"migration_id": id, "thresholds": {"max_ndcg_drop": 2}}),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "thresholds", "max_ndcg_drop"]),
        "value_error",
    );
    let (status, body) = cut_over(
        &server,
        json!({"migration_id": id, "freeze_timeout_seconds": 0}),
    )
    .await;
    assert_invalid(
        status,
        &body,
        json!(["body", "freeze_timeout_seconds"]),
        "greater_than_equal",
    );
    let (status, body) = post(
        &server,
        "/v1/namespaces/aliases/nowhere/cutover",
        json!({"migration_id": id}),
    )
    .await;
    assert_error(status, &body, 404, "NotFoundError", "alias_not_found");
    let (status, body) = roll_back(&server).await;
    assert_error(status, &body, 409, "ConflictError", "nothing_to_roll_back");
}

store_tests!(
    a_writer_through_the_alias_loses_nothing_across_cutover_and_rollback,
    changes_after_the_migration_are_caught_up,
    the_gate_refuses_a_worse_extractor_unless_forced,
    the_gate_passes_a_better_extractor,
    a_catch_up_that_outlasts_its_freeze_moves_nothing,
    bad_cutovers_get_stable_codes,
);
