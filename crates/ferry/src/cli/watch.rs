//! `ferry migrations watch`: polls `GET /v1/namespaces/migrations/{id}` until the migration
//! settles and shows its progress — live bars on a terminal (one per stage, plus the overall
//! percentage with the rate and the ETA), a line per change when stdout is not a terminal,
//! JSON lines with `--json` — then the verification summary and the benchmark figures.
//!
//! Ctrl-C stops the watching, not the migration: nothing is sent to the server, the command
//! says how to resume watching, and exits with [`Exit::Interrupted`].

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::Method;
use serde_json::{json, Value};

use super::client::{Client, Failure};
use super::exit::Exit;
use super::render;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Json,
}

impl Mode {
    /// Bars on a terminal; lines when stdout is a pipe or a file; JSON when asked.
    pub fn pick(json: bool) -> Mode {
        if json {
            Mode::Json
        } else if std::io::stdout().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

const SETTLED: [&str; 3] = ["completed", "failed", "cancelled"];

/// Watches migration `id` until it settles (exit by its status) or Ctrl-C (interrupted).
pub async fn watch(
    client: &Client,
    id: &str,
    mode: Mode,
    interval: Duration,
) -> Result<Exit, Failure> {
    let path = format!("/v1/namespaces/migrations/{id}");
    let mut view = View::new(mode);
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    loop {
        let m = tokio::select! {
            m = client.call(Method::GET, &path, None, None) => m?,
            _ = &mut interrupt => return Ok(view.interrupted(id)),
        };
        view.update(&m);
        let status = m["status"].as_str().unwrap_or("");
        if SETTLED.contains(&status) {
            view.finish(&m);
            return Ok(Exit::of_status(status));
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut interrupt => return Ok(view.interrupted(id)),
        }
    }
}

/// Items per second of the batch stage over the last samples.
#[derive(Default)]
struct Rate {
    samples: VecDeque<(Instant, u64)>,
}

impl Rate {
    fn observe(&mut self, items: u64) -> Option<f64> {
        let now = Instant::now();
        self.samples.push_back((now, items));
        while self.samples.len() > 20 {
            self.samples.pop_front();
        }
        let (t0, n0) = *self.samples.front()?;
        let seconds = now.duration_since(t0).as_secs_f64();
        (seconds > 0.0).then(|| items.saturating_sub(n0) as f64 / seconds)
    }
}

struct Bars {
    _multi: MultiProgress,
    overall: ProgressBar,
    stages: Vec<ProgressBar>,
}

struct View {
    mode: Mode,
    bars: Option<Bars>,
    rate: Rate,
    last_line: String,
    hinted_draft: bool,
}

impl View {
    fn new(mode: Mode) -> View {
        View {
            mode,
            bars: None,
            rate: Rate::default(),
            last_line: String::new(),
            hinted_draft: false,
        }
    }

    fn update(&mut self, m: &Value) {
        let progress = &m["progress"];
        let stages = progress["stages"].as_array().cloned().unwrap_or_default();
        let batch = stages
            .iter()
            .find(|s| s["stage"] == "batch_processing")
            .cloned()
            .unwrap_or(Value::Null);
        let done = batch["items_completed"].as_u64().unwrap_or(0);
        let total = batch["items_total"].as_u64().unwrap_or(0);
        let rate = self.rate.observe(done);
        let eta = eta_seconds(progress, rate, total.saturating_sub(done));
        let percent = progress["overall_progress_percent"].as_f64().unwrap_or(0.0);
        let status = m["status"].as_str().unwrap_or("?");
        if status == "draft" && !self.hinted_draft && self.mode != Mode::Json {
            self.hinted_draft = true;
            eprintln!(
                "{} is a draft: nothing runs until `ferry migrations start {}`",
                m["migration_id"].as_str().unwrap_or("?"),
                m["migration_id"].as_str().unwrap_or("ID")
            );
        }
        let pace = format!(
            "{}  {}",
            rate.map_or_else(|| "- items/s".to_owned(), |r| format!("{r:.0} items/s")),
            eta.map_or_else(
                || "ETA -".to_owned(),
                |s| format!("ETA {}", render::duration(s))
            )
        );
        match self.mode {
            Mode::Bars => {
                let bars = self.bars.get_or_insert_with(|| bars(m));
                bars.overall.set_position(percent.floor() as u64);
                bars.overall.set_message(format!("{status}  {pace}"));
                for (bar, s) in bars.stages.iter().zip(&stages) {
                    let (completed, total) = stage_counts(s);
                    bar.set_length(total.max(1));
                    bar.set_position(if s["status"] == "completed" {
                        total.max(1)
                    } else {
                        completed
                    });
                    bar.set_message(stage_message(s));
                }
            }
            Mode::Lines => {
                let line = format!(
                    "{percent:>5.1}%  {status:<11}  {}  {pace}",
                    progress["current_stage"]
                        .as_str()
                        .map(|stage| {
                            let s = stages.iter().find(|s| s["stage"] == stage);
                            s.map_or_else(
                                || stage.to_owned(),
                                |s| format!("{stage} {}", stage_message(s)),
                            )
                        })
                        .unwrap_or_else(|| "-".into())
                );
                // A line only when something but the pace changed, so a slow stage does
                // not fill a log with repeats.
                let key = line.split("  ").take(3).collect::<String>();
                if key != self.last_line {
                    self.last_line = key;
                    println!("{line}");
                }
            }
            Mode::Json => {
                let event = json!({
                    "event": "progress",
                    "migration_id": m["migration_id"],
                    "status": status,
                    "overall_progress_percent": percent,
                    "current_stage": progress["current_stage"],
                    "stages": stages.iter().map(|s| json!({
                        "stage": s["stage"], "status": s["status"],
                        "items_completed": s["items_completed"], "items_total": s["items_total"],
                        "items_failed": s["items_failed"], "progress_percent": s["progress_percent"],
                    })).collect::<Vec<_>>(),
                    "items_per_second": rate,
                    "eta_seconds": eta,
                    "estimated_completion": progress["estimated_completion"],
                });
                let line = event.to_string();
                let key = json!([status, percent, event["stages"]]).to_string();
                if key != self.last_line {
                    self.last_line = key;
                    println!("{line}");
                }
            }
        }
    }

    fn finish(&mut self, m: &Value) {
        match self.mode {
            Mode::Json => println!("{}", json!({"event": "settled", "migration": m})),
            Mode::Bars | Mode::Lines => {
                if let Some(bars) = self.bars.take() {
                    bars.overall.finish();
                    for bar in &bars.stages {
                        bar.finish();
                    }
                }
                println!("{}", render::summary(m));
            }
        }
    }

    fn interrupted(&mut self, id: &str) -> Exit {
        if let Some(bars) = self.bars.take() {
            bars.overall.abandon();
            for bar in &bars.stages {
                bar.abandon();
            }
        }
        match self.mode {
            Mode::Json => println!("{}", json!({"event": "interrupted", "migration_id": id})),
            Mode::Bars | Mode::Lines => {}
        }
        eprintln!(
            "stopped watching; migration {id} keeps running. Watch it again with: \
             ferry migrations watch {id}"
        );
        Exit::Interrupted
    }
}

fn stage_counts(s: &Value) -> (u64, u64) {
    (
        s["items_completed"].as_u64().unwrap_or(0),
        s["items_total"].as_u64().unwrap_or(0),
    )
}

fn stage_message(s: &Value) -> String {
    let (completed, total) = stage_counts(s);
    let failed = s["items_failed"].as_u64().unwrap_or(0);
    format!(
        "{completed}/{total} {}{}",
        s["status"].as_str().unwrap_or("?"),
        if failed > 0 {
            format!(" ({failed} failed)")
        } else {
            String::new()
        }
    )
}

/// Seconds left: the server's `estimated_completion` when it has one, else what the batch
/// stage's observed rate leaves for its remaining items.
fn eta_seconds(progress: &Value, rate: Option<f64>, remaining: u64) -> Option<f64> {
    if let Some(at) = progress["estimated_completion"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    {
        let left = (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
        return Some(left.max(0) as f64 / 1000.0);
    }
    rate.filter(|r| *r > 0.0).map(|r| remaining as f64 / r)
}

fn bars(m: &Value) -> Bars {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
    let overall_style =
        ProgressStyle::with_template("{prefix:<22} [{bar:40.green/white}] {pos:>3}%  {msg}")
            .expect("valid template")
            .progress_chars("=> ");
    let stage_style = ProgressStyle::with_template("  {prefix:<20} [{bar:40.cyan/white}] {msg}")
        .expect("valid template")
        .progress_chars("=> ");
    let overall = multi.add(
        ProgressBar::new(100)
            .with_style(overall_style)
            .with_prefix(m["migration_id"].as_str().unwrap_or("overall").to_owned()),
    );
    let stages = m["progress"]["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            multi.add(
                ProgressBar::new(1)
                    .with_style(stage_style.clone())
                    .with_prefix(s["stage"].as_str().unwrap_or("?").to_owned()),
            )
        })
        .collect();
    Bars {
        _multi: multi,
        overall,
        stages,
    }
}
