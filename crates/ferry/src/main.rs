//! The `ferry` command line: `serve`, `worker`, `models list`, `admin create-key` and
//! `admin webhook-secret` on the store, and `migrations …` and `demo load` against a running
//! server. Its flags and exit codes are a stable interface that scripts rely on.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ferry::{
    bind, bootstrap, describe, models_dir, models_listing, serve, shutdown_signal, Config,
    ModelsConfig, StorageConfig, Workers,
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
    Worker(Config),
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
        models: ModelsConfig,
        /// Directory whose `models` sub-directory is the default models directory.
        #[arg(long, env = "FERRY_DATA_DIR", default_value = "./ferry-data")]
        data_dir: PathBuf,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FERRY_BIND", default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// Makes exactly this key valid for the `default` organization (created if missing); no
    /// key is generated then.
    #[arg(long, env = "FERRY_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Print a new API key for an organization, creating the organization if missing.
    CreateKey {
        /// Organization name.
        #[arg(long)]
        org: String,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Print the organization's webhook signing secret (`whsec_…`), creating it if missing.
    WebhookSecret {
        /// Organization name.
        #[arg(long)]
        org: String,
        #[command(flatten)]
        storage: StorageConfig,
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
        Command::Serve(ServeArgs {
            bind: addr,
            api_key,
            config,
        }) => {
            let location = config.storage.location()?;
            let store = config.storage.open().await?;
            let blobs = config.storage.blobs()?;
            let boot = bootstrap(&store, api_key.as_deref()).await?;
            if let Some(key) = boot.created_key {
                println!("Created organization 'default'. Its API key (shown only once): {key}");
            }
            let listener = bind(addr).await?;
            println!(
                "ferry listening on http://{} (store: {}; blobs: {})",
                listener.local_addr()?,
                describe(&location),
                blobs.describe()
            );
            let state = AppState {
                search: config.search(&store),
                store,
                blobs,
                registry: config.registry(),
            };
            let workers = Workers::spawn(&state, &config.tasks, config.workers);
            serve(state, listener, workers, shutdown_signal()).await?;
            println!("ferry stopped");
        }
        Command::Worker(config) => {
            let location = config.storage.location()?;
            let store = config.storage.open().await?;
            let state = AppState {
                search: config.search(&store),
                store,
                blobs: config.storage.blobs()?,
                registry: config.registry(),
            };
            println!(
                "ferry worker running {} worker(s) (store: {})",
                config.workers,
                describe(&location)
            );
            let workers = Workers::spawn(&state, &config.tasks, config.workers);
            shutdown_signal().await;
            workers.stop().await;
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
            let store = storage.open().await?;
            let organization = store.ensure_organization(&org).await?;
            let key = store.create_api_key(&organization).await?;
            store.close().await;
            println!("{key}");
        }
        Command::Admin(AdminCommand::WebhookSecret { org, storage }) => {
            let store = storage.open().await?;
            let organization = store.ensure_organization(&org).await?;
            let secret = store.webhook_secret(&organization.internal_id).await?;
            store.close().await;
            println!("{secret}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
