//! The `ferry` command line: `serve`, `worker`, `models list`, `admin create-key` and
//! `admin webhook-secret` on the store, and `migrations …` and `demo load` against a running
//! server. Its flags and exit codes are a stable interface that scripts rely on.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ferry::{
    bind, bootstrap, describe, models_dir, models_listing, pipeline_config, registry, serve,
    shutdown_signal, spawn_workers, StorageConfig,
};
use ferry_api::AppState;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Mixpeek-compatible retrieval warehouse with namespace migrations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server and pipeline workers.
    Serve(ServeArgs),
    /// Run pipeline workers only (no API), sharing the store with `serve` processes.
    Worker(WorkerArgs),
    /// Administrative commands on the store.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Validate, create, start, watch, list, get, cancel and delete migrations on a running
    /// server (`--url`, `--api-key`).
    Migrations(ferry::cli::MigrationsArgs),
    /// Sample data for trying Ferry: `demo load` fills a running server with real text.
    Demo(ferry::cli::demo::DemoArgs),
    /// The local models `text_extractor` v3 runs.
    #[command(subcommand)]
    Models(ModelsCommand),
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// List the models installed in the models directory.
    List {
        #[command(flatten)]
        models: ModelsArgs,
        /// Directory whose `models` sub-directory is the default models directory.
        #[arg(long, env = "FERRY_DATA_DIR", default_value = "./ferry-data")]
        data_dir: PathBuf,
    },
}

#[derive(Args)]
struct ModelsArgs {
    /// Directory of sentence-transformers snapshots for `text_extractor` v3, one
    /// sub-directory per model; DATA_DIR/models by default.
    #[arg(long, env = "FERRY_MODELS_DIR")]
    models_dir: Option<PathBuf>,
}

#[derive(Args)]
struct StorageArgs {
    /// Directory for the embedded SQLite database and local object storage.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = "./ferry-data")]
    data_dir: PathBuf,
    /// A postgres:// URL to use PostgreSQL instead of the embedded SQLite store.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Object store for blobs, e.g. s3://bucket/prefix (AWS_* variables configure access);
    /// blobs go to DATA_DIR/objects by default.
    #[arg(long, env = "FERRY_OBJECT_STORE_URL")]
    object_store_url: Option<String>,
}

impl StorageArgs {
    fn config(self) -> StorageConfig {
        StorageConfig {
            data_dir: self.data_dir,
            database_url: self.database_url,
            object_store_url: self.object_store_url,
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FERRY_BIND", default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// Pipeline workers run beside the API (0 leaves processing to `ferry worker`).
    #[arg(long, env = "FERRY_WORKERS", default_value_t = 1)]
    workers: usize,
    #[command(flatten)]
    storage: StorageArgs,
    #[command(flatten)]
    models: ModelsArgs,
}

#[derive(Args)]
struct WorkerArgs {
    /// Tasks run in parallel by this process.
    #[arg(long, env = "FERRY_WORKERS", default_value_t = 1)]
    workers: usize,
    #[command(flatten)]
    storage: StorageArgs,
    #[command(flatten)]
    models: ModelsArgs,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Print a new API key for an organization, creating the organization if missing.
    CreateKey {
        /// Organization name.
        #[arg(long)]
        org: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Print the organization's webhook signing secret (`whsec_…`), creating it if missing.
    WebhookSecret {
        /// Organization name.
        #[arg(long)]
        org: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    match Cli::parse().command {
        Command::Migrations(args) => return Ok(ferry::cli::run(args).await.into()),
        Command::Demo(args) => return Ok(ferry::cli::demo::run(args).await.into()),
        Command::Serve(args) => {
            let models = models_dir(args.models.models_dir, &args.storage.data_dir);
            let storage = args.storage.config();
            let location = storage.location()?;
            let store = storage.open().await?;
            let blobs = storage.blobs()?;
            let env_key = std::env::var("FERRY_API_KEY").ok();
            let boot = bootstrap(&store, env_key.as_deref()).await?;
            if let Some(key) = boot.created_key {
                println!("Created organization 'default'. Its API key (shown only once): {key}");
            }
            let listener = bind(args.bind).await?;
            println!(
                "ferry listening on http://{} (store: {}; blobs: {})",
                listener.local_addr()?,
                describe(&location),
                blobs.describe()
            );
            let state = AppState {
                store,
                blobs,
                registry: registry(models),
            };
            serve(state, listener, args.workers, shutdown_signal()).await?;
            println!("ferry stopped");
        }
        Command::Worker(args) => {
            let models = models_dir(args.models.models_dir, &args.storage.data_dir);
            let storage = args.storage.config();
            let location = storage.location()?;
            let state = AppState {
                store: storage.open().await?,
                blobs: storage.blobs()?,
                registry: registry(models),
            };
            println!(
                "ferry worker running {} worker(s) (store: {})",
                args.workers,
                describe(&location)
            );
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let handles = spawn_workers(&state, pipeline_config()?, args.workers, stopped)?;
            shutdown_signal().await;
            let _ = stop.send(true);
            for handle in handles {
                let _ = handle.await;
            }
            state.store.close().await;
            println!("ferry worker stopped");
        }
        Command::Models(ModelsCommand::List { models, data_dir }) => {
            print!(
                "{}",
                models_listing(&models_dir(models.models_dir, &data_dir))
            );
        }
        Command::Admin(AdminCommand::CreateKey { org, storage }) => {
            let store = storage.config().open().await?;
            let organization = store.ensure_organization(&org).await?;
            let key = store.create_api_key(&organization).await?;
            store.close().await;
            println!("{key}");
        }
        Command::Admin(AdminCommand::WebhookSecret { org, storage }) => {
            let store = storage.config().open().await?;
            let organization = store.ensure_organization(&org).await?;
            let secret = store.webhook_secret(&organization.internal_id).await?;
            store.close().await;
            println!("{secret}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
