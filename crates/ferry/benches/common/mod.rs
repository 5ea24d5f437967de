//! What the benchmarks share.
#![allow(dead_code)] // each bench uses its own part

use ferry_store::{Namespace, Store};
use serde_json::json;

/// `name` from the environment as a number, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A new empty namespace of the organization.
pub async fn namespace(store: &Store, org: &str, name: &str) -> anyhow::Result<Namespace> {
    Ok(store
        .create_namespace(
            org,
            ferry_store::NewNamespace {
                namespace_id: None,
                namespace_name: name.into(),
                description: None,
                namespace_type: "standard".into(),
                mode: "managed".into(),
                feature_extractors: json!([]),
                payload_indexes: json!([]),
                auto_create_indexes: false,
                adaptive_indexing: false,
            },
        )
        .await?)
}

/// Peak resident set size of this process, from the kernel (`VmHWM`), in MB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Object `i`'s text: 20 words of a 16-word vocabulary, different per `i`.
pub fn text(i: usize) -> String {
    const WORDS: [&str; 16] = [
        "namespace",
        "migration",
        "vector",
        "document",
        "extractor",
        "bucket",
        "object",
        "query",
        "retriever",
        "cluster",
        "taxonomy",
        "ferry",
        "copy",
        "index",
        "search",
        "batch",
    ];
    (0..20)
        .map(|k| WORDS[(i * 7 + k * 13 + k * k) % 16])
        .collect::<Vec<_>>()
        .join(" ")
}
