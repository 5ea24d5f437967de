//! `ferry migrations …` against a real server: every command in both output modes, the exit
//! codes (completed, failed, cancelled, invalid, API error, unreachable, usage), validation
//! errors rendered one per line naming the field, and Ctrl-C leaving the migration running.

mod common;

use std::time::Duration;

use common::client::{ferry, Run};
use common::corpus::seed;
use common::{Backend, TestDatabase, TestServer};
use ferry::TaskConfig;
use ferry_pipeline::{Breakpoint, Breakpoints, FaultPoint};

fn assert_exit(run: &Run, code: i32) {
    assert_eq!(run.code, code, "exit code; {run:?}");
}

async fn every_command_in_both_output_modes(backend: Backend) {
    let server = TestServer::start(backend).await;
    seed(&server).await;
    let base = server.url("");
    let dir = tempfile::tempdir().unwrap();

    // validate: the verdict, the graph's tiers and the execution order.
    let args = [
        "--type",
        "copy",
        "--source",
        "data",
        "--target-name",
        "copied",
    ];
    let human = ferry(
        &base,
        &[&["migrations", "validate"][..], &args[..]].concat(),
    )
    .await;
    assert_exit(&human, 0);
    assert!(human.stdout.starts_with("valid:"), "{human:?}");
    assert!(human.stdout.contains("tier 0: bucket "), "{human:?}");
    assert!(human.stdout.contains("tier 1: collection "), "{human:?}");
    assert!(human.stdout.contains("execution order: 1. "), "{human:?}");
    let machine = ferry(
        &base,
        &[&["migrations", "validate", "--json"][..], &args[..]].concat(),
    )
    .await;
    assert_exit(&machine, 0);
    let answer = machine.json();
    assert_eq!(answer["validation_result"]["valid"], true);
    assert_eq!(
        answer["dependency_graph"]["execution_order"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A semantic error: one line naming the code and the field, exit 4.
    let taken = ferry(
        &base,
        &[
            "migrations",
            "validate",
            "--type",
            "copy",
            "--source",
            "data",
            "--target-name",
            "data",
        ],
    )
    .await;
    assert_exit(&taken, 4);
    assert!(
        taken
            .stdout
            .lines()
            .any(|l| l.starts_with("error  namespace_name_taken  config.target_namespace_name: ")),
        "{taken:?}"
    );
    let taken_json = ferry(
        &base,
        &[
            "migrations",
            "validate",
            "--json",
            "--type",
            "copy",
            "--source",
            "data",
            "--target-name",
            "data",
        ],
    )
    .await;
    assert_exit(&taken_json, 4);
    assert_eq!(taken_json.json()["validation_result"]["valid"], false);

    // A schema error (422): rendered from `detail`, naming the field, exit 4.
    let bad_type = ferry(
        &base,
        &[
            "migrations",
            "create",
            "--type",
            "teleport",
            "--source",
            "data",
        ],
    )
    .await;
    assert_exit(&bad_type, 4);
    assert!(
        bad_type
            .stderr
            .lines()
            .any(|l| l.starts_with("error  enum  body.config.migration_type: ")),
        "{bad_type:?}"
    );
    let bad_json = ferry(
        &base,
        &[
            "migrations",
            "create",
            "--json",
            "--type",
            "teleport",
            "--source",
            "data",
        ],
    )
    .await;
    assert_exit(&bad_json, 4);
    assert_eq!(bad_json.json()["detail"][0]["loc"][2], "migration_type");

    // create from a YAML file (a draft), flags overriding the file.
    let file = dir.path().join("copy.yaml");
    std::fs::write(
        &file,
        "migration_type: copy\nsource_namespace_id: data\ntarget_namespace_name: ignored\n\
         batch_options:\n  batch_size: 5\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let created = ferry(
        &base,
        &[
            "migrations",
            "create",
            "-f",
            file,
            "--target-name",
            "copied",
            "--json",
        ],
    )
    .await;
    assert_exit(&created, 0);
    let id = created.json()["migration_id"].as_str().unwrap().to_owned();
    assert_eq!(created.json()["status"], "draft");
    let from_json_file = dir.path().join("copy.json");
    std::fs::write(
        &from_json_file,
        r#"{"migration_type": "copy", "source_namespace_id": "data"}"#,
    )
    .unwrap();
    let second = ferry(
        &base,
        &[
            "migrations",
            "create",
            "-f",
            from_json_file.to_str().unwrap(),
        ],
    )
    .await;
    assert_exit(&second, 0);
    assert!(second.stdout.starts_with("created mig_"), "{second:?}");
    assert!(
        second.stdout.contains("ferry migrations start mig_"),
        "{second:?}"
    );
    let second_id = second.stdout.split_whitespace().nth(1).unwrap().to_owned();

    // get and list, both modes.
    let got = ferry(&base, &["migrations", "get", &id]).await;
    assert_exit(&got, 0);
    assert!(got.stdout.contains("status     draft"), "{got:?}");
    assert!(got.stdout.contains("namespace_setup"), "{got:?}");
    let got_json = ferry(&base, &["migrations", "get", &id, "--json"]).await;
    assert_eq!(got_json.json()["config"]["batch_options"]["batch_size"], 5);
    let listed = ferry(&base, &["migrations", "list", "--status", "draft"]).await;
    assert_exit(&listed, 0);
    assert!(listed.stdout.contains(&id) && listed.stdout.contains(&second_id));
    assert!(listed.stdout.contains("2 of 2 migration(s)"), "{listed:?}");
    let listed_json = ferry(&base, &["migrations", "list", "--json", "--limit", "1"]).await;
    assert_eq!(listed_json.json()["total"], 2);
    assert_eq!(listed_json.json()["results"].as_array().unwrap().len(), 1);

    // start, then watch to the end: lines (stdout is a pipe), then the summary.
    let started = ferry(&base, &["migrations", "start", &id, "--json"]).await;
    assert_exit(&started, 0);
    assert!(started.json()["task_id"]
        .as_str()
        .unwrap()
        .starts_with("task_"));
    let watched = ferry(&base, &["migrations", "watch", &id, "--interval-ms", "50"]).await;
    assert_exit(&watched, 0);
    assert!(watched.stdout.contains("completed"), "{watched:?}");
    assert!(watched.stdout.contains("verification:"), "{watched:?}");
    assert!(watched.stdout.contains("[ok]"), "{watched:?}");
    assert!(watched.stdout.contains("benchmark:"), "{watched:?}");
    assert!(watched.stdout.contains("throughput: "), "{watched:?}");
    let watched_json = ferry(&base, &["migrations", "watch", &id, "--json"]).await;
    assert_exit(&watched_json, 0);
    let events = watched_json.json_lines();
    let last = events.last().unwrap();
    assert_eq!(last["event"], "settled");
    assert_eq!(last["migration"]["status"], "completed");
    assert_eq!(
        last["migration"]["progress"]["overall_progress_percent"],
        100.0
    );
    let done = ferry(&base, &["migrations", "get", &id]).await;
    assert!(done.stdout.contains("verification:"), "{done:?}");

    // An illegal transition is an API error: exit 5, the API's message on stderr.
    let again = ferry(&base, &["migrations", "start", &id]).await;
    assert_exit(&again, 5);
    assert!(again.stderr.contains("InvalidStateError"), "{again:?}");
    let again_json = ferry(&base, &["migrations", "start", &id, "--json"]).await;
    assert_exit(&again_json, 5);
    assert_eq!(again_json.json()["error"]["type"], "InvalidStateError");

    // cancel a draft; watching it ends at once with the cancelled code.
    let cancelled = ferry(
        &base,
        &["migrations", "cancel", &second_id, "--reason", "not needed"],
    )
    .await;
    assert_exit(&cancelled, 0);
    assert!(cancelled
        .stdout
        .starts_with(&format!("cancelled {second_id}")));
    let watch_cancelled = ferry(&base, &["migrations", "watch", &second_id]).await;
    assert_exit(&watch_cancelled, 3);
    let cancel_json = ferry(&base, &["migrations", "cancel", &second_id, "--json"]).await;
    assert_exit(&cancel_json, 5);

    // delete, both modes; then the migration is gone (404 is an API error).
    let deleted = ferry(&base, &["migrations", "delete", &second_id]).await;
    assert_exit(&deleted, 0);
    assert_eq!(deleted.stdout.trim(), format!("deleted {second_id}"));
    let deleted_json = ferry(&base, &["migrations", "delete", &id, "--json"]).await;
    assert_exit(&deleted_json, 0);
    assert_eq!(deleted_json.json()["deleted"], true);
    let gone = ferry(&base, &["migrations", "get", &id]).await;
    assert_exit(&gone, 5);
    assert!(gone.stderr.contains("not found"), "{gone:?}");
    assert!(gone.stderr.contains("NotFoundError"), "{gone:?}");

    // Nothing sent: a missing file is a usage error; a dead server is unreachable; a wrong key
    // is the API's 401.
    let missing = ferry(&base, &["migrations", "create", "-f", "/no/such/file.yaml"]).await;
    assert_exit(&missing, 2);
    let dead = ferry(
        &base,
        &["migrations", "list", "--url", "http://127.0.0.1:9"],
    )
    .await;
    assert_exit(&dead, 6);
    assert!(dead.stderr.contains("cannot reach"), "{dead:?}");
    let dead_json = ferry(
        &base,
        &[
            "migrations",
            "list",
            "--json",
            "--url",
            "http://127.0.0.1:9",
        ],
    )
    .await;
    assert_eq!(dead_json.json()["error"]["type"], "ConnectionError");
    let stranger = ferry(&base, &["migrations", "list", "--api-key", "sk_nobody"]).await;
    assert_exit(&stranger, 5);
    assert!(
        stranger.stderr.contains("AuthenticationError"),
        "{stranger:?}"
    );
}

/// A server whose workers run with `tasks`, over a fresh database seeded with the corpus.
async fn seeded(backend: Backend, tasks: TaskConfig) -> TestServer {
    let server = TestServer::start_with(TestDatabase::new(backend).await, tasks).await;
    seed(&server).await;
    server
}

/// A batch that fails for good fails the migration (exit 1); `start --watch` resumes it to
/// completion (exit 0).
async fn a_failed_migration_exits_1_and_a_resumed_one_0(backend: Backend) {
    let server = seeded(
        backend,
        TaskConfig {
            migration_fault_inject: Some(FaultPoint::FailBatch(1)),
            ..TaskConfig::default()
        },
    )
    .await;
    let base = server.url("");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.json");
    std::fs::write(
        &file,
        r#"{"migration_type": "copy", "source_namespace_id": "data",
            "batch_options": {"retry_failed": false}}"#,
    )
    .unwrap();
    let failed = ferry(
        &base,
        &[
            "migrations",
            "create",
            "-f",
            file.to_str().unwrap(),
            "--watch",
            "--interval-ms",
            "50",
        ],
    )
    .await;
    assert_exit(&failed, 1);
    assert!(failed.stdout.contains(" failed: data -> "), "{failed:?}");
    let id = failed.stdout.split_whitespace().nth(1).unwrap().to_owned();
    let resumed = ferry(&base, &["migrations", "start", &id, "--watch"]).await;
    assert_exit(&resumed, 0);
    assert!(
        resumed.stdout.contains(&format!("{id} completed")),
        "{resumed:?}"
    );
    server.stop().await;
}

/// SIGINT stops `watch` (exit 130, a hint to watch again) while the migration runs on and
/// completes.
async fn ctrl_c_stops_watching_and_leaves_the_migration_running(backend: Backend) {
    // The engine is held once its first batch commits, until the watch has been interrupted.
    let (breakpoints, pause) = Breakpoints::pause_at(Breakpoint::AfterCommit(1));
    let server = seeded(
        backend,
        TaskConfig {
            migration_breakpoints: breakpoints,
            ..TaskConfig::default()
        },
    )
    .await;
    let base = server.url("");
    let created = ferry(
        &base,
        &[
            "migrations",
            "create",
            "--type",
            "copy",
            "--source",
            "data",
            "--batch-size",
            "2",
            "--max-workers",
            "1",
            "--start",
            "--json",
        ],
    )
    .await;
    assert_exit(&created, 0);
    let id = created.json()["migration_id"].as_str().unwrap().to_owned();

    let mut watch = common::client::ferry_command();
    watch
        .env("FERRY_URL", &base)
        .env("FERRY_API_KEY", common::TEST_KEY)
        .args(["migrations", "watch", &id, "--json", "--interval-ms", "50"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut watching = watch.spawn().unwrap();
    // Interrupt once the watch has shown the migration running.
    let stdout = watching.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("watch prints progress");
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_ne!(
            event["event"], "settled",
            "the held engine outlasts the first look"
        );
        seen.push(event.clone());
        if event["status"] == "in_progress" {
            break;
        }
    }
    let pid = watching.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let output = tokio::task::spawn_blocking(move || watching.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(130), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("keeps running"), "{stderr}");
    assert!(
        stderr.contains(&format!("ferry migrations watch {id}")),
        "{stderr}"
    );
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(
        rest.iter().any(|l| l.contains("\"interrupted\"")),
        "{rest:?}"
    );

    pause.reached().await;
    let now = ferry(&base, &["migrations", "get", &id, "--json"]).await;
    assert_ne!(
        now.json()["status"],
        "cancelled",
        "{:?}",
        now.json()["status"]
    );
    pause.resume();
    let finished = ferry(&base, &["migrations", "watch", &id, "--interval-ms", "100"]).await;
    assert_exit(&finished, 0);
    assert!(
        finished.stdout.contains(&format!("{id} completed")),
        "{finished:?}"
    );
    server.stop().await;
}

store_tests!(
    every_command_in_both_output_modes,
    a_failed_migration_exits_1_and_a_resumed_one_0,
    ctrl_c_stops_watching_and_leaves_the_migration_running,
);
