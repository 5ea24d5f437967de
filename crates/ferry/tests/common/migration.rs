//! Driving migrations over HTTP: the endpoint root, a JSON POST, and waiting for a run to
//! settle.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::{send, TestServer};

pub const MIGRATIONS: &str = "/v1/namespaces/migrations";

pub async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    send(server.request(Method::POST, path).json(&body)).await
}

/// The migration once it is `completed`, `failed` or `cancelled` (polled for up to 2 min).
pub async fn wait_until_settled(server: &TestServer, id: &str) -> Value {
    for _ in 0..2400 {
        let (status, m) = send(server.request(Method::GET, &format!("{MIGRATIONS}/{id}"))).await;
        assert_eq!(status, 200, "{m}");
        if ["completed", "failed", "cancelled"].contains(&m["status"].as_str().unwrap()) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("migration {id} did not settle");
}
