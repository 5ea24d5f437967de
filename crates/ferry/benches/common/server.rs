//! A `ferry` process driven over HTTP, for the benches that measure whole processes
//! (`workers`, `scale`).

use std::io::{BufRead, BufReader};
use std::process::Child;

use anyhow::Context;
use reqwest::Method;
use serde_json::Value;

/// The API key every bench process is started with (`FERRY_API_KEY`).
pub const KEY: &str = "sk_bench_workers_key_0000000000000000001";

/// A `ferry` child process, killed when dropped.
pub struct Process(pub Child);

impl Process {
    /// Peak resident memory so far, from `/proc/<pid>/status` (NaN where unreadable).
    pub fn peak_rss_mb(&self) -> f64 {
        super::vm_hwm_mb(&format!("/proc/{}/status", self.0.id()))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for `ferry serve`'s `listening` line: its base URL. What it prints later is read
/// and dropped, so a full pipe never blocks it.
pub fn listening_on(child: &mut Child) -> anyhow::Result<String> {
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    for line in lines.by_ref() {
        if let Some(rest) = line?.strip_prefix("ferry listening on ") {
            let base = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(base);
        }
    }
    anyhow::bail!("ferry serve exited before listening")
}

/// Seconds between two RFC 3339 timestamps of the wire.
pub fn seconds_between(from: &Value, to: &Value) -> anyhow::Result<f64> {
    let parse = |v: &Value| -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
        Ok(v.as_str().context("a timestamp")?.parse()?)
    };
    Ok((parse(to)? - parse(from)?).num_milliseconds() as f64 / 1000.0)
}

/// `url` pointing at database `name` instead.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        "" => format!("{server}/{name}"),
        query => format!("{server}/{name}?{query}"),
    }
}

/// One `ferry serve`'s API, called with [`KEY`].
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Self {
        Api {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// The JSON body of a successful call; any other status is an error.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        ns: Option<&str>,
        body: Value,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if !body.is_null() {
            request = request.json(&body);
        }
        if let Some(ns) = ns {
            request = request.header("X-Namespace", ns);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }

    /// Creates a migration of `config` and starts it (`force` as the start request's): its
    /// id.
    pub async fn start_migration(&self, config: Value, force: bool) -> anyhow::Result<String> {
        let created = self
            .call(
                Method::POST,
                "/v1/namespaces/migrations/",
                None,
                serde_json::json!({ "config": config }),
            )
            .await?;
        let id = created["migration_id"]
            .as_str()
            .context("a migration id")?
            .to_owned();
        self.call(
            Method::POST,
            &format!("/v1/namespaces/migrations/{id}/start"),
            None,
            serde_json::json!({ "force": force }),
        )
        .await?;
        Ok(id)
    }
}
