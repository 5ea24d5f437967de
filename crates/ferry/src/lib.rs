//! Ferry's process wiring: configuration ([`config`]), first-start bootstrap, and the
//! server's run loop with its [`Workers`].
//! `main.rs` is only the command line over these functions, and tests call them directly to
//! run the real server on a random port with a fresh database. [`cli`] is the client side:
//! the commands that speak HTTP to a running server.

pub mod cli;
pub mod config;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use ferry_api::AppState;
use ferry_store::{Store, StoreLocation, DEFAULT_ORGANIZATION};

use ferry_migrate::engine::Engine;
use ferry_pipeline::Pipeline;
use ferry_retrieve::VectorSearch;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

pub use config::{
    Config, EmbeddingDefaults, IndexOptions, ModelsConfig, StorageConfig, TaskConfig,
};

/// A human description of a store location, without credentials.
pub fn describe(location: &StoreLocation) -> String {
    match location {
        StoreLocation::SqliteFile(path) => format!("sqlite {}", path.display()),
        StoreLocation::Postgres(url) => {
            let host = url.rsplit_once('@').map_or(url.as_str(), |(_, host)| host);
            format!("postgres {host}")
        }
    }
}

/// What first start must tell the operator.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Bootstrap {
    /// A key created for the default organization because the store was empty; shown once.
    pub created_key: Option<String>,
}

/// Prepares an opened store: on an empty store, creates the default organization and a key;
/// with `env_key` (from `FERRY_API_KEY`), makes exactly that key valid for the default
/// organization.
pub async fn bootstrap(store: &Store, env_key: Option<&str>) -> anyhow::Result<Bootstrap> {
    let env_key = env_key.map(str::trim).filter(|k| !k.is_empty());
    let empty = store.organization_count().await? == 0;
    let mut outcome = Bootstrap::default();
    if empty || env_key.is_some() {
        let org = store.ensure_organization(DEFAULT_ORGANIZATION).await?;
        if let Some(key) = env_key {
            store
                .register_api_key(&org, key)
                .await
                .context("registering FERRY_API_KEY")?;
        } else {
            outcome.created_key = Some(store.create_api_key(&org).await?);
        }
    }
    Ok(outcome)
}

/// The directory of local models (`text_extractor` v3): the configured one
/// (`FERRY_MODELS_DIR`), else `DATA_DIR/models`.
pub fn models_dir(configured: Option<PathBuf>, data_dir: &Path) -> PathBuf {
    configured
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| data_dir.join("models"))
}

/// What `ferry models list` prints: one line per model directory under `models_dir`.
pub fn models_listing(models_dir: &Path) -> String {
    use std::fmt::Write;
    let installed = ferry_extract::models::installed(models_dir);
    let mut out = String::new();
    if installed.is_empty() {
        let _ = writeln!(
            out,
            "No models in {}. {}",
            models_dir.display(),
            ferry_extract::models::install_hint(ferry_extract::models::DEFAULT_MODEL, models_dir)
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{:<28} {:<6} {:>9} {:>11} {:<14} {:<9} path",
        "model", "arch", "dimension", "max_seq_len", "pooling", "normalize"
    );
    for (name, spec) in installed {
        match spec {
            Ok(s) => {
                let _ = writeln!(
                    out,
                    "{:<28} {:<6} {:>9} {:>11} {:<14} {:<9} {}",
                    name,
                    s.model_type,
                    s.dimension,
                    s.max_seq_length,
                    s.pooling.name(),
                    s.normalize,
                    s.dir.display()
                );
            }
            Err(e) => {
                let _ = writeln!(out, "{name:<28} unusable: {e}");
            }
        }
    }
    out
}

/// The pipeline workers and migration engines of one process, running until stopped.
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `count` pipeline workers and `count` migration engines over `state`'s store,
    /// and the maintainer of the process's vector indexes.
    pub fn spawn(state: &AppState, tasks: &TaskConfig, count: usize) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let (pipeline, engine) = (tasks.pipeline(), tasks.engine());
        let search: Arc<dyn VectorSearch> = Arc::new(state.search.clone());
        let mut handles = Vec::with_capacity(2 * count + 1);
        handles.push(tokio::spawn(state.search.clone().maintain(stopped.clone())));
        for _ in 0..count {
            let worker = Pipeline::new(
                state.store.clone(),
                state.blobs.clone(),
                state.registry.clone(),
                pipeline.clone(),
            )
            .with_search(search.clone());
            handles.push(tokio::spawn(worker.run(stopped.clone())));
            let migrations = Engine::new(
                state.store.clone(),
                state.blobs.clone(),
                state.registry.clone(),
                engine.clone(),
            )
            .with_search(search.clone());
            handles.push(tokio::spawn(migrations.run(stopped.clone())));
        }
        Workers { stop, handles }
    }

    /// Handles that end every worker at once, wherever it is, as a crash would: what a batch
    /// had not committed is rolled back, and its task is taken over once its lease runs out.
    pub fn abort_handles(&self) -> Vec<AbortHandle> {
        self.handles.iter().map(JoinHandle::abort_handle).collect()
    }

    /// Asks every worker to stop between batches, and waits until they have.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Serves the API on `listener`, with `workers` beside it, until `shutdown` resolves; then
/// drains in-flight requests, stops the workers between batches and closes the store.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    workers: Workers,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = state.store.clone();
    let app = ferry_api::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    workers.stop().await;
    store.close().await;
    Ok(())
}

/// Binds `addr`, with a message that names the address on failure.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
