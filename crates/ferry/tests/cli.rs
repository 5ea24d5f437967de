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
        let mut command = ferry(db);
        command.args(["serve", "--bind", "127.0.0.1:0"]);
        if let Some(key) = api_key {
            command.env("FERRY_API_KEY", key);
        }
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

store_tests!(
    first_start_prints_a_key_once_and_sigterm_stops_cleanly,
    ferry_api_key_and_admin_create_key,
);
