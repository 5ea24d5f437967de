//! Ferry's process wiring: configuration, first-start bootstrap, and the server's run loop.
//! `main.rs` is only the command line over these functions, and tests call them directly to
//! run the real server on a random port with a fresh database. [`cli`] is the client side:
//! the commands that speak HTTP to a running server.

pub mod cli;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ferry_api::AppState;
use ferry_store::blobs::BlobStore;
use ferry_store::{Store, StoreLocation, DEFAULT_ORGANIZATION};
use std::sync::Arc;

use ferry_extract::{Registry, RemoteEmbeddingConfig};
use ferry_migrate::engine::{Engine, EngineConfig};
use ferry_pipeline::{FaultPoint, Pipeline, PipelineConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Where the store lives.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// SQLite's directory (`ferry.db` inside), and later blobs and artifacts.
    pub data_dir: PathBuf,
    /// A `postgres://` URL selects PostgreSQL; absent means SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// An object store URL (`s3://bucket/prefix`) for blobs; absent means `data_dir/objects`.
    pub object_store_url: Option<String>,
}

impl StorageConfig {
    pub fn location(&self) -> anyhow::Result<StoreLocation> {
        Ok(StoreLocation::resolve(
            self.database_url.as_deref(),
            &self.data_dir,
        )?)
    }

    /// The blob store: the URL's, or a directory under `data_dir`.
    pub fn blobs(&self) -> anyhow::Result<BlobStore> {
        Ok(
            match self.object_store_url.as_deref().filter(|u| !u.is_empty()) {
                Some(url) => BlobStore::from_url(url)?,
                None => BlobStore::local(&self.data_dir.join("objects"))?,
            },
        )
    }

    /// Connects and applies schema migrations.
    pub async fn open(&self) -> anyhow::Result<Store> {
        let location = self.location()?;
        Store::connect(&location)
            .await
            .with_context(|| format!("opening the store at {}", describe(&location)))
    }
}

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

/// The built-in extractor registry, with the remote extractor's defaults from the
/// environment (`FERRY_EMBEDDINGS_URL`, `FERRY_EMBEDDINGS_MODEL`, `FERRY_EMBEDDINGS_API_KEY`)
/// and the local models of `models_dir` (see [`models_dir`]).
pub fn registry(models_dir: PathBuf) -> Arc<Registry> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Arc::new(Registry::builtin(
        RemoteEmbeddingConfig {
            base_url: var("FERRY_EMBEDDINGS_URL"),
            model: var("FERRY_EMBEDDINGS_MODEL"),
            api_key: var("FERRY_EMBEDDINGS_API_KEY"),
            ..Default::default()
        },
        models_dir,
    ))
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

/// Worker settings from the environment: `FERRY_BATCH_SIZE`, `FERRY_TASK_LEASE_SECONDS`, and
/// the test-only `FERRY_FAULT_INJECT` (`after_commit:N` / `before_commit:N`).
pub fn pipeline_config() -> anyhow::Result<PipelineConfig> {
    let mut config = PipelineConfig::default();
    if let Ok(n) = std::env::var("FERRY_BATCH_SIZE") {
        config.batch_size = n.parse().context("FERRY_BATCH_SIZE must be a number")?;
    }
    if let Ok(s) = std::env::var("FERRY_TASK_LEASE_SECONDS") {
        let seconds: f64 = s
            .parse()
            .context("FERRY_TASK_LEASE_SECONDS must be a number")?;
        config.lease = std::time::Duration::from_secs_f64(seconds);
    }
    if let Ok(fault) = std::env::var("FERRY_FAULT_INJECT") {
        config.fault = Some(fault.parse::<FaultPoint>().map_err(anyhow::Error::msg)?);
    }
    Ok(config)
}

/// Migration engine settings: the task lease of `FERRY_TASK_LEASE_SECONDS`, and the test-only
/// `FERRY_MIGRATION_FAULT_INJECT` (`after_commit:N`, `before_commit:N`, `fail_batch:N`,
/// counted in migration batches of this process).
pub fn engine_config(pipeline: &PipelineConfig) -> anyhow::Result<EngineConfig> {
    let mut config = EngineConfig {
        lease: pipeline.lease,
        ..EngineConfig::default()
    };
    if let Ok(fault) = std::env::var("FERRY_MIGRATION_FAULT_INJECT") {
        config.fault = Some(fault.parse::<FaultPoint>().map_err(anyhow::Error::msg)?);
    }
    Ok(config)
}

/// Runs `workers` pipeline workers and `workers` migration engines until `shutdown` flips.
pub fn spawn_workers(
    state: &AppState,
    config: PipelineConfig,
    workers: usize,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let engine = engine_config(&config)?;
    let mut handles = Vec::with_capacity(2 * workers);
    for _ in 0..workers {
        let pipeline = Pipeline::new(
            state.store.clone(),
            state.blobs.clone(),
            state.registry.clone(),
            config.clone(),
        );
        handles.push(tokio::spawn(pipeline.run(shutdown.clone())));
        let migrations = Engine::new(
            state.store.clone(),
            state.blobs.clone(),
            state.registry.clone(),
            engine.clone(),
        );
        handles.push(tokio::spawn(migrations.run(shutdown.clone())));
    }
    Ok(handles)
}

/// Serves the API on `listener`, with `workers` pipeline workers beside it, until `shutdown`
/// resolves; then drains in-flight requests and stops the workers between batches.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    workers: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = state.store.clone();
    let (stop_workers, stopped) = watch::channel(false);
    let handles = spawn_workers(&state, pipeline_config()?, workers, stopped)?;
    let app = ferry_api::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    let _ = stop_workers.send(true);
    for handle in handles {
        let _ = handle.await;
    }
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
