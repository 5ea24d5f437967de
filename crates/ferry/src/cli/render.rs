//! What the client commands print for people: migrations, lists, validation results with the
//! dependency graph, the end-of-run summary, and errors. Machine output (`--json`) does not
//! come through here; it prints the API's bodies as they are.

use serde_json::Value;

use super::client::Failure;

/// `a.b.0.c` from a `loc` array.
pub fn loc_text(loc: &Value) -> String {
    loc.as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .unwrap_or_default()
}

fn text<'a>(v: &'a Value, or: &'a str) -> &'a str {
    v.as_str().unwrap_or(or)
}

/// One line per validation issue: `error  <code>  <field>: <message>`, errors first. The
/// field is the issue's `loc`, or the resource it concerns when it has no location.
pub fn issue_lines(result: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for (key, severity) in [("errors", "error"), ("warnings", "warning")] {
        for issue in result[key].as_array().into_iter().flatten() {
            let code = issue["error_code"]
                .as_str()
                .or(issue["type"].as_str())
                .unwrap_or("invalid");
            let message = issue["message"]
                .as_str()
                .or(issue["msg"].as_str())
                .unwrap_or("");
            let mut field = loc_text(&issue["loc"]);
            if field.is_empty() {
                if let Some(id) = issue["resource_id"].as_str() {
                    field = format!("{} {id}", text(&issue["resource_type"], "resource"));
                }
            }
            let field = if field.is_empty() {
                "config".into()
            } else {
                field
            };
            lines.push(format!("{severity}  {code}  {field}: {message}"));
        }
    }
    lines
}

/// The answer of `validate`: verdict, issues, graph, estimates.
pub fn validation(answer: &Value) -> String {
    let body = &answer["validation_result"];
    let mut out = Vec::new();
    let errors = body["errors"].as_array().map_or(0, Vec::len);
    let warnings = body["warnings"].as_array().map_or(0, Vec::len);
    if body["valid"] == true {
        out.push(format!(
            "valid: the configuration can run ({warnings} warning(s))"
        ));
    } else {
        out.push(format!("invalid: {errors} error(s), {warnings} warning(s)"));
    }
    out.extend(issue_lines(body));
    out.extend(graph(&answer["dependency_graph"]));
    if let Some(resources) = body["estimated_resources"]
        .as_object()
        .filter(|r| !r.is_empty())
    {
        let counts: Vec<String> = resources
            .iter()
            .map(|(kind, n)| format!("{n} {kind}(s)"))
            .collect();
        out.push(format!("resources: {}", counts.join(", ")));
    }
    if let Some(seconds) = body["estimated_duration_seconds"].as_i64() {
        out.push(format!("estimated duration: {}", duration(seconds as f64)));
    }
    out.join("\n")
}

/// The dependency graph as tiers and the execution order.
pub fn graph(graph: &Value) -> Vec<String> {
    let Some(nodes) = graph["nodes"].as_array().filter(|n| !n.is_empty()) else {
        return Vec::new();
    };
    let mut out = vec!["dependency graph:".to_owned()];
    let top = nodes
        .iter()
        .filter_map(|n| n["tier"].as_u64())
        .max()
        .unwrap_or(0);
    for tier in 0..=top {
        let members: Vec<String> = nodes
            .iter()
            .filter(|n| n["tier"].as_u64() == Some(tier))
            .map(|n| {
                let deps: Vec<&str> = n["dependencies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let kind = text(&n["resource_type"], "resource");
                let id = text(&n["resource_id"], "?");
                if deps.is_empty() {
                    format!("{kind} {id}")
                } else {
                    format!("{kind} {id} (after {})", deps.join(", "))
                }
            })
            .collect();
        out.push(format!("  tier {tier}: {}", members.join("; ")));
    }
    let order: Vec<String> = graph["execution_order"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, id)| format!("{}. {}", i + 1, text(id, "?")))
        .collect();
    out.push(format!("  execution order: {}", order.join("  ")));
    out
}

