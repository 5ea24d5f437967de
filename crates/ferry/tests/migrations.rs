//! Namespace migrations: validate, create, start, and the copy engine end to end; the
//! lifecycle's illegal transitions; listing across organizations; failure and retry.

mod common;

use ferry_wire::migration::MigrationStatus;
use std::time::Duration;

use common::corpus::{
    cluster_texts, create_retriever, documents, scoped, search_stage, seed, seed_reference,
    taxonomy_body, wait_for_task, PER_TOPIC, TOPICS,
};
use common::migration::{post, receiver, wait_until_settled, MIGRATIONS};
use common::{assert_error, send, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

async fn copy_reproduces_the_namespace(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let config = json!({"migration_type": "copy", "source_namespace_id": "data",
                        "target_namespace_name": "data_copy",
                        "batch_options": {"batch_size": 4, "max_workers": 3}});

    let (status, validated) = post(
        &server,
        &format!("{MIGRATIONS}/validate"),
        json!({"config": config}),
    )
    .await;
    assert_eq!(status, 200, "{validated}");
    assert_eq!(validated["validation_result"]["valid"], true, "{validated}");
    assert_eq!(
        validated["dependency_graph"]["execution_order"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], "draft");
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let (status, started) = post(&server, &format!("{MIGRATIONS}/{id}/start"), json!({})).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["status"], "pending");
    let task_id = started["task_id"].as_str().unwrap().to_owned();

    let done = wait_until_settled(&server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"]["overall_progress_percent"], 100.0);
    let stages = done["progress"]["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 7);
    assert!(stages.iter().all(|s| s["status"] == "completed"), "{done}");
    assert_eq!(
        stages[2]["items_total"], 36,
        "18 objects and 18 documents: {done}"
    );
    assert_eq!(stages[2]["items_completed"], 36);
    let (status, task) = send(server.request(Method::GET, &format!("/v1/tasks/{task_id}"))).await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["status"], "COMPLETED", "{task}");

    // The target holds the same documents, ids and lineage remapped.
    let source_docs = documents(&server, "texts").await;
    let (status, target_docs) = send(
        server
            .request(
                Method::POST,
                "/v1/collections/texts/documents/list?limit=1000",
            )
            .header("X-Namespace", "data_copy")
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{target_docs}");
    let target_docs = target_docs["results"].as_array().unwrap();
    assert_eq!(target_docs.len(), TOPICS.len() * PER_TOPIC);
    let mut source_texts: Vec<&str> = source_docs
        .iter()
        .map(|d| d["text"].as_str().unwrap())
        .collect();
    let mut target_texts: Vec<&str> = target_docs
        .iter()
        .map(|d| d["text"].as_str().unwrap())
        .collect();
    source_texts.sort();
    target_texts.sort();
    assert_eq!(source_texts, target_texts);
    let source_ids: Vec<&str> = source_docs
        .iter()
        .map(|d| d["document_id"].as_str().unwrap())
        .collect();
    for doc in target_docs {
        assert!(
            !source_ids.contains(&doc["document_id"].as_str().unwrap()),
            "{doc}"
        );
    }
    let (status, bucket) = send(
        server
            .request(Method::GET, "/v1/buckets/docs")
            .header("X-Namespace", "data_copy"),
    )
    .await;
    assert_eq!(status, 200, "{bucket}");
    assert_eq!(bucket["object_count"], 18, "{bucket}");
    let _ = scoped;
}

async fn illegal_transitions_are_refused_with_a_code(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let config = json!({"migration_type": "copy", "source_namespace_id": "data"});
    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let (status, body) = send(server.request(Method::DELETE, &format!("{MIGRATIONS}/{id}"))).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = send(server.request(Method::GET, &format!("{MIGRATIONS}/{id}"))).await;
    assert_error(status, &body, 404, "NotFoundError", "migration_not_found");

    let (_, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config}),
    )
    .await;
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let (status, cancelled) = post(
        &server,
        &format!("{MIGRATIONS}/{id}/cancel"),
        json!({"reason": "no"}),
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    // Totals follow every transition (the deleted one is gone, the cancelled one moved).
    for (filter, total) in [
        (json!({}), 1),
        (json!({"status": "cancelled"}), 1),
        (json!({"status": "draft"}), 0),
        (json!({"migration_type": "copy"}), 1),
    ] {
        let (status, page) = post(&server, &format!("{MIGRATIONS}/list"), filter.clone()).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], total, "{filter}");
    }
    for (path, code) in [
        ("start", "migration_cancelled"),
        ("cancel", "migration_already_cancelled"),
    ] {
        let (status, body) = post(&server, &format!("{MIGRATIONS}/{id}/{path}"), json!({})).await;
        assert_error(status, &body, 400, "InvalidStateError", code);
    }
}

