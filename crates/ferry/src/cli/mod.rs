//! The client side of the `ferry` binary: `ferry migrations …` drives the migration API of a
//! running server over HTTP (`--url`/`FERRY_URL`, `--api-key`/`FERRY_API_KEY`). It uses only
//! the public API, so it works against any Ferry a key can reach.
//!
//! Every command prints for people by default and the API's JSON with `--json`; its exit code
//! says how it ended ([`exit::Exit`]).

pub mod client;
pub mod config;
pub mod demo;
pub mod exit;
pub mod render;
pub mod watch;

use std::time::Duration;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use client::{Client, Failure};
use config::ConfigArgs;
use exit::Exit;

/// Where the server is and who is asking.
#[derive(Args, Debug, Clone)]
pub struct Connection {
    /// Base URL of the Ferry server.
    #[arg(
        long,
        env = "FERRY_URL",
        default_value = "http://127.0.0.1:8000",
        global = true
    )]
    pub url: String,
    /// API key (`sk_…`) of the organization to act for.
    #[arg(long, env = "FERRY_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,
    /// Machine output: the API's JSON bodies (JSON lines for `watch`).
    #[arg(long, global = true)]
    pub json: bool,
}

impl Connection {
    pub fn client(&self) -> Client {
        Client::new(&self.url, self.api_key.clone())
    }
}

#[derive(Args, Debug)]
pub struct MigrationsArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: MigrationsCommand,
}

#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    /// Milliseconds between two looks at the migration.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub interval_ms: u64,
}

#[derive(Subcommand, Debug)]
pub enum MigrationsCommand {
    /// Check a configuration and show the dependency graph; creates nothing.
    Validate {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Create a migration (a draft, or started with --start).
    Create {
        #[command(flatten)]
        config: ConfigArgs,
        /// Start it at once.
        #[arg(long)]
        start: bool,
        /// Then watch it until it settles (implies --start).
        #[arg(long)]
        watch: bool,
        /// Start despite validation warnings (with --start or --watch): creates a draft, then
        /// starts it with `force`.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        watching: WatchArgs,
    },
    /// Start (or resume) a draft or failed migration.
    Start {
        id: String,
        /// Start despite validation warnings.
        #[arg(long)]
        force: bool,
        /// Then watch it until it settles.
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        watching: WatchArgs,
    },
    /// Show live progress until the migration settles; Ctrl-C stops watching only.
    Watch {
        id: String,
        #[command(flatten)]
        watching: WatchArgs,
    },
    /// List migrations, newest first.
    List {
        /// Only this status (draft, pending, in_progress, completed, failed, cancelled …).
        #[arg(long)]
        status: Option<String>,
        /// Only this type (copy, re_extract, extend).
        #[arg(long = "type", value_name = "TYPE")]
        migration_type: Option<String>,
        /// Only migrations from this source namespace id.
        #[arg(long, value_name = "NAMESPACE_ID")]
        source: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long, default_value_t = 0)]
        offset: i64,
    },
    /// Show one migration: stages, resources, and the summary once it settled.
    Get { id: String },
    /// Cancel a migration; running work stops within one batch.
    Cancel {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Delete a settled or draft migration (the target namespace stays).
    Delete { id: String },
}

const ROOT: &str = "/v1/namespaces/migrations";

/// Runs one `ferry migrations` command and says how it ended.
pub async fn run(args: MigrationsArgs) -> Exit {
    let json = args.connection.json;
    match execute(&args.connection, args.command).await {
        Ok(exit) => exit,
        Err(failure) => {
            report(&failure, json);
            failure.exit()
        }
    }
}

/// Prints a failure where its audience looks: JSON on stdout, prose on stderr.
pub fn report(failure: &Failure, json: bool) {
    if json {
        println!("{}", render::failure_json(failure));
    } else {
        eprintln!("{}", render::failure(failure));
    }
}

