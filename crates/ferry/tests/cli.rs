//! The `ferry` binary as scripts use it: what `serve` prints, first-start keys,
//! `FERRY_API_KEY`, `admin create-key`, a clean stop on SIGTERM, and crashes at injected
//! points with real process death (`crash_windows.rs` steps the same windows in process).

mod common;

use std::time::Duration;

use common::process::{ferry, ServeProcess};
use common::{send, Backend, TestDatabase};
use reqwest::Method;

async fn list_status(base: &str, key: &str) -> (u16, serde_json::Value) {
    send(
        reqwest::Client::new()
            .request(Method::POST, format!("{base}/v1/namespaces/list"))
            .bearer_auth(key),
    )
    .await
}

async fn first_start_prints_a_key_once_and_sigterm_stops_cleanly(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let mut server = ServeProcess::start(&db, None);
    let base = server.base_url();
    let key = server.created_key().expect("first start prints a key");
    assert!(key.starts_with("sk_"), "{key}");
    let (status, _) = list_status(&base, &key).await;
    assert_eq!(status, 200);
    let (status, _) = send(
        reqwest::Client::new()
            .post(format!("{base}/v1/namespaces"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"namespace_name": "kept"})),
    )
    .await;
    assert_eq!(status, 200);
    let (clean, last) = server.terminate();
    assert!(clean, "SIGTERM exits 0");
    assert!(last.iter().any(|l| l == "ferry stopped"), "{last:?}");

    let mut again = ServeProcess::start(&db, None);
    let base = again.base_url();
    assert_eq!(
        again.created_key(),
        None,
        "a key is printed on first start only"
    );
    let (status, list) = list_status(&base, &key).await;
    assert_eq!(status, 200, "the first key still works after a restart");
    assert_eq!(list["total_count"], 1);
    again.terminate();
}