fn in_target(server: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
    server
        .request(method, path)
        .header("X-Namespace", "full_copy")
}

/// Runs retriever `name` for `query` in namespace `ns`: the ids of the documents it returns,
/// and `(rounded score, text)` of those that match at all, in a tie-independent order (ties
/// are broken by document id, which a copy changes).
async fn search(
    server: &TestServer,
    ns: &str,
    name: &str,
    query: &str,
) -> (Vec<String>, Vec<(i64, String)>) {
    let (status, result) = send(
        server
            .request(Method::POST, &format!("/v1/retrievers/{name}/execute"))
            .header("X-Namespace", ns)
            .json(&json!({"inputs": {"query": query}, "limit": 10})),
    )
    .await;
    assert_eq!(status, 200, "{result}");
    let docs = result["documents"].as_array().unwrap();
    let mut matches: Vec<(i64, String)> = docs
        .iter()
        .map(|d| {
            let score = (d["score"].as_f64().unwrap() * 1e6).round() as i64;
            (-score, d["text"].as_str().unwrap().to_owned())
        })
        .filter(|(score, _)| *score < 0)
        .collect();
    matches.sort();
    (
        docs.iter()
            .map(|d| d["document_id"].as_str().unwrap().to_owned())
            .collect(),
        matches,
    )
}

