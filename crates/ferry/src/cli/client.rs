//! The command line's HTTP client: one request at a time against `--url` with `--api-key`,
//! answering the JSON body or a [`Failure`] that already knows its exit code.

use reqwest::Method;
use serde_json::Value;

use super::exit::Exit;

/// Why a command could not do what was asked.
#[derive(Debug)]
pub enum Failure {
    /// The server answered an error; `body` is its `ErrorResponse` or 422 body.
    Api { status: u16, body: Value },
    /// The server could not be reached, or answered something that is not JSON.
    Transport(String),
    /// The command line or a config file is wrong; nothing was sent.
    Usage(String),
}

impl Failure {
    /// The exit code this failure ends the command with.
    pub fn exit(&self) -> Exit {
        match self {
            Failure::Api { status: 422, .. } => Exit::Invalid,
            Failure::Api { body, .. } if body["error"]["type"] == "MigrationValidationError" => {
                Exit::Invalid
            }
            Failure::Api { .. } => Exit::Api,
            Failure::Transport(_) => Exit::Unreachable,
            Failure::Usage(_) => Exit::Usage,
        }
    }
}

/// A client of one server.
#[derive(Clone)]
pub struct Client {
    base: String,
    key: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str, key: Option<String>) -> Client {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            key: key.filter(|k| !k.is_empty()),
            http: reqwest::Client::new(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `body` (if any) and returns the JSON answer (`Null` for an empty 2xx body).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        namespace: Option<&str>,
    ) -> Result<Value, Failure> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        if let Some(ns) = namespace {
            request = request.header("X-Namespace", ns);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Transport(format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| {
            Failure::Transport(format!("reading the answer from {}: {e}", self.base))
        })?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| {
                Failure::Transport(format!(
                    "{} answered {status} with a body that is not JSON: {}",
                    self.base,
                    text.chars().take(200).collect::<String>()
                ))
            })?
        };
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(Failure::Api { status, body })
        }
    }
}
