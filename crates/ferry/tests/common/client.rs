//! Running the `ferry` binary as a user does: client commands (`ferry migrations …`,
//! `ferry demo …`) against a server, and `ferry serve` as a child process when a test needs
//! its own environment (injected faults) or a signal.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use super::{TestDatabase, TEST_KEY};

/// What a client command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as one JSON value (`--json` commands).
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {self:?}"))
    }

    /// Stdout as JSON lines (`watch --json`).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect()
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// `ferry` with a clean environment: no inherited key, URL or store.
pub fn ferry_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
    command
        .env_remove("FERRY_API_KEY")
        .env_remove("FERRY_URL")
        .env_remove("DATABASE_URL")
        .env_remove("FERRY_DATA_DIR")
        .env("FERRY_LOG", "warn");
    command
}

/// Runs `ferry <args>` against `base` with [`TEST_KEY`], off the async runtime's threads.
pub async fn ferry(base: &str, args: &[&str]) -> Run {
    let mut command = ferry_command();
    command
        .env("FERRY_URL", base)
        .env("FERRY_API_KEY", TEST_KEY)
        .args(args)
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || command.output().expect("run ferry"))
        .await
        .unwrap()
        .into()
}

/// A `ferry serve` child process over a test database, with [`TEST_KEY`] valid.
pub struct ChildServer {
    pub child: Child,
    pub base: String,
}

impl ChildServer {
    // The child is killed and waited for by `Drop`, which clippy cannot follow.
    #[allow(clippy::zombie_processes)]
    pub fn start(db: &TestDatabase, env: &[(&str, &str)]) -> ChildServer {
        let mut command = ferry_command();
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("FERRY_API_KEY", TEST_KEY)
            .env("FERRY_DATA_DIR", &db.storage.data_dir)
            .envs(env.iter().copied());
        if let Some(url) = &db.storage.database_url {
            command.env("DATABASE_URL", url);
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
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("ferry serve printed its address");
            if let Some(rest) = line.strip_prefix("ferry listening on ") {
                let base = rest.split_whitespace().next().unwrap().to_owned();
                return ChildServer { child, base };
            }
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
