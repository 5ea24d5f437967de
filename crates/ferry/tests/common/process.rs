//! `ferry serve` as a child process: for tests that need real process death (SIGKILL) or
//! several processes on one store.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::TestDatabase;

/// A `ferry serve` child process and the lines it prints.
pub struct ServeProcess {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    printed: Vec<String>,
}

/// `ferry` over `db`'s store and data directory, with no key from the environment.
pub fn ferry(db: &TestDatabase) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
    command
        .env_remove("FERRY_API_KEY")
        .env_remove("DATABASE_URL")
        .env("FERRY_DATA_DIR", &db.storage.data_dir);
    if let Some(url) = &db.storage.database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

impl ServeProcess {
    pub fn start(db: &TestDatabase, api_key: Option<&str>) -> ServeProcess {
        Self::start_with(db, api_key, &[])
    }

    pub fn start_with(
        db: &TestDatabase,
        api_key: Option<&str>,
        env: &[(&str, &str)],
    ) -> ServeProcess {
        let mut command = ferry(db);
        command.args(["serve", "--bind", "127.0.0.1:0"]);
        if let Some(key) = api_key {
            command.env("FERRY_API_KEY", key);
        }
        command.envs(env.iter().copied());
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
        ServeProcess {
            child,
            lines,
            printed: Vec::new(),
        }
    }

    /// Waits for the `listening` line and returns the server's base URL.
    pub fn base_url(&mut self) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("ferry serve printed its address");
            self.printed.push(line.clone());
            if let Some(rest) = line.strip_prefix("ferry listening on ") {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
    }

    pub fn created_key(&self) -> Option<String> {
        self.printed.iter().find_map(|line| {
            line.contains("shown only once")
                .then(|| line.rsplit(' ').next().unwrap().to_owned())
        })
    }

    /// Sends SIGTERM and returns whether it exited successfully, and what it printed last.
    pub fn terminate(mut self) -> (bool, Vec<String>) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let rest: Vec<String> = self.lines.iter().collect();
        (status.success(), rest)
    }

    /// Ends the process with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL ferry serve");
        self.child.wait().expect("reap ferry serve");
    }
}
