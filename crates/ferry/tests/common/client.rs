//! Running the `ferry` binary as a user does: client commands (`ferry migrations …`,
//! `ferry demo …`) against a server.

use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::TEST_KEY;

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
