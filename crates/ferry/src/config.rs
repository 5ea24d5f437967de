//! Ferry's process configuration, in one place: every setting is a flag with an environment
//! fallback (`FERRY_…`, as the README's table names them) and a default, and a flag wins over
//! its variable. `serve` and `worker` parse it once and hand each part to what needs it: the
//! store location to [`StorageConfig::open`], [`TaskConfig::pipeline`] to pipeline workers,
//! [`TaskConfig::engine`] to migration engines, [`Config::registry`] to extractors.
//!
//! Tests build it in process ([`Config::new`] and the fields) instead of setting variables,
//! which is how they install [`Breakpoints`] to step workers through a crash window.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use ferry_extract::{Registry, RemoteEmbeddingConfig};
use ferry_migrate::engine::EngineConfig;
use ferry_pipeline::{Breakpoints, FaultPoint, PipelineConfig};
use ferry_retrieve::{IndexConfig, IndexedSearch};
use ferry_store::blobs::BlobStore;
use ferry_store::{Store, StoreLocation};

use crate::describe;

/// Where the store lives.
#[derive(Debug, Clone, Args)]
pub struct StorageConfig {
    /// Directory for the embedded SQLite database and local object storage.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = "./ferry-data")]
    pub data_dir: PathBuf,
    /// A postgres:// URL to use PostgreSQL instead of the embedded SQLite store.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Object store for blobs, e.g. s3://bucket/prefix (AWS_* variables configure access);
    /// blobs go to DATA_DIR/objects by default.
    #[arg(long, env = "FERRY_OBJECT_STORE_URL")]
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

/// The directory of local models `text_extractor` v3 runs.
#[derive(Debug, Clone, Default, Args)]
pub struct ModelsConfig {
    /// Directory of sentence-transformers snapshots for `text_extractor` v3, one
    /// sub-directory per model; DATA_DIR/models by default.
    #[arg(long, env = "FERRY_MODELS_DIR")]
    pub models_dir: Option<PathBuf>,
}

/// How workers and migration engines run their tasks.
#[derive(Debug, Clone, Args)]
pub struct TaskConfig {
    /// Source items per pipeline batch (one transaction each).
    #[arg(long, env = "FERRY_BATCH_SIZE", default_value_t = PipelineConfig::default().batch_size)]
    pub batch_size: usize,
    /// How long a claimed task stays a worker's without a committed batch renewing it, in
    /// seconds; a dead worker's task is taken over after this.
    #[arg(
        long = "task-lease-seconds",
        env = "FERRY_TASK_LEASE_SECONDS",
        default_value = "30",
        value_parser = seconds
    )]
    pub lease: Duration,
    /// Migration batches one engine of this process runs at once, at most. A migration's
    /// `max_workers` bounds the batches in flight over every process, so with a lower cap
    /// here other processes' engines take the rest (a CPU-bound re_extract spreads over
    /// processes). Default 50, the largest `max_workers`: one process may take them all.
    #[arg(long, env = "FERRY_MIGRATION_BATCH_CONCURRENCY", default_value_t = MAX_BATCH_CONCURRENCY)]
    pub migration_batch_concurrency: usize,
    /// Tests only: `after_commit:N` / `before_commit:N` makes a worker exit (code 86) around
    /// its N-th batch commit (trigger and taxonomy batches).
    #[arg(long, env = "FERRY_FAULT_INJECT", hide = true)]
    pub fault_inject: Option<FaultPoint>,
    /// Tests only, counted in migration batches: `after_commit:N` / `before_commit:N` (exit
    /// 86), `fail_batch:N` (batch N fails once), `slow_batches:MS` (each batch takes MS longer).
    #[arg(long, env = "FERRY_MIGRATION_FAULT_INJECT", hide = true)]
    pub migration_fault_inject: Option<FaultPoint>,
    /// In-process tests only: where pipeline workers are held (trigger and taxonomy batches).
    #[arg(skip)]
    pub pipeline_breakpoints: Breakpoints,
    /// In-process tests only: where migration engines are held (migration batches).
    #[arg(skip)]
    pub migration_breakpoints: Breakpoints,
}