/// A failure, for a person (stderr).
pub fn failure(failure: &Failure) -> String {
    match failure {
        Failure::Usage(message) | Failure::Transport(message) => format!("error: {message}"),
        Failure::Api { status, body } => {
            let mut out = Vec::new();
            if *status == 422 {
                out.push(format!("error: the request is invalid ({status})"));
                for d in body["detail"].as_array().into_iter().flatten() {
                    out.push(format!(
                        "error  {}  {}: {}",
                        text(&d["type"], "invalid"),
                        loc_text(&d["loc"]),
                        text(&d["msg"], "")
                    ));
                }
                return out.join("\n");
            }
            let error = &body["error"];
            out.push(format!(
                "error: {} ({status} {}{})",
                text(&error["message"], "the server refused the request"),
                text(&error["type"], "Error"),
                error["code"]
                    .as_str()
                    .map(|c| format!(", code {c}"))
                    .unwrap_or_default()
            ));
            out.extend(issue_lines(&error["details"]["validation_result"]));
            out.join("\n")
        }
    }
}

/// A failure as machine output (stdout): the API's body, or an `ErrorResponse`-shaped object
/// for failures that never reached the API.
pub fn failure_json(failure: &Failure) -> Value {
    match failure {
        Failure::Api { body, .. } => body.clone(),
        Failure::Transport(message) => serde_json::json!({"success": false, "status": null,
            "error": {"message": message, "type": "ConnectionError", "code": "unreachable"}}),
        Failure::Usage(message) => serde_json::json!({"success": false, "status": null,
            "error": {"message": message, "type": "UsageError", "code": "usage"}}),
    }
}

/// Seconds as `1h02m`, `3m05s` or `4.2s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s >= 3600.0 {
        format!(
            "{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    } else if s >= 60.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!("{s:.1}s")
    }
}

/// The target namespace a migration wrote to, as well as it is known.
pub fn target_of(m: &Value) -> String {
    let data = &m["additional_data"];
    let config = &m["config"];
    data["target_namespace_name"]
        .as_str()
        .or(config["target_namespace_name"].as_str())
        .or(config["target_namespace_id"].as_str())
        .unwrap_or("(named when it starts)")
        .to_owned()
}

/// One migration in full.
pub fn migration(m: &Value) -> String {
    let progress = &m["progress"];
    let mut out = vec![
        format!("migration  {}", text(&m["migration_id"], "?")),
        format!("type       {}", text(&m["config"]["migration_type"], "?")),
        format!("status     {}", text(&m["status"], "?")),
        format!(
            "source     {}  ->  target {}",
            text(&m["config"]["source_namespace_id"], "?"),
            target_of(m)
        ),
        format!(
            "progress   {:.1}%{}",
            progress["overall_progress_percent"].as_f64().unwrap_or(0.0),
            progress["current_stage"]
                .as_str()
                .map(|s| format!(" (stage {s})"))
                .unwrap_or_default()
        ),
        format!("created    {}", text(&m["created_at"], "-")),
    ];
    if let Some(task) = m["task_id"].as_str() {
        out.push(format!("task       {task}"));
    }
    out.push("stages:".into());
    for s in progress["stages"].as_array().into_iter().flatten() {
        out.push(format!(
            "  {:<22} {:<12} {:>6.1}%  {}/{}{}",
            text(&s["stage"], "?"),
            text(&s["status"], "?"),
            s["progress_percent"].as_f64().unwrap_or(0.0),
            s["items_completed"].as_u64().unwrap_or(0),
            s["items_total"].as_u64().unwrap_or(0),
            match s["items_failed"].as_u64() {
                Some(n) if n > 0 => format!(" ({n} failed)"),
                _ => String::new(),
            }
        ));
    }
    let resources = progress["resources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !resources.is_empty() {
        out.push("resources:".into());
        for r in &resources {
            out.push(format!(
                "  {:<10} {:<28} {:<12} {:>6.1}%",
                text(&r["resource_type"], "?"),
                text(&r["resource_id"], "?"),
                text(&r["status"], "?"),
                r["progress_percent"].as_f64().unwrap_or(0.0)
            ));
        }
    }
    if let Some(e) = m["error_message"].as_str() {
        out.push(format!("error      {e}"));
    }
    if ["completed", "failed", "cancelled"].contains(&text(&m["status"], "")) {
        out.push(summary(m));
    }
    out.join("\n")
}

