//! Test harness: the real server, in process, on a random port, over a fresh database.
//!
//! Every behaviour test runs once per store: SQLite in a temporary directory, and PostgreSQL in
//! a database created for the test when `FERRY_TEST_DATABASE_URL` is set (dropped afterwards).
#![allow(dead_code)]

pub mod client;
pub mod corpus;
pub mod migration;
pub mod process;
pub mod vectors;

use std::net::SocketAddr;
use std::time::Duration;

use ferry::{Config, IndexOptions, ModelsConfig, StorageConfig, TaskConfig};
use ferry_store::Store;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::{AbortHandle, JoinHandle};

/// Key valid for the default organization in every test server.
pub const TEST_KEY: &str = "sk_test_default_organization_key_0000001";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per store for an `async fn(Backend)` test body.
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::common::postgres_url().is_none() {
                        eprintln!("FERRY_TEST_DATABASE_URL unset: PostgreSQL leg skipped");
                        return;
                    }
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// The PostgreSQL server tests create their databases in. In CI it must be set: a missing URL
/// there fails the run instead of silently skipping half the suite.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("FERRY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but FERRY_TEST_DATABASE_URL is unset");
    }
    url
}

/// The models directory a test server uses: `FERRY_MODELS_DIR` as `ferry serve` reads it
/// (`scripts/test` exports it after `scripts/fetch-models`), else `DATA_DIR/models`.
pub fn models_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    ferry::models_dir(
        std::env::var_os("FERRY_MODELS_DIR").map(std::path::PathBuf::from),
        data_dir,
    )
}

/// The installed all-MiniLM-L6-v2 snapshot, for tests that run the neural extractor. Absent,
/// such a test is skipped with a note, except under CI, where a missing model fails it: CI
/// runs `scripts/test`, which installs the model first.
pub fn installed_model() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("FERRY_MODELS_DIR").map(std::path::PathBuf::from);
    let found = dir.filter(|d| d.join("all-MiniLM-L6-v2").join("config.json").is_file());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "CI=true but FERRY_MODELS_DIR holds no all-MiniLM-L6-v2: run scripts/fetch-models"
            );
        }
        eprintln!("FERRY_MODELS_DIR has no all-MiniLM-L6-v2 (run scripts/fetch-models): skipped");
    }
    found
}

/// A fresh, empty database that lives as long as the value.
pub struct TestDatabase {
    pub storage: StorageConfig,
    _dir: tempfile::TempDir,
    pg_database: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDatabase {
                storage: StorageConfig {
                    data_dir: dir.path().to_path_buf(),
                    database_url: None,
                    object_store_url: None,
                },
                _dir: dir,
                pg_database: None,
            },
            Backend::Postgres => {
                use sqlx::Connection;
                let admin_url = postgres_url().expect("FERRY_TEST_DATABASE_URL");
                let name = format!("ferry_test_{}", rand_suffix());
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to FERRY_TEST_DATABASE_URL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let url = with_database(&admin_url, &name);
                TestDatabase {
                    storage: StorageConfig {
                        data_dir: dir.path().to_path_buf(),
                        database_url: Some(url),
                        object_store_url: None,
                    },
                    _dir: dir,
                    pg_database: Some((admin_url, name)),
                }
            }
        }
    }

    pub async fn open(&self) -> Store {
        self.storage.open().await.expect("open store")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg_database.take() else {
            return;
        };
        // Drop runs outside async context; a short-lived runtime on its own thread does it.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

fn rand_suffix() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

/// `url` with its database path replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A running server and a client for it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub store: Store,
    pub db: TestDatabase,
    /// What the server's handlers reach (store, blobs, extractors).
    pub state: ferry_api::AppState,
    http: reqwest::Client,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
    workers: Vec<AbortHandle>,
}

impl TestServer {
    /// Starts the server over a fresh database, with [`TEST_KEY`] valid.
    pub async fn start(backend: Backend) -> TestServer {
        let db = TestDatabase::new(backend).await;
        Self::start_on(db).await
    }

    /// Starts the server over an existing database, with the models directory of
    /// [`models_dir`].
    pub async fn start_on(db: TestDatabase) -> TestServer {
        Self::start_with(db, TaskConfig::default()).await
    }

    /// Starts the server over an existing database with `tasks` as its workers' settings
    /// (batch size, lease, faults, breakpoints), built here rather than read from variables.
    pub async fn start_with(db: TestDatabase, tasks: TaskConfig) -> TestServer {
        let models = models_dir(&db.storage.data_dir);
        Self::launch(db, models, tasks).await
    }