async fn execute(connection: &Connection, command: MigrationsCommand) -> Result<Exit, Failure> {
    let client = connection.client();
    let json = connection.json;
    let out = |body: &Value, human: String| {
        if json {
            println!("{body}");
        } else {
            println!("{human}");
        }
    };
    match command {
        MigrationsCommand::Validate { config } => {
            let body = json!({"config": config.build()?});
            let answer = client
                .call(Method::POST, &format!("{ROOT}/validate"), Some(&body), None)
                .await?;
            out(&answer, render::validation(&answer));
            Ok(if answer["validation_result"]["valid"] == true {
                Exit::Ok
            } else {
                Exit::Invalid
            })
        }
        MigrationsCommand::Create {
            config,
            start,
            watch,
            force,
            watching,
        } => {
            let start = start || watch;
            // The server refuses `start_immediately` when there are warnings; a forced start
            // is a draft started with `force`, as the API's lifecycle has it.
            let forced = start && force;
            let body = json!({"config": config.build()?, "start_immediately": start && !forced});
            let created = client
                .call(Method::POST, &format!("{ROOT}/"), Some(&body), None)
                .await?;
            let id = created["migration_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut human = format!(
                "created {id} ({})",
                created["status"].as_str().unwrap_or("?")
            );
            let warnings = render::issue_lines(&created["validation_result"]);
            if !warnings.is_empty() {
                human = format!("{human}\n{}", warnings.join("\n"));
            }
            if !start {
                human.push_str(&format!("\nstart it with: ferry migrations start {id}"));
            }
            out(&created, human);
            if forced {
                let started = client
                    .call(
                        Method::POST,
                        &format!("{ROOT}/{id}/start"),
                        Some(&json!({"force": true})),
                        None,
                    )
                    .await?;
                out(
                    &started,
                    format!(
                        "started {id} despite the warnings ({})",
                        started["status"].as_str().unwrap_or("?")
                    ),
                );
            }
            if watch {
                return watch_it(&client, &id, json, &watching).await;
            }
            Ok(Exit::Ok)
        }
        MigrationsCommand::Start {
            id,
            force,
            watch,
            watching,
        } => {
            let answer = client
                .call(
                    Method::POST,
                    &format!("{ROOT}/{id}/start"),
                    Some(&json!({"force": force})),
                    None,
                )
                .await?;
            out(
                &answer,
                format!(
                    "started {id} ({}), task {}",
                    answer["status"].as_str().unwrap_or("?"),
                    answer["task_id"].as_str().unwrap_or("-")
                ),
            );
            if watch {
                return watch_it(&client, &id, json, &watching).await;
            }
            Ok(Exit::Ok)
        }
        MigrationsCommand::Watch { id, watching } => watch_it(&client, &id, json, &watching).await,
        MigrationsCommand::List {
            status,
            migration_type,
            source,
            limit,
            offset,
        } => {
            let mut body = json!({"limit": limit, "offset": offset});
            for (key, value) in [
                ("status", status),
                ("migration_type", migration_type),
                ("source_namespace_id", source),
            ] {
                if let Some(v) = value {
                    body[key] = v.into();
                }
            }
            let page = client
                .call(Method::POST, &format!("{ROOT}/list"), Some(&body), None)
                .await?;
            out(&page, render::list(&page));
            Ok(Exit::Ok)
        }
        MigrationsCommand::Get { id } => {
            let m = client
                .call(Method::GET, &format!("{ROOT}/{id}"), None, None)
                .await?;
            out(&m, render::migration(&m));
            Ok(Exit::Ok)
        }
        MigrationsCommand::Cancel { id, reason } => {
            let mut body = json!({});
            if let Some(r) = reason {
                body["reason"] = r.into();
            }
            let answer = client
                .call(
                    Method::POST,
                    &format!("{ROOT}/{id}/cancel"),
                    Some(&body),
                    None,
                )
                .await?;
            out(
                &answer,
                format!(
                    "cancelled {id}: {}",
                    answer["message"].as_str().unwrap_or("")
                ),
            );
            Ok(Exit::Ok)
        }
        MigrationsCommand::Delete { id } => {
            client
                .call(Method::DELETE, &format!("{ROOT}/{id}"), None, None)
                .await?;
            out(
                &json!({"migration_id": id, "deleted": true}),
                format!("deleted {id}"),
            );
            Ok(Exit::Ok)
        }
    }
}

async fn watch_it(
    client: &Client,
    id: &str,
    json: bool,
    watching: &WatchArgs,
) -> Result<Exit, Failure> {
    watch::watch(
        client,
        id,
        watch::Mode::pick(json),
        Duration::from_millis(watching.interval_ms.max(50)),
    )
    .await
}