/// The largest `max_workers` a migration may ask for, and the default per-engine cap.
const MAX_BATCH_CONCURRENCY: usize = 50;

impl Default for TaskConfig {
    fn default() -> Self {
        let pipeline = PipelineConfig::default();
        TaskConfig {
            batch_size: pipeline.batch_size,
            lease: pipeline.lease,
            migration_batch_concurrency: MAX_BATCH_CONCURRENCY,
            fault_inject: None,
            migration_fault_inject: None,
            pipeline_breakpoints: Breakpoints::default(),
            migration_breakpoints: Breakpoints::default(),
        }
    }
}

impl TaskConfig {
    /// A pipeline worker's settings.
    pub fn pipeline(&self) -> PipelineConfig {
        PipelineConfig {
            batch_size: self.batch_size,
            lease: self.lease,
            fault: self.fault_inject,
            breakpoints: self.pipeline_breakpoints.clone(),
            ..PipelineConfig::default()
        }
    }

    /// A migration engine's settings: the same lease as the pipeline's.
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            lease: self.lease,
            batch_concurrency: self.migration_batch_concurrency.max(1),
            fault: self.migration_fault_inject,
            breakpoints: self.migration_breakpoints.clone(),
            ..EngineConfig::default()
        }
    }
}

/// Server-wide defaults of `openai_embedding_extractor` (an OpenAI-compatible
/// `POST /v1/embeddings`); a collection's `parameters` override them.
#[derive(Debug, Clone, Default, Args)]
pub struct EmbeddingDefaults {
    /// Base URL of the embeddings service.
    #[arg(long, env = "FERRY_EMBEDDINGS_URL")]
    pub embeddings_url: Option<String>,
    /// Model the embeddings service runs.
    #[arg(long, env = "FERRY_EMBEDDINGS_MODEL")]
    pub embeddings_model: Option<String>,
    /// Bearer key of the embeddings service.
    #[arg(long, env = "FERRY_EMBEDDINGS_API_KEY", hide_env_values = true)]
    pub embeddings_api_key: Option<String>,
}

impl EmbeddingDefaults {
    /// The remote extractor's configuration; an empty setting counts as unset.
    pub fn remote(&self) -> RemoteEmbeddingConfig {
        let set = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        RemoteEmbeddingConfig {
            base_url: set(&self.embeddings_url),
            model: set(&self.embeddings_model),
            api_key: set(&self.embeddings_api_key),
            ..RemoteEmbeddingConfig::default()
        }
    }
}

/// What a process that runs tasks (`serve`, `worker`) is configured with.
#[derive(Debug, Clone, Args)]
pub struct Config {
    #[command(flatten)]
    pub storage: StorageConfig,
    #[command(flatten)]
    pub models: ModelsConfig,
    /// Pipeline workers (and as many migration engines) in this process; 0 in `serve` leaves
    /// the work to separate `ferry worker` processes on the same store.
    #[arg(long, env = "FERRY_WORKERS", default_value_t = 1)]
    pub workers: usize,
    #[command(flatten)]
    pub tasks: TaskConfig,
    #[command(flatten)]
    pub embeddings: EmbeddingDefaults,
    #[command(flatten)]
    pub indexes: IndexOptions,
}

/// The vector indexes a process keeps (README, "Search indexes").
#[derive(Debug, Clone, Args)]
pub struct IndexOptions {
    /// Where vector indexes are saved (default: DATA_DIR/indexes). One process uses a
    /// directory at a time; another process started on the same one keeps its indexes in
    /// memory and says so.
    #[arg(long, env = "FERRY_INDEX_DIR")]
    pub index_dir: Option<PathBuf>,
    /// Collections with fewer documents are searched exactly, without an index.
    #[arg(long, env = "FERRY_INDEX_EXACT_BELOW", default_value_t = IndexConfig::default().exact_below)]
    pub exact_below: i64,
    /// Candidates an HNSW search keeps (ef): higher finds more true neighbours, slower.
    #[arg(long, env = "FERRY_INDEX_EF_SEARCH", default_value_t = IndexConfig::default().ef_search)]
    pub ef_search: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            index_dir: None,
            exact_below: IndexConfig::default().exact_below,
            ef_search: IndexConfig::default().ef_search,
        }
    }
}

