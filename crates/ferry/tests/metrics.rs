//! `GET /metrics`: Prometheus text that a parser accepts, served without a key, whose counters
//! move as requests, triggers, migrations, extractor calls and webhook deliveries happen, and
//! whose gauges show the store's tasks and migrations by status.
//!
//! The recorder is process-wide and tests of this binary run in parallel, so counters are
//! compared as increases between two scrapes, never as absolute values.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::corpus::seed;
use common::migration::{post, wait_until_settled, MIGRATIONS};
use common::{send, Backend, TestServer};
use reqwest::Method;
use serde_json::json;

/// One sample: metric name and its labels, sorted.
type Series = (String, BTreeMap<String, String>);

/// Parses the text exposition format strictly enough to fail on anything malformed: every
/// sample line is `name{label="value",…} number`, every `# TYPE` names a known type, and each
/// sample's family was declared by a `# TYPE` line before it.
fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line has a type");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels close");
                let mut labels = BTreeMap::new();
                for pair in split_labels(body) {
                    let (k, v) = pair.split_once('=').expect("label is key=value");
                    let v = v
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or_else(|| panic!("label value quoted in {line}"));
                    labels.insert(k.to_owned(), v.to_owned());
                }
                (name.to_owned(), labels)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.contains_key(*f)))
            .unwrap_or(&name);
        assert!(types.contains_key(family), "{name} has no # TYPE line");
        samples.insert((name, labels), value);
    }
    samples
}

