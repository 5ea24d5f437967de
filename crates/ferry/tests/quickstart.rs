//! The README's quickstart, run as printed: the commands between the `quickstart:begin` and
//! `quickstart:end` markers are read from README.md, so the test fails when the README drifts
//! from what works.
//!
//! Each `cargo run --release -- ARGS` line runs this build's `ferry ARGS` (the same program,
//! without a release build per test). The environment stands in for the newcomer's machine:
//! a fresh data directory (or PostgreSQL database), a free port instead of 8000 (`FERRY_BIND`,
//! `FERRY_URL`), and the key `serve` printed as `FERRY_API_KEY`, as the README's `export` line
//! asks.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::client::{ferry_command, Run};
use common::{Backend, TestDatabase};

const PREFIX: &str = "cargo run --release -- ";

/// The quickstart's shell lines, comments and blank lines removed.
fn quickstart_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let start = readme
        .find("<!-- quickstart:begin -->")
        .expect("README has a quickstart:begin marker");
    let end = readme
        .find("<!-- quickstart:end -->")
        .expect("README has a quickstart:end marker");
    let mut lines = Vec::new();
    let mut in_code = false;
    for line in readme[start..end].lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        let command = line.split(" #").next().unwrap().trim();
        if !command.is_empty() && !command.starts_with('#') {
            lines.push(command.to_owned());
        }
    }
    lines
}

/// The quickstart's server, stopped however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn storage_env(command: &mut Command, db: &TestDatabase) {
    command.env("FERRY_DATA_DIR", &db.storage.data_dir);
    if let Some(url) = &db.storage.database_url {
        command.env("DATABASE_URL", url);
    }
}

async fn the_readme_quickstart_runs_as_printed(backend: Backend) {
    let lines = quickstart_lines();
    assert!(
        (3..=7).contains(&lines.len()),
        "about five commands: {lines:?}"
    );
    let db = TestDatabase::new(backend).await;

    // 1. The server, started as printed; it prints the key on first start.
    let serve = lines[0]
        .strip_prefix(PREFIX)
        .expect("the quickstart starts with the server");
    let mut command = ferry_command();
    command
        .args(serve.split_whitespace())
        .env("FERRY_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    storage_env(&mut command, &db);
    let mut server = Server(command.spawn().expect("serve"));
    let (tx, printed) = mpsc::channel();
    let stdout = server.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut key = None;
    let base = loop {
        let line = printed
            .recv_timeout(Duration::from_secs(60))
            .expect("serve prints its address");
        if line.contains("shown only once") {
            key = line.rsplit(' ').next().map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("ferry listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let key = key.expect("a first start prints the key");

    // 2. The rest, in order, each as printed.
    let mut outputs = Vec::new();
    for line in &lines[1..] {
        if let Some(assignment) = line.strip_prefix("export ") {
            let (name, _) = assignment.split_once('=').expect("export NAME=VALUE");
            assert_eq!(name, "FERRY_API_KEY", "the key `serve` printed: {line}");
            continue;
        }
        let args = line
            .strip_prefix(PREFIX)
            .unwrap_or_else(|| panic!("not a ferry command: {line}"));
        let mut command = ferry_command();
        command
            .args(args.split_whitespace())
            .env("FERRY_URL", &base)
            .env("FERRY_API_KEY", &key)
            .stdin(Stdio::null());
        let run: Run = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
            .into();
        assert_eq!(run.code, 0, "`{line}` failed: {run:?}");
        outputs.push((line.clone(), run));
    }
    drop(server);

    // What a newcomer sees: sample data loaded, a migration watched to completion with its
    // verification and benchmark, and the migration listed.
    let find = |word: &str| {
        outputs
            .iter()
            .find(|(line, _)| line.contains(word))
            .unwrap_or_else(|| panic!("the quickstart runs `{word}`: {lines:?}"))
    };
    let (_, demo) = find(" demo load");
    assert!(demo.stdout.contains("loaded 108 articles"), "{demo:?}");
    let (create_line, watched) = find(" migrations create ");
    let suggested = demo
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("next: ferry "))
        .expect("demo load says what to run next");
    assert_eq!(
        create_line.strip_prefix(PREFIX),
        Some(suggested),
        "the README runs what demo load suggests"
    );
    assert!(
        watched.stdout.contains(" completed: demo -> "),
        "{watched:?}"
    );
    assert!(watched.stdout.contains("verification:"), "{watched:?}");
    assert!(!watched.stdout.contains("MISMATCH"), "{watched:?}");
    assert!(
        watched.stdout.contains("9 queries, overlap@"),
        "{watched:?}"
    );
    let (_, listed) = find(" migrations list");
    assert!(listed.stdout.contains("re_extract"), "{listed:?}");
    assert!(listed.stdout.contains("completed"), "{listed:?}");
}

store_tests!(the_readme_quickstart_runs_as_printed);