impl Config {
    /// The defaults over `storage`, read from no flag and no variable.
    pub fn new(storage: StorageConfig) -> Config {
        Config {
            storage,
            models: ModelsConfig::default(),
            workers: 1,
            tasks: TaskConfig::default(),
            embeddings: EmbeddingDefaults::default(),
            indexes: IndexOptions::default(),
        }
    }

    /// The vector search of this process, over `store`, saving under the index directory.
    pub fn search(&self, store: &Store) -> IndexedSearch {
        let dir = self
            .indexes
            .index_dir
            .clone()
            .unwrap_or_else(|| self.storage.data_dir.join("indexes"));
        IndexedSearch::new(
            store.clone(),
            IndexConfig {
                dir: Some(dir),
                exact_below: self.indexes.exact_below,
                ef_search: self.indexes.ef_search,
                ..IndexConfig::default()
            },
        )
    }

    /// The models directory: the configured one, else `DATA_DIR/models`.
    pub fn models_dir(&self) -> PathBuf {
        crate::models_dir(self.models.models_dir.clone(), &self.storage.data_dir)
    }

    /// The built-in extractor registry over these models and embeddings defaults.
    pub fn registry(&self) -> Arc<Registry> {
        Arc::new(Registry::builtin(
            self.embeddings.remote(),
            self.models_dir(),
        ))
    }
}

/// A non-negative number of seconds, fractions allowed.
fn seconds(s: &str) -> Result<Duration, String> {
    let seconds: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{s:?} is not a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn flags_set_every_task_setting() {
        let probe = Probe::try_parse_from([
            "probe",
            "--batch-size",
            "10",
            "--task-lease-seconds",
            "0.5",
            "--fault-inject",
            "after_commit:2",
            "--migration-fault-inject",
            "fail_batch:3",
            "--workers",
            "3",
            "--embeddings-url",
            "",
        ])
        .unwrap();
        let config = probe.config;
        assert_eq!(config.workers, 3);
        let pipeline = config.tasks.pipeline();
        assert_eq!(pipeline.batch_size, 10);
        assert_eq!(pipeline.lease, Duration::from_millis(500));
        assert_eq!(pipeline.fault, Some(FaultPoint::ExitAfterCommit(2)));
        let engine = config.tasks.engine();
        assert_eq!(engine.lease, Duration::from_millis(500));
        assert_eq!(engine.fault, Some(FaultPoint::FailBatch(3)));
        assert_eq!(config.embeddings.remote().base_url, None, "empty is unset");
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            ["probe", "--batch-size", "many"],
            ["probe", "--task-lease-seconds", "-1"],
            ["probe", "--fault-inject", "sideways:1"],
        ] {
            assert!(Probe::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn the_defaults_are_the_workers_defaults() {
        let config = Config::new(StorageConfig {
            data_dir: "d".into(),
            database_url: None,
            object_store_url: None,
        });
        assert_eq!(config.models_dir(), PathBuf::from("d").join("models"));
        let (pipeline, defaults) = (config.tasks.pipeline(), PipelineConfig::default());
        assert_eq!(pipeline.batch_size, defaults.batch_size);
        assert_eq!(pipeline.lease, defaults.lease);
        assert_eq!(config.tasks.engine().lease, EngineConfig::default().lease);
        // The command line's defaults are the same (when the environment sets none).
        let unset = ["FERRY_BATCH_SIZE", "FERRY_TASK_LEASE_SECONDS"]
            .iter()
            .all(|v| std::env::var_os(v).is_none());
        if unset {
            let parsed = Probe::try_parse_from(["probe"]).unwrap().config.tasks;
            assert_eq!(parsed.batch_size, defaults.batch_size);
            assert_eq!(parsed.lease, defaults.lease);
        }
    }
}