/// Splits `a="x",b="y,z"` at the commas outside quotes.
fn split_labels(body: &str) -> Vec<String> {
    let (mut parts, mut current, mut quoted, mut escaped) =
        (Vec::new(), String::new(), false, false);
    for c in body.chars() {
        match c {
            '\\' if quoted && !escaped => escaped = true,
            '"' if !escaped => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => {
                escaped = false;
                current.push(c);
            }
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

async fn scrape(server: &TestServer) -> BTreeMap<Series, f64> {
    let response = server
        .anonymous(Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "no key needed");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse(&response.text().await.unwrap())
}

/// The value of `name` with exactly these labels (0 when absent, as Prometheus reads it).
fn value(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .get(&(name.to_owned(), labels))
        .copied()
        .unwrap_or(0.0)
}

fn increase(
    before: &BTreeMap<Series, f64>,
    after: &BTreeMap<Series, f64>,
    name: &str,
    labels: &[(&str, &str)],
) -> f64 {
    value(after, name, labels) - value(before, name, labels)
}

async fn counters_move_as_work_is_done(backend: Backend) {
    let server = TestServer::start(backend).await;
    let before = scrape(&server).await;

    // Requests: one routed, one that no route matches.
    seed(&server).await;
    let (status, _) = send(server.request(Method::GET, "/v1/no/such/route")).await;
    assert_eq!(status, 404);

    // A copy migration whose webhooks are delivered, and one whose receiver is down.
    let (hook, _listener) = receiver().await;
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    for (name, url) in [("metered", hook), ("unheard", down)] {
        let config = json!({"migration_type": "copy", "source_namespace_id": "data",
                            "target_namespace_name": name, "webhook_url": url});
        let (status, created) = post(
            &server,
            &format!("{MIGRATIONS}/"),
            json!({"config": config, "start_immediately": true}),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        let done = wait_until_settled(&server, created["migration_id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
    // The dead receiver's first retry comes after the engine's webhook backoff.
    let mut after = scrape(&server).await;
    for _ in 0..200 {
        if increase(
            &before,
            &after,
            "ferry_webhook_deliveries_total",
            &[("outcome", "retried")],
        ) >= 1.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = scrape(&server).await;
    }

    let http = |method: &str, route: &str, status: &str| {
        increase(
            &before,
            &after,
            "ferry_http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
    };
    assert!(
        http("POST", "/v1/namespaces", "200") >= 1.0,
        "routes are templates"
    );
    assert!(
        http("GET", "/v1/namespaces/migrations/{migration_id}", "200") >= 2.0,
        "path parameters stay in the template"
    );
    assert!(http("GET", "unmatched", "404") >= 1.0);
    let latency = [
        ("method", "POST"),
        ("route", "/v1/namespaces"),
        ("status", "200"),
    ];
    let count = increase(
        &before,
        &after,
        "ferry_http_request_duration_seconds_count",
        &latency,
    );
    let mut inf = latency.to_vec();
    inf.push(("le", "+Inf"));
    assert!(count >= 1.0);
    assert_eq!(
        increase(
            &before,
            &after,
            "ferry_http_request_duration_seconds_bucket",
            &inf
        ),
        count,
        "a histogram with buckets, whose +Inf bucket holds every sample"
    );

    // The seed's trigger: 18 objects written through the API, 18 documents by a pipeline batch.
    assert!(
        increase(
            &before,
            &after,
            "ferry_objects_written_total",
            &[("kind", "api")]
        ) >= 18.0
    );
    assert!(
        increase(
            &before,
            &after,
            "ferry_batches_total",
            &[("kind", "pipeline"), ("outcome", "committed")]
        ) >= 1.0
    );
    assert!(
        increase(
            &before,
            &after,
            "ferry_documents_written_total",
            &[("kind", "pipeline")]
        ) >= 18.0
    );
    assert!(
        increase(
            &before,
            &after,
            "ferry_batch_duration_seconds_count",
            &[("kind", "pipeline")]
        ) >= 1.0
    );
    assert!(
        increase(
            &before,
            &after,
            "ferry_extractor_calls_total",
            &[
                ("extractor", "text_extractor"),
                ("outcome", "ok"),
                ("version", "v1")
            ]
        ) >= 1.0
    );
    assert!(
        increase(
            &before,
            &after,
            "ferry_extractor_duration_seconds_count",
            &[("extractor", "text_extractor"), ("version", "v1")]
        ) >= 1.0
    );

    // Two copies: each wrote the 18 objects and 18 documents in committed migration batches.
    let migration = [("kind", "migration")];
    assert!(
        increase(
            &before,
            &after,
            "ferry_batches_total",
            &[("kind", "migration"), ("outcome", "committed")]
        ) >= 4.0
    );
    assert!(increase(&before, &after, "ferry_objects_written_total", &migration) >= 36.0);
    assert!(increase(&before, &after, "ferry_documents_written_total", &migration) >= 36.0);
    assert!(
        increase(
            &before,
            &after,
            "ferry_batch_duration_seconds_count",
            &migration
        ) >= 4.0
    );

    // Webhooks: the live receiver got 9 events; the dead one's first attempt was retried.
    assert!(
        increase(
            &before,
            &after,
            "ferry_webhook_deliveries_total",
            &[("outcome", "delivered")]
        ) >= 9.0
    );
    assert!(
        increase(
            &before,
            &after,
            "ferry_webhook_deliveries_total",
            &[("outcome", "retried")]
        ) >= 1.0
    );

    // Gauges read from this server's store at scrape time.
    assert_eq!(
        value(&after, "ferry_migrations", &[("status", "completed")]),
        2.0
    );
    assert_eq!(
        value(&after, "ferry_tasks", &[("status", "COMPLETED")]),
        3.0
    );
    let max = value(&after, "ferry_store_pool_max_connections", &[]);
    assert!(max >= 1.0);
    let in_use = value(
        &after,
        "ferry_store_pool_connections",
        &[("state", "in_use")],
    );
    let idle = value(&after, "ferry_store_pool_connections", &[("state", "idle")]);
    assert!(
        in_use + idle >= 1.0 && in_use + idle <= max,
        "{in_use} + {idle} of {max}"
    );
}

/// A webhook receiver answering 200; the listener lives as long as the returned handle.
async fn receiver() -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, handle)
}

/// The endpoint is Ferry's own: it keeps the error contract for a wrong method, and stays out
/// of `/openapi.json`, which documents the Mixpeek-compatible API.
async fn metrics_is_a_plain_text_extension(backend: Backend) {
    let server = TestServer::start(backend).await;
    let samples = scrape(&server).await;
    assert!(samples
        .keys()
        .any(|(name, _)| name == "ferry_tasks" || name == "ferry_store_pool_max_connections"));
    let (status, body) = send(server.request(Method::POST, "/metrics")).await;
    common::assert_error(
        status,
        &body,
        405,
        "MethodNotAllowedError",
        "method_not_allowed",
    );
    let (_, doc) = send(server.anonymous(Method::GET, "/openapi.json")).await;
    assert!(doc["paths"].get("/metrics").is_none());
}

store_tests!(
    counters_move_as_work_is_done,
    metrics_is_a_plain_text_extension
);
