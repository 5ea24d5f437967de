//! Evaluation sets (Ferry's extension) and the lineage-true benchmark: sets are created,
//! listed, read and deleted under their retriever, with bad input refused at the field; a
//! migration copies them with ids remapped; and the benchmark stage's figures (overlap@k on
//! recorded queries, recall/MRR/NDCG@k per set on source and target) equal what this test
//! computes itself from the two retrievers' answers over HTTP, matched by lineage.

mod common;

use std::collections::HashMap;

use common::corpus::{create_retriever, documents, scoped, search_stage, seed, wait_for_task};
use common::migration::{post, wait_until_settled, MIGRATIONS};
use common::{assert_error, assert_invalid, send, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const SETS: &str = "/v1/retrievers/semantic/evaluations";

fn within(server: &TestServer, ns: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    server.request(method, path).header("X-Namespace", ns)
}

/// The corpus, and retriever `semantic` (top 10 of `texts`, a required `query` input).
async fn seed_with_retriever(server: &TestServer) {
    seed(server).await;
    create_retriever(
        server,
        json!({"retriever_name": "semantic", "collection_identifiers": ["texts"],
               "stages": [search_stage(10)],
               "input_schema": {"query": {"type": "text", "required": true}}}),
    )
    .await;
}

/// Source documents of `texts` by topic: `(document_id, object_id)`.
async fn by_topic(server: &TestServer) -> HashMap<String, Vec<(String, String)>> {
    let mut topics: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for d in documents(server, "texts").await {
        topics
            .entry(d["topic"].as_str().unwrap().to_owned())
            .or_default()
            .push((
                d["document_id"].as_str().unwrap().to_owned(),
                d["_internal"]["lineage"]["source_object_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ));
    }
    for docs in topics.values_mut() {
        docs.sort();
    }
    topics
}

async fn evaluation_sets_are_created_listed_read_and_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed_with_retriever(&server).await;
    let topics = by_topic(&server).await;
    let (doc, _) = topics["astronomy"][0].clone();
    let (_, object) = topics["baking"][1].clone();
    let body = json!({"evaluation_name": "golden", "description": "hand judged",
        "queries": [
            {"inputs": {"query": "galaxy nebula"},
             "relevant": [{"document_id": doc, "grade": 3}, {"object_id": object}]},
            {"query_id": "bread", "inputs": {"query": "flour yeast"},
             "relevant": [{"object_id": object, "grade": 2}]}]});
    let (status, created) = send(scoped(&server, Method::POST, SETS).json(&body)).await;
    assert_eq!(status, 200, "{created}");
    let id = created["evaluation_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("eval_"), "{created}");
    assert_eq!(created["evaluation_name"], "golden");
    assert_eq!(created["description"], "hand judged");
    assert!(created["retriever_id"]
        .as_str()
        .unwrap()
        .starts_with("ret_"));
    assert_eq!(created["query_count"], 2);
    assert_eq!(created["judgment_count"], 3);
    assert_eq!(
        created["queries"][0]["query_id"], "q1",
        "labels default to positions"
    );
    assert_eq!(created["queries"][1]["query_id"], "bread");
    assert_eq!(
        created["queries"][0]["relevant"],
        json!([{"document_id": doc, "grade": 3}, {"object_id": object, "grade": 1}])
    );
    assert!(created["created_at"].as_str().unwrap().contains('T'));

    // Read back by id and by name; listed by GET and POST …/list, with search and paging.
    for identifier in [id.as_str(), "golden"] {
        let (status, got) = send(scoped(
            &server,
            Method::GET,
            &format!("{SETS}/{identifier}"),
        ))
        .await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got, created);
    }
    let (status, _) = send(
        scoped(&server, Method::POST, SETS).json(&json!({"evaluation_name": "second", "queries": [
                {"inputs": {"query": "orbit"}, "relevant": [{"object_id": object}]}]})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, listed) = send(scoped(&server, Method::GET, &format!("{SETS}?limit=1"))).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed["results"][0]["evaluation_name"], "second",
        "newest first"
    );
    assert!(listed["pagination"]["next_cursor"].is_string(), "{listed}");
    let (status, listed) = send(
        scoped(
            &server,
            Method::POST,
            &format!("{SETS}/list?include_total=true"),
        )
        .json(&json!({"search": "GOLD"})),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["pagination"]["total"], 1, "{listed}");
    assert_eq!(listed["results"][0]["evaluation_id"], id.as_str());

    // A taken name, a missing retriever, documents and objects that are not there.
    let (status, refused) = send(scoped(&server, Method::POST, SETS).json(&body)).await;
    assert_error(
        status,
        &refused,
        400,
        "BadRequestError",
        "evaluation_name_taken",
    );
    let (status, refused) =
        send(scoped(&server, Method::POST, "/v1/retrievers/nowhere/evaluations").json(&body)).await;
    assert_error(
        status,
        &refused,
        404,
        "NotFoundError",
        "retriever_not_found",
    );
    let with = |relevant: Value, inputs: Value| json!({"evaluation_name": "other", "queries": [{"inputs": inputs, "relevant": relevant}]});
    let query = json!({"query": "comet"});
    let (status, refused) = send(scoped(&server, Method::POST, SETS).json(&with(
        json!([{"document_id": "doc_missing"}]),
        query.clone(),
    )))
    .await;
    assert_error(
        status,
        &refused,
        400,
        "BadRequestError",
        "document_not_found",
    );
    assert_eq!(
        refused["error"]["details"]["document_ids"],
        json!(["doc_missing"])
    );
    let (status, refused) = send(
        scoped(&server, Method::POST, SETS)
            .json(&with(json!([{"object_id": "obj_missing"}]), query.clone())),
    )
    .await;
    assert_error(status, &refused, 400, "BadRequestError", "object_not_found");
    let (status, refused) = send(
        scoped(&server, Method::POST, SETS)
            .json(&with(json!([{"object_id": object}]), json!({"other": "x"}))),
    )
    .await;
    assert_error(status, &refused, 400, "BadRequestError", "missing_input");
    assert_eq!(
        refused["error"]["details"]["loc"],
        json!(["body", "queries", 0, "inputs"])
    );

    // Shapes and bounds: 422 at the field.
    let bad = |relevant: Value| with(relevant, query.clone());
    for (body, loc, kind) in [
        (
            bad(json!([{"object_id": object, "grade": 0}])),
            json!(["body", "queries", 0, "relevant", 0, "grade"]),
            "greater_than_equal",
        ),
        (
            bad(json!([{"object_id": object, "grade": 11}])),
            json!(["body", "queries", 0, "relevant", 0, "grade"]),
            "less_than_equal",
        ),
        (
            bad(json!([{"object_id": object, "document_id": doc}])),
            json!(["body", "queries", 0, "relevant", 0]),
            "value_error",
        ),
        (
            bad(json!([])),
            json!(["body", "queries", 0, "relevant"]),
            "too_short",
        ),
        (
            json!({"evaluation_name": "x", "queries": []}),
            json!(["body", "queries"]),
            "too_short",
        ),
        (
            json!({"queries": [{"inputs": {}, "relevant": [{"object_id": object}]}]}),
            json!(["body", "evaluation_name"]),
            "missing",
        ),
        (
            json!({"evaluation_name": "x", "extra": 1, "queries": [
                {"inputs": {}, "relevant": [{"object_id": object}]}]}),
            json!(["body", "extra"]),
            "extra_forbidden",
        ),
    ] {
        let (status, refused) = send(scoped(&server, Method::POST, SETS).json(&body)).await;
        assert_invalid(status, &refused, loc, kind);
    }
    let (status, refused) = send(
        scoped(&server, Method::POST, SETS)
            .json(&bad(json!([{"object_id": object, "grade": "high"}]))),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(
        refused["detail"][0]["loc"].as_array().unwrap()[..4],
        json!(["body", "queries", 0, "relevant"])
            .as_array()
            .unwrap()[..]
    );

    // Another namespace sees none of it.
    server.create_namespace("elsewhere").await;
    let (status, _) = send(within(&server, "elsewhere", Method::GET, SETS)).await;
    assert_eq!(status, 404);

    // Deleted by id: gone, and a second delete is a 404.
    let (status, deleted) = send(scoped(&server, Method::DELETE, &format!("{SETS}/{id}"))).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["evaluation_id"], id.as_str());
    let (status, gone) = send(scoped(&server, Method::GET, &format!("{SETS}/{id}"))).await;
    assert_error(status, &gone, 404, "NotFoundError", "evaluation_not_found");
    let (status, _) = send(scoped(&server, Method::DELETE, &format!("{SETS}/{id}"))).await;
    assert_eq!(status, 404);

    // Deleting the retriever deletes its sets.
    let (status, _) = send(scoped(&server, Method::DELETE, "/v1/retrievers/semantic")).await;
    assert_eq!(status, 200);
    create_retriever(
        &server,
        json!({"retriever_name": "semantic", "collection_identifiers": ["texts"],
               "stages": [search_stage(10)]}),
    )
    .await;
    let (status, listed) = send(scoped(&server, Method::GET, SETS)).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["results"], json!([]));
}

/// Queries the test records on the source and judges in its evaluation set.
const QUERIES: [&str; 6] = [
    "galaxy nebula comet",
    "flour yeast dough oven",
    "penalty striker",
    "telescope supernova pulsar",
    "sourdough crust butter",
    "referee league tackle midfield",
];

/// Content hash of every object of bucket `docs` in `ns`, by object id: how the test follows
/// an object into a namespace where it has another id.
async fn object_hashes(server: &TestServer, ns: &str) -> HashMap<String, String> {
    let (status, page) = send(within(
        server,
        ns,
        Method::GET,
        "/v1/buckets/docs/objects?limit=1000",
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["object_id"].as_str().unwrap().to_owned(),
                o["blobs"][0]["details"]["hash"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect()
}

/// The top 10 of `semantic` in `ns` for `query`, each result named by its source object's
/// content (the corpus makes one document per object, so object and chunk are the object).
async fn top_10(
    server: &TestServer,
    ns: &str,
    query: &str,
    hashes: &HashMap<String, String>,
) -> Vec<String> {
    let (status, run) = send(
        within(server, ns, Method::POST, "/v1/retrievers/semantic/execute")
            .json(&json!({"inputs": {"query": query}, "limit": 10})),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    run["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let object = d["_internal"]["lineage"]["source_object_id"]
                .as_str()
                .unwrap();
            hashes[object].clone()
        })
        .collect()
}

/// Recall, MRR and NDCG at 10 of `results` against graded `judged` items (all named by
/// content): gain 2^grade − 1, discount log2(rank + 1), each judged item credited once.
fn figures(results: &[String], judged: &[(String, i64)]) -> [f64; 3] {
    let mut credited = vec![false; judged.len()];
    let (mut dcg, mut mrr) = (0.0, 0.0);
    for (rank, item) in results.iter().take(10).enumerate() {
        let best = (0..judged.len())
            .filter(|j| !credited[*j] && judged[*j].0 == *item)
            .max_by_key(|j| judged[*j].1);
        if let Some(j) = best {
            credited[j] = true;
            dcg += (2f64.powi(judged[j].1 as i32) - 1.0) / ((rank + 2) as f64).log2();
            if mrr == 0.0 {
                mrr = 1.0 / (rank + 1) as f64;
            }
        }
    }
    let mut grades: Vec<i64> = judged.iter().map(|j| j.1).collect();
    grades.sort_by(|a, b| b.cmp(a));
    let ideal: f64 = grades
        .iter()
        .take(10)
        .enumerate()
        .map(|(rank, g)| (2f64.powi(*g as i32) - 1.0) / ((rank + 2) as f64).log2())
        .sum();
    let recall = credited.iter().filter(|c| **c).count() as f64 / judged.len() as f64;
    [recall, mrr, dcg / ideal]
}

fn overlap(source: &[String], target: &[String]) -> f64 {
    source.iter().filter(|s| target.contains(s)).count() as f64 / source.len() as f64
}

fn close(a: f64, b: &Value) {
    let b = b.as_f64().unwrap_or_else(|| panic!("not a number: {b}"));
    assert!((a - b).abs() < 1e-9, "computed {a}, reported {b}");
}

/// Records the queries on the source and judges them: per query, two documents of its topic
/// (grades 3 and 1) and one object of it (grade 2). Returns the set as created.
async fn record_and_judge(server: &TestServer) -> Value {
    let topics = by_topic(server).await;
    let topic_of = |query: &str| match query {
        q if q.contains("galaxy") || q.contains("telescope") => "astronomy",
        q if q.contains("flour") || q.contains("sourdough") => "baking",
        _ => "football",
    };
    let mut queries = Vec::new();
    for (i, query) in QUERIES.iter().enumerate() {
        let (status, run) = send(
            scoped(server, Method::POST, "/v1/retrievers/semantic/execute")
                .json(&json!({"inputs": {"query": query}})),
        )
        .await;
        assert_eq!(status, 200, "{run}");
        let docs = &topics[topic_of(query)];
        let pick = |n: usize| docs[(i + n) % docs.len()].clone();
        queries.push(json!({"inputs": {"query": query}, "relevant": [
            {"document_id": pick(0).0, "grade": 3},
            {"document_id": pick(2).0, "grade": 1},
            {"object_id": pick(4).1, "grade": 2}]}));
    }
    let (status, set) = send(
        scoped(server, Method::POST, SETS)
            .json(&json!({"evaluation_name": "judged", "queries": queries})),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    set
}

async fn run_migration(server: &TestServer, config: Value) -> Value {
    let (status, created) =
        post(server, &format!("{MIGRATIONS}/"), json!({"config": config})).await;
    assert_eq!(status, 200, "{created}");
    let id = created["migration_id"].as_str().unwrap();
    let (status, started) = post(
        server,
        &format!("{MIGRATIONS}/{id}/start"),
        json!({"force": true}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let done = wait_until_settled(server, id).await;
    assert_eq!(done["status"], "completed", "{done}");
    done
}

/// Checks a retriever's reported benchmark against the test's own computation over HTTP:
/// overlap@10 on the recorded queries (`replayed` executions), and the judged set's figures
/// on both sides.
async fn check_benchmark(
    server: &TestServer,
    target: &str,
    set: &Value,
    report: &Value,
    replayed: usize,
) -> (f64, f64) {
    let source_hashes = object_hashes(server, "data").await;
    let target_hashes = object_hashes(server, target).await;
    // Source documents named by their object's content (one document per object).
    let source_docs = document_contents(server, "data", &source_hashes).await;
    assert_eq!(report["matching"], "lineage");
    // Every recorded execution is one of QUERIES (the test's own runs on the source record
    // them again), so the mean over the distinct queries is the mean over the replayed ones.
    assert_eq!(report["queries"], replayed, "{report}");
    let mut overlaps = Vec::new();
    let (mut on_source, mut on_target) = (Vec::new(), Vec::new());
    for (query, judged) in QUERIES.iter().zip(set["queries"].as_array().unwrap()) {
        let s = top_10(server, "data", query, &source_hashes).await;
        let t = top_10(server, target, query, &target_hashes).await;
        overlaps.push(overlap(&s, &t));
        let judgments: Vec<(String, i64)> = judged["relevant"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let content = match r["document_id"].as_str() {
                    Some(d) => source_docs[d].clone(),
                    None => source_hashes[r["object_id"].as_str().unwrap()].clone(),
                };
                (content, r["grade"].as_i64().unwrap())
            })
            .collect();
        on_source.push(figures(&s, &judgments));
        on_target.push(figures(&t, &judgments));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let overlap_at_10 = mean(&overlaps);
    close(overlap_at_10, &report["overlap_at_k"]);
    let sets = report["evaluation_sets"].as_array().unwrap();
    assert_eq!(sets.len(), 1, "{report}");
    let reported = &sets[0];
    assert_eq!(reported["evaluation_name"], "judged");
    assert_eq!(reported["queries"], QUERIES.len());
    assert_eq!(reported["k"], 10);
    let (mut wins, mut losses) = (0, 0);
    for (i, name) in ["recall_at_k", "mrr_at_k", "ndcg_at_k"].iter().enumerate() {
        let s = mean(&on_source.iter().map(|f| f[i]).collect::<Vec<_>>());
        let t = mean(&on_target.iter().map(|f| f[i]).collect::<Vec<_>>());
        close(s, &reported["source"][name]);
        close(t, &reported["target"][name]);
        close(t - s, &reported["delta"][name]);
    }
    for (s, t) in on_source.iter().zip(&on_target) {
        if t[2] - s[2] > 1e-9 {
            wins += 1;
        } else if t[2] - s[2] < -1e-9 {
            losses += 1;
        }
    }
    assert_eq!(reported["wins"], wins, "{reported}");
    assert_eq!(reported["losses"], losses, "{reported}");
    assert_eq!(
        reported["ties"],
        QUERIES.len() - wins - losses,
        "{reported}"
    );
    let regressions = reported["worst_regressions"].as_array().unwrap();
    assert_eq!(regressions.len(), losses, "{reported}");
    let drops: Vec<f64> = regressions
        .iter()
        .map(|r| r["delta_ndcg_at_k"].as_f64().unwrap())
        .collect();
    assert!(
        drops.windows(2).all(|w| w[0] <= w[1]),
        "worst first: {drops:?}"
    );
    let source_ndcg = mean(&on_source.iter().map(|f| f[2]).collect::<Vec<_>>());
    (overlap_at_10, source_ndcg)
}

/// The target's copy of the judged set: same queries and grades, every judged id one the
/// target holds, naming the same content as in the source.
async fn check_copied_set(server: &TestServer, target: &str, set: &Value) {
    let (status, listed) = send(within(server, target, Method::GET, SETS)).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["results"].as_array().unwrap().len(), 1, "{listed}");
    let copy = &listed["results"][0];
    assert_eq!(copy["evaluation_name"], "judged");
    assert_ne!(copy["evaluation_id"], set["evaluation_id"]);
    assert_eq!(copy["query_count"], set["query_count"]);
    let source_hashes = object_hashes(server, "data").await;
    let target_hashes = object_hashes(server, target).await;
    let source_docs = document_contents(server, "data", &source_hashes).await;
    let target_docs = document_contents(server, target, &target_hashes).await;
    for (original, copied) in set["queries"]
        .as_array()
        .unwrap()
        .iter()
        .zip(copy["queries"].as_array().unwrap())
    {
        assert_eq!(original["inputs"], copied["inputs"]);
        let items =
            |q: &Value, docs: &HashMap<String, String>, objects: &HashMap<String, String>| {
                q["relevant"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| match r["document_id"].as_str() {
                        Some(d) => ("document", docs[d].clone(), r["grade"].clone()),
                        None => (
                            "object",
                            objects[r["object_id"].as_str().unwrap()].clone(),
                            r["grade"].clone(),
                        ),
                    })
                    .collect::<Vec<_>>()
            };
        assert_eq!(
            items(original, &source_docs, &source_hashes),
            items(copied, &target_docs, &target_hashes),
            "{copied}"
        );
    }
}

/// Every document of `texts` in `ns`, named by its object's content.
async fn document_contents(
    server: &TestServer,
    ns: &str,
    hashes: &HashMap<String, String>,
) -> HashMap<String, String> {
    let (status, page) = send(
        within(
            server,
            ns,
            Method::POST,
            "/v1/collections/texts/documents/list?limit=1000",
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let object = d["_internal"]["lineage"]["source_object_id"]
                .as_str()
                .unwrap();
            (
                d["document_id"].as_str().unwrap().to_owned(),
                hashes[object].clone(),
            )
        })
        .collect()
}

async fn re_extract_reports_figures_an_independent_computation_confirms(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed_with_retriever(&server).await;
    let set = record_and_judge(&server).await;
    let done = run_migration(
        &server,
        json!({"migration_type": "re_extract", "source_namespace_id": "data",
               "target_namespace_name": "data_v2",
               "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v2"}]}),
    )
    .await;
    let data = &done["additional_data"];
    assert_eq!(data["evaluation_sets_copied"], 1, "{data}");
    let report = &data["benchmark"][0];
    let (overlap_at_10, _) = check_benchmark(&server, "data_v2", &set, report, QUERIES.len()).await;
    // The rebuilt documents have new ids, yet lineage finds most of the source's results.
    // v1 and v2 rank the tails differently: the figure checked above is not a trivial 1.
    assert!(overlap_at_10 > 0.5 && overlap_at_10 < 1.0, "{report}");
    check_copied_set(&server, "data_v2", &set).await;
}

async fn copy_and_extend_see_identical_results(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed_with_retriever(&server).await;
    let set = record_and_judge(&server).await;
    let copy = json!({"migration_type": "copy", "source_namespace_id": "data",
                      "target_namespace_name": "data_copy"});
    let done = run_migration(&server, copy).await;
    let report = &done["additional_data"]["benchmark"][0];
    let (overlap_at_10, _) =
        check_benchmark(&server, "data_copy", &set, report, QUERIES.len()).await;
    assert_eq!(overlap_at_10, 1.0, "{report}");
    let figures = &report["evaluation_sets"][0];
    assert_eq!(figures["source"], figures["target"], "{figures}");
    assert_eq!(figures["ties"], QUERIES.len(), "{figures}");
    check_copied_set(&server, "data_copy", &set).await;

    // New objects in the source, then an extend: the target answers as the source again.
    let (status, body) = send(
        scoped(&server, Method::POST, "/v1/buckets/docs/objects/batch").json(&json!({"objects": [
            {"topic": "astronomy", "blobs": [{"property": "content", "type": "text",
             "data": "galaxy comet orbit quasar"}]}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, trigger) = send(scoped(
        &server,
        Method::POST,
        "/v1/collections/texts/trigger",
    ))
    .await;
    assert_eq!(status, 202, "{trigger}");
    wait_for_task(&server, trigger["task_id"].as_str().unwrap()).await;
    let extend = json!({"migration_type": "extend", "source_namespace_id": "data",
                        "target_namespace_name": "data_copy"});
    let done = run_migration(&server, extend).await;
    let report = &done["additional_data"]["benchmark"][0];
    let (overlap_at_10, _) =
        check_benchmark(&server, "data_copy", &set, report, 2 * QUERIES.len()).await;
    // Equal to the test's own figure (checked above). Documents tied in score at the tenth
    // place may be cut differently where the extended target scans them in another order,
    // so the figure is what the two lists give, not necessarily 1.
    assert!(overlap_at_10 > 0.9, "{report}");
    check_copied_set(&server, "data_copy", &set).await;
}

store_tests!(
    evaluation_sets_are_created_listed_read_and_deleted,
    re_extract_reports_figures_an_independent_computation_confirms,
    copy_and_extend_see_identical_results,
);