    /// Starts the server over an existing database with `models` as its models directory.
    pub async fn start_with_models(db: TestDatabase, models: std::path::PathBuf) -> TestServer {
        Self::launch(db, models, TaskConfig::default()).await
    }

    /// Starts the server over an existing database with `indexes` as its vector index
    /// settings (say, a graph for every collection however small).
    pub async fn start_with_indexes(db: TestDatabase, indexes: IndexOptions) -> TestServer {
        let models = models_dir(&db.storage.data_dir);
        let config = Config {
            models: ModelsConfig {
                models_dir: Some(models),
            },
            indexes,
            ..Config::new(db.storage.clone())
        };
        Self::launch_config(db, config).await
    }

    async fn launch(db: TestDatabase, models: std::path::PathBuf, tasks: TaskConfig) -> TestServer {
        let config = Config {
            models: ModelsConfig {
                models_dir: Some(models),
            },
            tasks,
            ..Config::new(db.storage.clone())
        };
        Self::launch_config(db, config).await
    }

    async fn launch_config(db: TestDatabase, config: Config) -> TestServer {
        let store = db.open().await;
        ferry::bootstrap(&store, Some(TEST_KEY))
            .await
            .expect("bootstrap");
        let listener = ferry::bind("127.0.0.1:0".parse().unwrap())
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let state = ferry_api::AppState {
            search: config.search(&store),
            store: store.clone(),
            blobs: db.storage.blobs().expect("blob store"),
            registry: config.registry(),
        };
        let workers = ferry::Workers::spawn(&state, &config.tasks, config.workers);
        let aborts = workers.abort_handles();
        let task = tokio::spawn(ferry::serve(state.clone(), listener, workers, async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            store,
            db,
            state,
            http: reqwest::Client::new(),
            stop,
            task,
            workers: aborts,
        }
    }

    /// Shuts the server down cleanly and returns its database for a restart.
    pub async fn stop(self) -> TestDatabase {
        let TestServer { db, stop, task, .. } = self;
        let _ = stop.send(());
        task.await.expect("server task").expect("server result");
        db
    }

    /// Ends the server and its workers at once, wherever they are (held at a breakpoint, say),
    /// as a killed process would end: no batch goes on, nothing uncommitted stays, and their
    /// tasks keep their leases until those run out. Returns the database for a restart.
    pub async fn crash(self) -> TestDatabase {
        let TestServer {
            db,
            store,
            task,
            workers,
            ..
        } = self;
        for worker in &workers {
            worker.abort();
        }
        task.abort();
        let _ = task.await;
        while !workers.iter().all(AbortHandle::is_finished) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        store.close().await;
        db
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request authorized with [`TEST_KEY`].
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(TEST_KEY)
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A key for another organization, created if missing.
    pub async fn key_for(&self, org: &str) -> String {
        let org = self.store.ensure_organization(org).await.unwrap();
        self.store.create_api_key(&org).await.unwrap()
    }

    pub async fn create_namespace(&self, name: &str) -> Value {
        let (status, body) = send(
            self.request(Method::POST, "/v1/namespaces")
                .json(&serde_json::json!({ "namespace_name": name })),
        )
        .await;
        assert_eq!(status, 200, "create {name}: {body}");
        body
    }
}

/// Sends and returns status and JSON body (`Value::Null` for an empty body).
pub async fn send(request: RequestBuilder) -> (u16, Value) {
    let response: Response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body read");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body {status}: {text}"))
    };
    (status, body)
}

/// Asserts `body` is an `ErrorResponse` with this status, type and code.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_type: &str, want_code: &str) {
    assert_eq!(status, want_status, "status; body {body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["status"], want_status, "{body}");
    assert_eq!(body["error"]["type"], want_type, "{body}");
    assert_eq!(body["error"]["code"], want_code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// Asserts a 422 whose first `detail` item has this `loc` and `type`, in both body shapes.
pub fn assert_invalid(status: u16, body: &Value, loc: Value, kind: &str) {
    assert_eq!(status, 422, "status; body {body}");
    let detail = body["detail"].as_array().expect("detail[]");
    assert!(
        detail
            .iter()
            .any(|d| d["loc"] == loc && d["type"] == kind && d["msg"].is_string()),
        "no detail item at {loc} of type {kind}: {body}"
    );
    assert_eq!(body["error"]["type"], "ValidationError", "{body}");
    assert_eq!(body["status"], 422, "{body}");
}
