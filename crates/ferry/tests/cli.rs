//! The `ferry` binary as scripts use it: what `serve` prints, first-start keys,
//! `FERRY_API_KEY`, `admin create-key`, and a clean stop on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{send, Backend, TestDatabase};
use reqwest::Method;

/// A `ferry serve` child process and the lines it prints.
struct ServeProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    printed: Vec<String>,
}

fn ferry(db: &TestDatabase) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
    command
        .env_remove("FERRY_API_KEY")
        .env_remove("DATABASE_URL")
        .env("FERRY_DATA_DIR", &db.storage.data_dir);
    if let Some(url) = &db.storage.database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

impl ServeProcess {
    fn start(db: &TestDatabase, api_key: Option<&str>) -> ServeProcess {
        Self::start_with(db, api_key, &[])
    }

    fn start_with(db: &TestDatabase, api_key: Option<&str>, env: &[(&str, &str)]) -> ServeProcess {
        let mut command = ferry(db);
        command.args(["serve", "--bind", "127.0.0.1:0"]);
        if let Some(key) = api_key {
            command.env("FERRY_API_KEY", key);
        }
        command.envs(env.iter().copied());
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferry serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        ServeProcess {
            child,
            lines,
            printed: Vec::new(),
        }
    }

    /// Waits for the `listening` line and returns the server's base URL.
    fn base_url(&mut self) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("ferry serve printed its address");
            self.printed.push(line.clone());
            if let Some(rest) = line.strip_prefix("ferry listening on ") {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
    }

    fn created_key(&self) -> Option<String> {
        self.printed.iter().find_map(|line| {
            line.contains("shown only once")
                .then(|| line.rsplit(' ').next().unwrap().to_owned())
        })
    }

    /// Sends SIGTERM and returns whether it exited successfully, and what it printed last.
    fn terminate(mut self) -> (bool, Vec<String>) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.lines.iter().collect();
        (status.success(), rest)
    }
}

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
        task.status, "IN_PROGRESS",
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

store_tests!(
    first_start_prints_a_key_once_and_sigterm_stops_cleanly,
    ferry_api_key_and_admin_create_key,
    killed_after_a_committed_batch_resumes_from_the_next,
    killed_before_a_batch_commits_redoes_only_that_batch,
);