/// The end of a run: outcome, verification per resource, and the benchmark figures (the
/// engine's retrieval comparison, and the run's own throughput).
pub fn summary(m: &Value) -> String {
    let data = &m["additional_data"];
    let mut out = vec![format!(
        "{} {}: {} -> {}",
        text(&m["migration_id"], "?"),
        text(&m["status"], "?"),
        text(&m["config"]["source_namespace_id"], "?"),
        target_of(m)
    )];
    if let Some(e) = m["error_message"].as_str() {
        out.push(format!("  error: {e}"));
    }
    if let Some(verification) = data["verification"].as_object().filter(|v| !v.is_empty()) {
        out.push("verification:".into());
        for (source, v) in verification {
            let verdict = match v["verified"].as_bool() {
                Some(true) => "ok",
                Some(false) => "MISMATCH",
                None => "counted",
            };
            out.push(format!(
                "  {source} -> {}: selected {}, written {}, failed {}, skipped {}, target holds {}  [{verdict}]",
                text(&v["target_id"], "?"),
                v["selected"], v["written"], v["failed"], v["skipped"], v["target_count"]
            ));
        }
    }
    let items = &data["items"];
    let elapsed = elapsed_seconds(m);
    out.push("benchmark:".into());
    if let (Some(written), Some(seconds)) = (items["written"].as_f64(), elapsed) {
        out.push(format!(
            "  throughput: {written} items in {} ({:.0} items/s)",
            duration(seconds),
            if seconds > 0.0 {
                written / seconds
            } else {
                written
            }
        ));
    }
    let comparisons = data["benchmark"].as_array().cloned().unwrap_or_default();
    if comparisons.is_empty() {
        out.push("  retrieval: no retriever with recorded queries to compare".into());
    }
    for b in comparisons {
        let figure = |key: &str| {
            b[key]
                .as_f64()
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
        };
        out.push(format!(
            "  retriever {} -> {}: {} queries, overlap@{} {}, recall@{} {}, ndcg@{} {}",
            text(&b["retriever_id"], "?"),
            text(&b["target_retriever_id"], "?"),
            b["queries"],
            b["k"],
            figure("overlap_at_k"),
            b["k"],
            figure("recall_at_k"),
            b["k"],
            figure("ndcg_at_k"),
        ));
        for set in b["evaluation_sets"].as_array().into_iter().flatten() {
            let side = |side: &str, key: &str| {
                set[side][key]
                    .as_f64()
                    .map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
            };
            out.push(format!(
                "    evaluation set {}: {} queries, ndcg@{k} {} -> {}, recall@{k} {} -> {}, mrr@{k} {} -> {}; {} wins, {} losses",
                text(&set["evaluation_name"], "?"),
                set["queries"],
                side("source", "ndcg_at_k"),
                side("target", "ndcg_at_k"),
                side("source", "recall_at_k"),
                side("target", "recall_at_k"),
                side("source", "mrr_at_k"),
                side("target", "mrr_at_k"),
                set["wins"],
                set["losses"],
                k = b["k"],
            ));
        }
    }
    out.join("\n")
}

/// Seconds from start to completion, when both are known.
fn elapsed_seconds(m: &Value) -> Option<f64> {
    let at = |key: &str| {
        m[key]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let (start, end) = (at("started_at")?, at("completed_at")?);
    Some((end - start).num_milliseconds() as f64 / 1000.0)
}

/// A list page as a table.
pub fn list(body: &Value) -> String {
    let rows = body["results"].as_array().cloned().unwrap_or_default();
    let mut out = vec![format!(
        "{:<30} {:<11} {:<12} {:>7}  {:<24} CREATED",
        "MIGRATION", "TYPE", "STATUS", "DONE", "SOURCE"
    )];
    for m in &rows {
        out.push(format!(
            "{:<30} {:<11} {:<12} {:>6.1}%  {:<24} {}",
            text(&m["migration_id"], "?"),
            text(&m["config"]["migration_type"], "?"),
            text(&m["status"], "?"),
            m["progress"]["overall_progress_percent"]
                .as_f64()
                .unwrap_or(0.0),
            text(&m["config"]["source_namespace_id"], "?"),
            text(&m["created_at"], "-"),
        ));
    }
    out.push(format!(
        "{} of {} migration(s)",
        rows.len(),
        body["total"].as_u64().unwrap_or(rows.len() as u64)
    ));
    out.join("\n")
}