async fn a_full_namespace_copies_with_retrievers_taxonomies_and_clusters(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    seed_reference(&server).await;
    create_retriever(
        &server,
        json!({"retriever_name": "semantic", "collection_identifiers": ["texts"],
               "stages": [search_stage(10)]}),
    )
    .await;
    let (status, taxonomy) =
        send(scoped(&server, Method::POST, "/v1/taxonomies").json(&taxonomy_body())).await;
    assert_eq!(status, 200, "{taxonomy}");
    let taxonomy_id = taxonomy["taxonomy_id"].as_str().unwrap().to_owned();
    let (status, applied) = send(
        scoped(
            &server,
            Method::POST,
            "/v1/collections/texts/apply-taxonomy",
        )
        .json(&json!({"taxonomy_id": taxonomy_id})),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    wait_for_task(&server, applied["task_id"].as_str().unwrap()).await;
    let cluster_id = cluster_texts(&server, true).await;
    let query = "goalkeeper penalty striker stadium referee midfield";
    let (source_ids, source_texts) = search(&server, "data", "semantic", query).await;
    let (status, executions) = send(
        scoped(
            &server,
            Method::POST,
            "/v1/retrievers/semantic/executions/list",
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{executions}");
    let execution_id = executions["results"][0]["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, interaction) = send(
        scoped(&server, Method::POST, "/v1/retrievers/interactions").json(&json!({
            "feature_id": source_ids[0], "interaction_type": ["click"], "position": 0,
            "execution_id": execution_id})),
    )
    .await;
    assert_eq!(status, 200, "{interaction}");

    // Without its reference collection a copied taxonomy would be broken: refused.
    let (status, refused) = post(
        &server,
        &format!("{MIGRATIONS}/validate"),
        json!({"config": {"migration_type": "copy", "source_namespace_id": "data",
               "taxonomy_options": {"migrate_reference_collections": false}}}),
    )
    .await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(refused["validation_result"]["valid"], false);
    assert_eq!(
        refused["validation_result"]["errors"][0]["error_code"],
        "reference_collection_required"
    );
    assert_eq!(
        refused["validation_result"]["errors"][0]["resource_id"],
        taxonomy_id.as_str()
    );

    let config = json!({"migration_type": "copy", "source_namespace_id": "data",
        "target_namespace_name": "full_copy", "batch_options": {"batch_size": 5},
        "retriever_options": {"migrate_interactions": true, "migrate_execution_history": true}});
    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config, "start_immediately": true}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], "pending");
    assert_eq!(
        created["validation_result"]["estimated_resources"],
        json!({"bucket": 2, "collection": 2, "retriever": 2, "taxonomy": 1, "cluster": 1})
    );
    let id = created["migration_id"].as_str().unwrap();
    let done = wait_until_settled(&server, id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let order: Vec<&str> = done["dependency_graph"]["execution_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(order.len(), 8);
    assert!(
        order[..2].iter().all(|id| id.starts_with("bkt_")),
        "{order:?}"
    );
    assert_eq!(done["progress"]["resources"].as_array().unwrap().len(), 8);
    // The benchmark replayed the recorded query on both sides: the clicked document is found.
    let benchmark = done["additional_data"]["benchmark"].as_array().unwrap();
    assert_eq!(
        benchmark.len(),
        1,
        "only `semantic` has recorded executions: {benchmark:?}"
    );
    let semantic = &benchmark[0];
    assert_eq!(semantic["queries"], 1, "{semantic}");
    assert_eq!(semantic["judged_queries"], 1, "{semantic}");
    assert_eq!(semantic["recall_at_k"], 1.0, "{semantic}");
    assert_eq!(semantic["ndcg_at_k"], 1.0, "{semantic}");
    assert!(
        semantic["overlap_at_k"].as_f64().unwrap() >= 0.5,
        "{semantic}"
    );
    assert_eq!(done["progress"]["stages"][5]["items_total"], 1);

    // Every collection has the same count in the target.
    for name in ["texts", "label_texts"] {
        let (status, source) = send(scoped(
            &server,
            Method::GET,
            &format!("/v1/collections/{name}"),
        ))
        .await;
        assert_eq!(status, 200);
        let (status, target) = send(in_target(
            &server,
            Method::GET,
            &format!("/v1/collections/{name}"),
        ))
        .await;
        assert_eq!(status, 200, "{target}");
        assert_eq!(source["document_count"], target["document_count"], "{name}");
        assert_ne!(source["collection_id"], target["collection_id"]);
    }
    // The target's retriever returns the target's documents, in the source's order.
    let (target_ids, target_texts) = search(&server, "full_copy", "semantic", query).await;
    assert_eq!(target_texts, source_texts);
    assert!(source_texts.len() >= PER_TOPIC, "{source_texts:?}");
    let target_docs: Vec<Value> = {
        let (status, page) = send(
            in_target(
                &server,
                Method::POST,
                "/v1/collections/texts/documents/list?limit=100",
            )
            .json(&json!({})),
        )
        .await;
        assert_eq!(status, 200);
        page["results"].as_array().unwrap().clone()
    };
    let target_doc_ids: Vec<&str> = target_docs
        .iter()
        .map(|d| d["document_id"].as_str().unwrap())
        .collect();
    assert!(target_ids
        .iter()
        .all(|id| target_doc_ids.contains(&id.as_str())));
    assert!(target_ids.iter().all(|id| !source_ids.contains(id)));
    // Taxonomy fields and cluster assignments came along, pointing into the target.
    let (status, label_docs) = send(
        in_target(
            &server,
            Method::POST,
            "/v1/collections/label_texts/documents/list",
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200);
    let label_ids: Vec<&str> = label_docs["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["document_id"].as_str().unwrap())
        .collect();
    let field = format!("_taxonomy_{taxonomy_id}");
    for doc in &target_docs {
        assert_eq!(doc["topic_label"], doc["topic"], "{doc}");
        let matched = doc[&field]["matches"][0]["document_id"].as_str().unwrap();
        assert!(label_ids.contains(&matched), "{doc}");
        assert!(
            doc["cluster_id"].as_str().unwrap().starts_with("cl_"),
            "{doc}"
        );
    }
    let (status, copied_cluster) = send(in_target(
        &server,
        Method::GET,
        &format!("/v1/clusters/{cluster_id}"),
    ))
    .await;
    assert_eq!(status, 200, "{copied_cluster}");
    assert_eq!(copied_cluster["num_clusters"], 3, "{copied_cluster}");
    let (status, latest) = send(in_target(
        &server,
        Method::GET,
        &format!("/v1/clusters/{cluster_id}/executions"),
    ))
    .await;
    assert_eq!(status, 200, "{latest}");
    assert_eq!(latest["num_points"], 18, "{latest}");
    // The artifact was copied to the target cluster's own key, and reads back.
    let org = done["internal_id"].as_str().unwrap();
    let mut keys = Vec::new();
    for ns in ["data", "full_copy"] {
        let namespace = server.store.get_namespace(org, ns).await.unwrap();
        let (runs, _) = server
            .store
            .list_cluster_executions(
                namespace.key,
                &cluster_id,
                &ferry_store::HistoryQuery {
                    descending: true,
                    limit: 10,
                    offset: 0,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        keys.push(runs[0].artifact_key.clone().unwrap());
    }
    assert_ne!(keys[0], keys[1]);
    let bytes = server
        .db
        .storage
        .blobs()
        .unwrap()
        .get_artifact(&keys[1])
        .await
        .unwrap();
    assert!(bytes.starts_with(b"PAR1"), "a Parquet file");
    // History came along, remapped.
    let (status, target_executions) = send(
        in_target(
            &server,
            Method::POST,
            "/v1/retrievers/semantic/executions/list",
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200, "{target_executions}");
    assert_eq!(
        target_executions["pagination"]["total"], 2,
        "the copied one and the search above"
    );
    let (status, interactions) =
        send(in_target(&server, Method::POST, "/v1/retrievers/interactions/list").json(&json!({})))
            .await;
    assert_eq!(status, 200, "{interactions}");
    let copied = &interactions["results"][0];
    assert!(
        target_doc_ids.contains(&copied["feature_id"].as_str().unwrap()),
        "{copied}"
    );
}

/// 1,200 migrations across two organizations: lists filter, page and count within the
/// caller's organization only, newest first.
async fn lists_filter_page_and_count_within_the_organization(backend: Backend) {
    let server = TestServer::start(backend).await;
    let default_org = server.store.ensure_organization("default").await.unwrap();
    let other_org = server.store.ensure_organization("other").await.unwrap();
    let other_key = server.key_for("other").await;
    let statuses = ["draft", "completed", "failed", "cancelled"];
    let types = ["copy", "re_extract", "extend"];
    let base = 1_700_000_000_000_000i64;
    let progress = serde_json::to_value(ferry_wire::migration::MigrationProgress::new(
        ferry_wire::migration::MigrationStatus::Draft,
    ))
    .unwrap();
    for i in 0..1200i64 {
        let org = if i % 3 == 0 { &other_org } else { &default_org };
        let migration_type = types[(i % 5 % 3) as usize];
        let config = json!({"migration_type": migration_type, "source_namespace_id": format!("ns_src{}", i % 4)});
        server
            .store
            .insert_migration(
                &org.internal_id,
                ferry_store::NewMigration {
                    migration_id: format!("mig_{i:05}"),
                    source_namespace_id: format!("ns_src{}", i % 4),
                    migration_type: migration_type.parse().unwrap(),
                    status: statuses[(i % 7 % 4) as usize].parse().unwrap(),
                    config: serde_json::to_value(ferry_migrate::service::with_defaults(
                        serde_json::from_value(config).unwrap(),
                    ))
                    .unwrap(),
                    validation_result: None,
                    dependency_graph: None,
                    progress: progress.clone(),
                    created_at: base + i,
                },
            )
            .await
            .unwrap();
    }
    let mine: Vec<i64> = (0..1200).filter(|i| i % 3 != 0).collect();
    let list_path = format!("{MIGRATIONS}/list");
    let list = |body: Value| post(&server, &list_path, body);

    let (status, page) = list(json!({})).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], mine.len());
    assert_eq!(page["limit"], 20);
    assert_eq!(page["offset"], 0);
    let ids: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["migration_id"].as_str().unwrap())
        .collect();
    let newest: Vec<String> = mine
        .iter()
        .rev()
        .take(20)
        .map(|i| format!("mig_{i:05}"))
        .collect();
    assert_eq!(ids, newest, "newest first");

    for (filter, expected) in [
        (
            json!({"status": "failed"}),
            mine.iter()
                .filter(|i| statuses[(*i % 7 % 4) as usize] == "failed")
                .count(),
        ),
        (
            json!({"migration_type": "extend"}),
            mine.iter()
                .filter(|i| types[(*i % 5 % 3) as usize] == "extend")
                .count(),
        ),
        (
            json!({"source_namespace_id": "ns_src1"}),
            mine.iter().filter(|i| *i % 4 == 1).count(),
        ),
        (
            json!({"status": "draft", "migration_type": "copy", "source_namespace_id": "ns_src2"}),
            mine.iter()
                .filter(|i| {
                    statuses[(*i % 7 % 4) as usize] == "draft"
                        && types[(*i % 5 % 3) as usize] == "copy"
                        && *i % 4 == 2
                })
                .count(),
        ),
    ] {
        let mut body = filter.clone();
        body["limit"] = json!(1000);
        let (status, page) = list(body).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], expected, "{filter}");
        let results = page["results"].as_array().unwrap();
        assert_eq!(results.len(), expected.min(1000), "{filter}");
        for (key, want) in filter.as_object().unwrap() {
            let got = match key.as_str() {
                "source_namespace_id" => &results[0]["namespace_id"],
                "migration_type" => &results[0]["config"]["migration_type"],
                _ => &results[0][key],
            };
            assert_eq!(got, want, "{filter}");
        }
    }
    // Pages tile the list without gaps or overlaps.
    let mut seen = std::collections::BTreeSet::new();
    for offset in (0..mine.len()).step_by(300) {
        let (_, page) = list(json!({"limit": 300, "offset": offset})).await;
        for m in page["results"].as_array().unwrap() {
            assert!(seen.insert(m["migration_id"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(seen.len(), mine.len());
    // Bounds are 422s located at the field.
    for (body, loc, kind) in [
        (
            json!({"limit": 0}),
            json!(["body", "limit"]),
            "greater_than_equal",
        ),
        (
            json!({"limit": 1001}),
            json!(["body", "limit"]),
            "less_than_equal",
        ),
        (
            json!({"offset": -1}),
            json!(["body", "offset"]),
            "greater_than_equal",
        ),
    ] {
        let (status, err) = list(body).await;
        common::assert_invalid(status, &err, loc, kind);
    }
    // The other organization sees only its own, and none of ours by id.
    let (status, theirs) = send(
        server
            .anonymous(Method::POST, &format!("{MIGRATIONS}/list"))
            .bearer_auth(&other_key)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(theirs["total"], 400);
    let (status, body) = send(
        server
            .anonymous(Method::GET, &format!("{MIGRATIONS}/mig_00001"))
            .bearer_auth(&other_key),
    )
    .await;
    assert_error(status, &body, 404, "NotFoundError", "migration_not_found");
}

/// Every action refused from every status that does not allow it, through the API, with
/// its code; the refused action changes nothing.
async fn every_illegal_transition_is_refused(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let config = json!({"migration_type": "copy", "source_namespace_id": "data"});
    let all = [
        "draft",
        "validating",
        "pending",
        "in_progress",
        "completed",
        "failed",
        "cancelled",
    ];
    let refusals = [
        ("validating", "start", "migration_already_running"),
        ("pending", "start", "migration_already_running"),
        ("in_progress", "start", "migration_already_running"),
        ("completed", "start", "migration_already_completed"),
        ("cancelled", "start", "migration_cancelled"),
        ("completed", "cancel", "migration_already_completed"),
        ("failed", "cancel", "migration_already_failed"),
        ("cancelled", "cancel", "migration_already_cancelled"),
        ("validating", "delete", "migration_running"),
        ("pending", "delete", "migration_running"),
        ("in_progress", "delete", "migration_running"),
    ];
    for (status, action, code) in refusals {
        let (_, created) = post(
            &server,
            &format!("{MIGRATIONS}/"),
            json!({"config": config}),
        )
        .await;
        let id = created["migration_id"].as_str().unwrap().to_owned();
        // Put the migration in `status` directly: the engine never sees it (no task).
        let org = server.store.ensure_organization("default").await.unwrap();
        let key = server
            .store
            .get_migration(&org.internal_id, &id)
            .await
            .unwrap()
            .key;
        let all: Vec<MigrationStatus> = all.iter().map(|s| s.parse().unwrap()).collect();
        server
            .store
            .set_migration_status(&key, &all, status.parse().unwrap(), Default::default())
            .await
            .unwrap();
        let (http, body) = match action {
            "delete" => send(server.request(Method::DELETE, &format!("{MIGRATIONS}/{id}"))).await,
            _ => post(&server, &format!("{MIGRATIONS}/{id}/{action}"), json!({})).await,
        };
        assert_error(http, &body, 400, "InvalidStateError", code);
        let (_, after) = send(server.request(Method::GET, &format!("{MIGRATIONS}/{id}"))).await;
        assert_eq!(
            after["status"], status,
            "{action} from {status} changed nothing"
        );
    }
}

/// A dry run writes nothing and reports the plan the real run then follows.
async fn a_dry_run_writes_nothing_and_plans_what_the_run_does(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let (_, namespaces_before) =
        post(&server, "/v1/namespaces/list?include_total=true", json!({})).await;
    let config = json!({"migration_type": "copy", "source_namespace_id": "data",
                        "target_namespace_name": "planned", "batch_options": {"batch_size": 5}});
    let mut dry = config.clone();
    dry["dry_run"] = json!(true);
    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": dry, "start_immediately": true}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["migration_id"].as_str().unwrap();
    let planned = wait_until_settled(&server, id).await;
    assert_eq!(planned["status"], "completed", "{planned}");
    let plan = &planned["additional_data"]["plan"];
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["target_namespace_name"], "planned");
    assert_eq!(
        plan["batches"], 8,
        "4 batches of objects and 4 of documents: {plan}"
    );
    assert_eq!(
        plan["items"],
        json!({"objects": 18, "documents": 18, "extracted": 0, "total": 36})
    );
    assert_eq!(plan["resources"].as_array().unwrap().len(), 2);
    // Nothing was written: no target, no new namespace.
    let (_, namespaces_after) =
        post(&server, "/v1/namespaces/list?include_total=true", json!({})).await;
    assert_eq!(
        namespaces_after["total_count"],
        namespaces_before["total_count"]
    );
    let (status, _) = send(server.request(Method::GET, "/v1/namespaces/planned")).await;
    assert_eq!(status, 404);

    // The real run does what the plan said.
    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config, "start_immediately": true}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let done = wait_until_settled(&server, created["migration_id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    let stages = done["progress"]["stages"].as_array().unwrap();
    assert_eq!(stages[1]["items_total"], plan["batches"]);
    assert_eq!(stages[2]["items_completed"], plan["items"]["total"]);
    assert_eq!(
        done["additional_data"]["target_namespace_name"],
        plan["target_namespace_name"]
    );
}

/// Every event arrives signed with the organization's secret, in order; a dead receiver
/// neither fails nor holds up the migration, and its deliveries are recorded.
async fn webhooks_are_signed_ordered_and_never_block(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let (url, seen) = receiver().await;
    let config = json!({"migration_type": "copy", "source_namespace_id": "data",
                        "target_namespace_name": "hooked", "webhook_url": url});
    let (status, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config, "start_immediately": true}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let done = wait_until_settled(&server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    for _ in 0..400 {
        if seen.lock().unwrap().len() >= 9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let org = done["internal_id"].as_str().unwrap();
    let secret = server.store.webhook_secret(org).await.unwrap();
    let events: Vec<(String, Value)> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, body)| {
            let header = |name: &str| headers[name].to_str().unwrap().to_owned();
            let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
            assert_eq!(
                header("webhook-signature"),
                ferry_migrate::webhooks::sign(&secret, &header("webhook-id"), timestamp, body),
                "signed with the organization's secret"
            );
            let body: Value = serde_json::from_str(body).unwrap();
            (
                body["type"].as_str().unwrap().to_owned(),
                body["data"].clone(),
            )
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    let mut expected = vec!["migration.started"];
    expected.extend(["migration.stage_completed"; 7]);
    expected.push("migration.completed");
    assert_eq!(names, expected);
    let stages: Vec<&str> = events[1..8]
        .iter()
        .map(|(_, d)| d["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages[0], "namespace_setup");
    assert_eq!(stages[6], "finalization");
    let (_, shown) = send(server.request(Method::GET, &format!("{MIGRATIONS}/{id}"))).await;
    let deliveries = shown["additional_data"]["webhook_deliveries"]
        .as_array()
        .unwrap();
    assert_eq!(deliveries.len(), 9, "{shown}");
    assert!(deliveries
        .iter()
        .all(|d| d["status"] == "delivered" && d["attempts"] == 1));

    // A receiver that is down: the migration completes while its deliveries still retry.
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    let config = json!({"migration_type": "copy", "source_namespace_id": "data",
                        "target_namespace_name": "unheard", "webhook_url": down});
    let (_, created) = post(
        &server,
        &format!("{MIGRATIONS}/"),
        json!({"config": config, "start_immediately": true}),
    )
    .await;
    let id = created["migration_id"].as_str().unwrap().to_owned();
    let done = wait_until_settled(&server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let deliveries = done["additional_data"]["webhook_deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        deliveries.iter().all(|d| d["status"] != "delivered"),
        "nothing reached a dead receiver: {deliveries:?}"
    );
    assert!(
        deliveries.iter().any(|d| d["status"] == "pending"),
        "the migration did not wait for the retries to run out: {deliveries:?}"
    );
}

store_tests!(
    webhooks_are_signed_ordered_and_never_block,
    a_dry_run_writes_nothing_and_plans_what_the_run_does,
    every_illegal_transition_is_refused,
    lists_filter_page_and_count_within_the_organization,
    a_full_namespace_copies_with_retrievers_taxonomies_and_clusters,
    copy_reproduces_the_namespace,
    illegal_transitions_are_refused_with_a_code,
);