async fn ferry_api_key_and_admin_create_key(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let chosen = "sk_chosen_by_the_environment_0123456789";
    let mut server = ServeProcess::start(&db, Some(chosen));
    let base = server.base_url();
    assert_eq!(
        server.created_key(),
        None,
        "FERRY_API_KEY replaces the generated key"
    );
    let (status, _) = list_status(&base, chosen).await;
    assert_eq!(status, 200);

    let output = ferry(&db)
        .args(["admin", "create-key", "--org", "acme"])
        .output()
        .expect("admin create-key");
    assert!(output.status.success(), "{output:?}");
    let acme_key = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(acme_key.starts_with("sk_"), "{acme_key}");
    let (status, _) = send(
        reqwest::Client::new()
            .post(format!("{base}/v1/namespaces"))
            .bearer_auth(chosen)
            .json(&serde_json::json!({"namespace_name": "defaults-own"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, acme_view) = list_status(&base, &acme_key).await;
    assert_eq!(
        status, 200,
        "a key made by the CLI works on the running server"
    );
    assert_eq!(
        acme_view["total_count"], 0,
        "acme sees none of default's namespaces"
    );
    server.terminate();
}

const KEY: &str = "sk_crash_test_key_00000000000000000000";

async fn call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(KEY)
        .header("X-Namespace", "crash");
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// Seeds 55 text objects and a collection over them; returns the trigger's task id.
async fn seed_and_trigger(base: &str) -> String {
    use serde_json::json;
    let (status, _) = call(
        base,
        Method::POST,
        "/v1/namespaces",
        Some(json!({"namespace_name": "crash"})),
    )
    .await;
    assert_eq!(status, 200);
    call(
        base,
        Method::POST,
        "/v1/buckets",
        Some(json!({"bucket_name": "b",
        "bucket_schema": {"properties": {"body": {"type": "text"}}}})),
    )
    .await;
    let objects: Vec<_> = (0..55)
        .map(|i| json!({"body": format!("object {i} text")}))
        .collect();
    let (status, _) = call(
        base,
        Method::POST,
        "/v1/buckets/b/objects/batch",
        Some(json!({"objects": objects})),
    )
    .await;
    assert_eq!(status, 200);
    call(
        base,
        Method::POST,
        "/v1/collections",
        Some(json!({"collection_name": "col",
        "source": {"type": "bucket", "bucket_ids": ["b"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "body"}}})),
    )
    .await;
    let (status, trigger) = call(base, Method::POST, "/v1/collections/col/trigger", None).await;
    assert_eq!(status, 202, "{trigger}");
    trigger["task_id"].as_str().unwrap().to_owned()
}

/// Kills `ferry serve` at an injected point during a trigger, restarts it, and checks the
/// task finishes with every object processed exactly once.
async fn crash_and_resume(backend: Backend, fault: &str, committed_before_crash: i64) {
    let db = TestDatabase::new(backend).await;
    let env = [
        ("FERRY_BATCH_SIZE", "10"),
        ("FERRY_TASK_LEASE_SECONDS", "1"),
        ("FERRY_FAULT_INJECT", fault),
    ];
    let mut server = ServeProcess::start_with(&db, Some(KEY), &env);
    let base = server.base_url();
    let task_id = seed_and_trigger(&base).await;
    let status = server
        .child
        .wait()
        .expect("the injected fault ends the process");
    assert_eq!(status.code(), Some(86), "died at the injected point");

    let store = db.open().await;
    let org = store.ensure_organization("default").await.unwrap();
    let task = store.get_task(&org.internal_id, &task_id).await.unwrap();
    assert_eq!(
        task.status,
        ferry_wire::task::TaskStatusEnum::InProgress,
        "a dead worker's task stays claimed until its lease ends"
    );
    assert_eq!(task.processed, committed_before_crash);
    store.close().await;

    let env = [
        ("FERRY_BATCH_SIZE", "10"),
        ("FERRY_TASK_LEASE_SECONDS", "1"),
    ];
    let mut restarted = ServeProcess::start_with(&db, Some(KEY), &env);
    let base = restarted.base_url();
    let mut task = serde_json::Value::Null;
    for _ in 0..200 {
        let (_, t) = call(&base, Method::GET, &format!("/v1/tasks/{task_id}"), None).await;
        task = t;
        if task["status"] == "COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(task["status"], "COMPLETED", "{task}");
    assert_eq!(task["additional_data"]["processed"], 55, "{task}");
    assert_eq!(
        task["additional_data"]["attempts"], 2,
        "resumed by the restarted process"
    );

    let (_, docs) = call(
        &base,
        Method::POST,
        "/v1/collections/col/documents/list?limit=1000",
        Some(serde_json::json!({})),
    )
    .await;
    let docs = docs["results"].as_array().unwrap().clone();
    assert_eq!(docs.len(), 55, "no document lost, none duplicated");
    let objects: std::collections::BTreeSet<&str> = docs
        .iter()
        .map(|d| {
            d["_internal"]["lineage"]["source_object_id"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(objects.len(), 55, "every object exactly once");
    let (_, collection) = call(&base, Method::GET, "/v1/collections/col", None).await;
    assert_eq!(collection["document_count"], 55);
    restarted.terminate();
}

async fn killed_after_a_committed_batch_resumes_from_the_next(backend: Backend) {
    crash_and_resume(backend, "after_commit:2", 20).await;
}

async fn killed_before_a_batch_commits_redoes_only_that_batch(backend: Backend) {
    crash_and_resume(backend, "before_commit:3", 20).await;
}

/// Seeds the `crash` namespace (55 objects, 55 documents) with a clean process.
async fn seed_with_a_clean_process(db: &TestDatabase) {
    let mut seeder = ServeProcess::start_with(db, Some(KEY), &[("FERRY_BATCH_SIZE", "10")]);
    let base = seeder.base_url();
    let task_id = seed_and_trigger(&base).await;
    for _ in 0..400 {
        let (_, task) = call(&base, Method::GET, &format!("/v1/tasks/{task_id}"), None).await;
        if task["status"] == "COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (ok, _) = seeder.terminate();
    assert!(ok);
}

/// Creates and starts a copy of `crash` in batches of 10, one at a time (12 batches: 6 of
/// objects, then 6 of documents).
async fn start_copy(base: &str, retry_failed: bool) -> String {
    let (status, created) = call(
        base,
        Method::POST,
        "/v1/namespaces/migrations/",
        Some(serde_json::json!({"start_immediately": true, "config": {
            "migration_type": "copy", "source_namespace_id": "crash",
            "target_namespace_name": "crash_copy",
            "batch_options": {"batch_size": 10, "max_workers": 1, "retry_failed": retry_failed}}})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    created["migration_id"].as_str().unwrap().to_owned()
}

async fn wait_for_migration(base: &str, id: &str, until: &[&str]) -> serde_json::Value {
    let mut migration = serde_json::Value::Null;
    for _ in 0..600 {
        let (_, m) = call(
            base,
            Method::GET,
            &format!("/v1/namespaces/migrations/{id}"),
            None,
        )
        .await;
        migration = m;
        if until.contains(&migration["status"].as_str().unwrap_or_default()) {
            return migration;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("migration {id} never reached {until:?}: {migration}");
}

/// Creates and force-starts (its `RE_EXTRACT_COST` warning) a re_extract of `crash` to
/// text_extractor v2, in batches of 10, one at a time (12 batches: 6 copying objects, then 6
/// extracting them).
async fn start_re_extract(base: &str) -> String {
    let (status, created) = call(
        base,
        Method::POST,
        "/v1/namespaces/migrations/",
        Some(serde_json::json!({"config": {
            "migration_type": "re_extract", "source_namespace_id": "crash",
            "target_namespace_name": "crash_copy",
            "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v2"}],
            "batch_options": {"batch_size": 10, "max_workers": 1}}})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let (status, started) = call(
        base,
        Method::POST,
        &format!("/v1/namespaces/migrations/{id}/start"),
        Some(serde_json::json!({"force": true})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    id
}

/// The target (`crash_copy`) holds exactly the source's 55 objects and 55 documents, each
/// once. Returns the target collection.
async fn assert_target_complete(base: &str) -> serde_json::Value {
    let target = |path: &str| {
        reqwest::Client::new()
            .request(Method::POST, format!("{base}{path}"))
            .bearer_auth(KEY)
            .header("X-Namespace", "crash_copy")
            .json(&serde_json::json!({}))
    };
    let (status, docs) = send(target("/v1/collections/col/documents/list?limit=1000")).await;
    assert_eq!(status, 200, "{docs}");
    let docs = docs["results"].as_array().unwrap();
    assert_eq!(docs.len(), 55, "no document lost, none duplicated");
    let ids: std::collections::BTreeSet<&str> = docs
        .iter()
        .map(|d| d["document_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 55);
    let sources: std::collections::BTreeSet<&str> = docs
        .iter()
        .map(|d| {
            d["_internal"]["lineage"]["source_object_id"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        sources.len(),
        55,
        "lineage points at 55 distinct copied objects"
    );
    let (status, objects) = send(target("/v1/buckets/b/objects/list?limit=1000")).await;
    assert_eq!(status, 200, "{objects}");
    let object_ids: std::collections::BTreeSet<&str> = objects["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["object_id"].as_str().unwrap())
        .collect();
    assert_eq!(object_ids.len(), 55);
    assert!(
        sources.iter().all(|s| object_ids.contains(s)),
        "lineage remapped to the copies"
    );
    let (_, collection) = send(
        reqwest::Client::new()
            .get(format!("{base}/v1/collections/col"))
            .bearer_auth(KEY)
            .header("X-Namespace", "crash_copy"),
    )
    .await;
    assert_eq!(collection["document_count"], 55, "{collection}");
    collection
}

/// Kills `ferry serve` at an injected point of a running copy (or re_extract), restarts it,
/// and checks the migration resumes and completes with nothing lost and nothing duplicated.
async fn migration_crash_and_resume(backend: Backend, fault: &str) {
    crash_and_resume_migration(backend, fault, false).await
}

async fn crash_and_resume_migration(backend: Backend, fault: &str, re_extract: bool) {
    let db = TestDatabase::new(backend).await;
    seed_with_a_clean_process(&db).await;
    let env = [
        ("FERRY_TASK_LEASE_SECONDS", "1"),
        ("FERRY_MIGRATION_FAULT_INJECT", fault),
    ];
    let mut server = ServeProcess::start_with(&db, Some(KEY), &env);
    let base = server.base_url();
    let id = if re_extract {
        start_re_extract(&base).await
    } else {
        start_copy(&base, true).await
    };
    let status = server
        .child
        .wait()
        .expect("the injected fault ends the process");
    assert_eq!(
        status.code(),
        Some(86),
        "died at the injected point ({fault})"
    );

    let mut restarted =
        ServeProcess::start_with(&db, Some(KEY), &[("FERRY_TASK_LEASE_SECONDS", "1")]);
    let base = restarted.base_url();
    let done = wait_for_migration(&base, &id, &["completed", "failed"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["progress"]["stages"][2]["items_completed"], 110,
        "{done}"
    );
    // The engine completes the migration, then settles its task: poll the task.
    let task_path = format!("/v1/tasks/{}", done["task_id"].as_str().unwrap());
    let mut task = serde_json::Value::Null;
    for _ in 0..200 {
        let (_, t) = call(&base, Method::GET, &task_path, None).await;
        task = t;
        if task["status"] == "COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(task["status"], "COMPLETED", "{task}");
    assert_eq!(
        task["additional_data"]["attempts"], 2,
        "resumed by the restarted process"
    );
    let collection = assert_target_complete(&base).await;
    if re_extract {
        assert_eq!(collection["feature_extractor"]["version"], "v2");
        assert_eq!(
            collection["vector_indexes"][0]["index"]["dimensions"], 768,
            "{collection}"
        );
    }
    restarted.terminate();
}

async fn re_extract_killed_before_an_extraction_commits_redoes_it(backend: Backend) {
    crash_and_resume_migration(backend, "before_commit:9", true).await;
}

async fn re_extract_killed_after_an_extraction_commits_resumes(backend: Backend) {
    crash_and_resume_migration(backend, "after_commit:8", true).await;
}

async fn migration_killed_after_its_second_batch_resumes(backend: Backend) {
    migration_crash_and_resume(backend, "after_commit:2").await;
}

async fn migration_killed_between_write_and_mark_redoes_the_batch(backend: Backend) {
    migration_crash_and_resume(backend, "before_commit:7").await;
}

async fn migration_killed_after_its_last_batch_finishes_the_stages(backend: Backend) {
    migration_crash_and_resume(backend, "after_commit:12").await;
}

/// A batch that fails once is retried (with backoff) and the copy completes; without
/// retries it fails the migration, and `start` re-runs only that batch.
async fn failing_batches_are_retried_or_rerun(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    seed_with_a_clean_process(&db).await;
    let mut server = ServeProcess::start_with(
        &db,
        Some(KEY),
        &[("FERRY_MIGRATION_FAULT_INJECT", "fail_batch:3")],
    );
    let base = server.base_url();
    let id = start_copy(&base, false).await;
    let failed = wait_for_migration(&base, &id, &["completed", "failed"]).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error_message"]
            .as_str()
            .unwrap()
            .contains("1 of 12 batches failed"),
        "{failed}"
    );
    let stage = &failed["progress"]["stages"][2];
    assert_eq!(stage["status"], "failed", "{failed}");
    assert_eq!(stage["items_failed"], 10, "{failed}");
    let (status, restarted) = call(
        &base,
        Method::POST,
        &format!("/v1/namespaces/migrations/{id}/start"),
        Some(serde_json::json!({})),
    )
    .await;
    assert_eq!(status, 200, "{restarted}");
    let done = wait_for_migration(&base, &id, &["completed", "failed"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_target_complete(&base).await;
    server.terminate();

    // With retries, the same failure is absorbed within the first run.
    let db = TestDatabase::new(backend).await;
    seed_with_a_clean_process(&db).await;
    let mut server = ServeProcess::start_with(
        &db,
        Some(KEY),
        &[("FERRY_MIGRATION_FAULT_INJECT", "fail_batch:3")],
    );
    let base = server.base_url();
    let id = start_copy(&base, true).await;
    let done = wait_for_migration(&base, &id, &["completed", "failed"]).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_target_complete(&base).await;
    server.terminate();
}

/// Seeds `crash` plus a reference collection `tags` (3 texts), retriever `tagger` over it and
/// taxonomy `tagging`, with a clean process; returns the taxonomy id.
async fn seed_taxonomy_with_a_clean_process(db: &TestDatabase) -> String {
    use serde_json::json;
    seed_with_a_clean_process(db).await;
    let mut seeder = ServeProcess::start_with(db, Some(KEY), &[]);
    let base = seeder.base_url();
    let (status, _) = call(
        &base,
        Method::POST,
        "/v1/buckets",
        Some(json!({"bucket_name": "labels",
        "bucket_schema": {"properties": {"label": {"type": "string"}, "body": {"type": "text"}}}})),
    )
    .await;
    assert_eq!(status, 200);
    let objects: Vec<_> = ["object text", "banana bread", "galaxy nebula"]
        .iter()
        .map(|t| json!({"label": t, "body": t}))
        .collect();
    let (status, _) = call(
        &base,
        Method::POST,
        "/v1/buckets/labels/objects/batch",
        Some(json!({"objects": objects})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &base,
        Method::POST,
        "/v1/collections",
        Some(json!({
        "collection_name": "tags", "source": {"type": "bucket", "bucket_ids": ["labels"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
            "input_mappings": {"text": "body"}, "field_passthrough": [{"source_path": "label"}]}})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, trigger) = call(&base, Method::POST, "/v1/collections/tags/trigger", None).await;
    let task_id = trigger["task_id"].as_str().unwrap().to_owned();
    for _ in 0..400 {
        let (_, task) = call(&base, Method::GET, &format!("/v1/tasks/{task_id}"), None).await;
        if task["status"] == "COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (status, body) = call(
        &base,
        Method::POST,
        "/v1/retrievers",
        Some(json!({
        "retriever_name": "tagger", "collection_identifiers": ["tags"],
        "stages": [{"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": "mixpeek://text_extractor@v1/text_embedding",
                          "query": "{{INPUT.query}}", "top_k": 1}]}}}]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, taxonomy) = call(
        &base,
        Method::POST,
        "/v1/taxonomies",
        Some(json!({
        "taxonomy_name": "tagging", "config": {"retriever_id": "tagger",
            "input_mappings": [{"input_key": "query", "path": "text"}],
            "source_collection": {"collection_id": "tags",
                "enrichment_fields": [{"field_path": "label", "target_field": "tag"}]}}})),
    )
    .await;
    assert_eq!(status, 200, "{taxonomy}");
    let (ok, _) = seeder.terminate();
    assert!(ok);
    taxonomy["taxonomy_id"].as_str().unwrap().to_owned()
}

/// Kills a process while it applies a taxonomy, restarts, and checks every document of the
/// collection is enriched exactly as an uninterrupted run would.
async fn taxonomy_crash_and_resume(backend: Backend, fault: &str) {
    let db = TestDatabase::new(backend).await;
    let taxonomy_id = seed_taxonomy_with_a_clean_process(&db).await;
    let env = [
        ("FERRY_TASK_LEASE_SECONDS", "1"),
        ("FERRY_FAULT_INJECT", fault),
    ];
    let mut server = ServeProcess::start_with(&db, Some(KEY), &env);
    let base = server.base_url();
    let (status, applied) = call(
        &base,
        Method::POST,
        "/v1/collections/col/apply-taxonomy",
        Some(serde_json::json!({"taxonomy_id": taxonomy_id, "batch_size": 100})),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    let exit = server
        .child
        .wait()
        .expect("the injected fault ends the process");
    assert_eq!(
        exit.code(),
        Some(86),
        "died at the injected point ({fault})"
    );

    let mut restarted =
        ServeProcess::start_with(&db, Some(KEY), &[("FERRY_TASK_LEASE_SECONDS", "1")]);
    let base = restarted.base_url();
    let task_id = applied["task_id"].as_str().unwrap();
    let mut task = serde_json::Value::Null;
    for _ in 0..400 {
        let (_, t) = call(&base, Method::GET, &format!("/v1/tasks/{task_id}"), None).await;
        task = t;
        if task["status"] == "COMPLETED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(task["status"], "COMPLETED", "{task}");
    assert_eq!(task["outputs"][0]["documents_enriched"], 55, "{task}");
    let (_, docs) = call(
        &base,
        Method::POST,
        "/v1/collections/col/documents/list?limit=1000",
        Some(serde_json::json!({})),
    )
    .await;
    let docs = docs["results"].as_array().unwrap();
    assert_eq!(docs.len(), 55);
    let field = format!("_taxonomy_{taxonomy_id}");
    for doc in docs {
        assert_eq!(doc["tag"], "object text", "{doc}");
        assert_eq!(doc[&field]["matches"].as_array().unwrap().len(), 1, "{doc}");
    }
    restarted.terminate();
}

async fn taxonomy_killed_after_its_batch_commits_completes(backend: Backend) {
    taxonomy_crash_and_resume(backend, "after_commit:1").await;
}

async fn taxonomy_killed_before_its_batch_commits_redoes_it(backend: Backend) {
    taxonomy_crash_and_resume(backend, "before_commit:1").await;
}

store_tests!(
    re_extract_killed_before_an_extraction_commits_redoes_it,
    re_extract_killed_after_an_extraction_commits_resumes,
    taxonomy_killed_after_its_batch_commits_completes,
    taxonomy_killed_before_its_batch_commits_redoes_it,
    migration_killed_after_its_second_batch_resumes,
    migration_killed_between_write_and_mark_redoes_the_batch,
    migration_killed_after_its_last_batch_finishes_the_stages,
    failing_batches_are_retried_or_rerun,
    first_start_prints_a_key_once_and_sigterm_stops_cleanly,
    ferry_api_key_and_admin_create_key,
    killed_after_a_committed_batch_resumes_from_the_next,
    killed_before_a_batch_commits_redoes_only_that_batch,
);
