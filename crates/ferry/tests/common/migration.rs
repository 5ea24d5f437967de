//! Driving migrations over HTTP: the endpoint root, a JSON POST, waiting for a run to
//! settle, and a webhook receiver.

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

/// What a [`receiver`] was sent: each request's headers and body, in arrival order.
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>;

/// A webhook receiver in this process: every request's headers and body, in arrival order.
pub async fn receiver() -> (String, Received) {
    let seen: Received = Default::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}
