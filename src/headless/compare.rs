//! `aoai compare FILE`: runs every variant of a variant set K times (bounded concurrency;
//! 429s are honoured by the retry policy inside each call, so a waiting call keeps its
//! slot), then prints per variant the figures, the deltas against the baseline and a
//! word-level diff of each answer against the baseline's (`--format table|json|csv|markdown`).
//! `--record FILE` appends every call to a scenario (`aoai replay FILE --report` reads it).
//!
//! Layout: [`run_set`] (the engine, UI-free, reused by the console), [`format`] (the four
//! output formats), [`run`] (the CLI twin).

pub mod format;

use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::azure::{CallSpec, ChatClient};
use crate::cli::{CompareArgs, CompareFormat};
use crate::connect::connect;
use crate::domain::call::{CallRecord, Outcome};
use crate::domain::compare::{CompareReport, VariantSet, summarize};
use crate::domain::params::MaxTokensField;
use crate::domain::retry::RetryPolicy;

/// Calls at once when neither `--concurrency` nor the file says.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How to run a set.
#[derive(Debug, Clone)]
pub struct Plan {
    pub repeat: u32,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// For variants that name no deployment.
    pub default_deployment: String,
    /// Keep the raw events on the records (for recording).
    pub capture_events: bool,
    /// The body field a variant's `max_tokens` is sent in.
    pub max_tokens_field: MaxTokensField,
}

impl Plan {
    /// Flags over the file over the defaults (1 repeat, 4 at once, `honor`).
    pub fn resolve(
        set: &VariantSet,
        repeat: Option<u32>,
        concurrency: Option<usize>,
        retry: Option<RetryPolicy>,
        deployment: String,
    ) -> Plan {
        Plan {
            repeat: repeat.or(set.repeat).unwrap_or(1).max(1),
            concurrency: concurrency
                .or(set.concurrency)
                .unwrap_or(DEFAULT_CONCURRENCY)
                .max(1),
            retry: retry
                .or_else(|| set.retry.clone())
                .unwrap_or(RetryPolicy::Honor {
                    max_attempts: 3,
                    max_wait_ms: 60_000,
                }),
            default_deployment: deployment,
            capture_events: false,
            max_tokens_field: MaxTokensField::default(),
        }
    }
}

/// One job: variant `variant`, repeat `repeat` (0-based), as call `id`.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: u64,
    pub variant: usize,
    pub repeat: u32,
    pub spec: CallSpec,
}

/// The calls of a run, repeat-major (every variant's first repeat, then the second, …), so
/// variants share the slots and the time of day fairly.
pub fn jobs(set: &VariantSet, plan: &Plan) -> Vec<Job> {
    let mut out = Vec::new();
    for repeat in 0..plan.repeat {
        for (variant, v) in set.variants.iter().enumerate() {
            let mut spec = CallSpec::new(v.deployment_or(&plan.default_deployment), v.request());
            plan.max_tokens_field.normalise(&mut spec.request);
            spec.stream = v.stream;
            spec.retry = plan.retry.clone();
            spec.capture_events = plan.capture_events;
            out.push(Job {
                id: out.len() as u64 + 1,
                variant,
                repeat,
                spec,
            });
        }
    }
    out
}

/// A finished call of a run.
#[derive(Debug)]
pub struct Finished {
    pub job: Job,
    pub record: CallRecord,
    pub started: SystemTime,
}

/// Runs every job, at most `plan.concurrency` at once, and returns each variant's records in
/// repeat order. `on_done` sees each call as it ends (progress, recording). A cancelled run
/// ends the calls in flight as `cancelled` and skips the rest.
pub async fn run_set(
    client: &ChatClient,
    set: &VariantSet,
    plan: &Plan,
    cancel: &CancellationToken,
    mut on_done: impl FnMut(&mut Finished),
) -> Vec<Vec<CallRecord>> {
    let all = jobs(set, plan);
    let mut slots: Vec<Vec<Option<CallRecord>>> =
        vec![vec![None; plan.repeat as usize]; set.variants.len()];
    let mut stream = futures_util::stream::iter(all)
        .map(|job| async move {
            let started = SystemTime::now();
            let record = if cancel.is_cancelled() {
                CallRecord {
                    id: job.id,
                    deployment: job.spec.deployment.clone(),
                    outcome: Outcome::Cancelled,
                    ..Default::default()
                }
            } else {
                client.run(job.id, &job.spec, cancel, &mut |_| {}).await
            };
            Finished {
                job,
                record,
                started,
            }
        })
        .buffer_unordered(plan.concurrency);
    while let Some(mut f) = stream.next().await {
        on_done(&mut f);
        slots[f.job.variant][f.job.repeat as usize] = Some(f.record);
    }
    slots
        .into_iter()
        .map(|v| v.into_iter().flatten().collect())
        .collect()
}

/// Reads and checks a variant-set file; errors carry the path and name the key.
pub fn load(path: &Path) -> anyhow::Result<VariantSet> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    VariantSet::from_toml_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The exit code of a run: 0 every call done, 3 some throttled (none failed), 1 some
/// failed, 130 cancelled.
pub fn exit_code(records: &[Vec<CallRecord>]) -> ExitCode {
    let all = || records.iter().flatten();
    if all().any(|r| r.outcome == Outcome::Cancelled) {
        ExitCode::from(130)
    } else if all().any(|r| r.outcome == Outcome::Failed) {
        ExitCode::from(1)
    } else if all().any(|r| r.outcome == Outcome::Throttled) {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints a report in a format.
pub fn render(report: &CompareReport, plan: &Plan, fmt: CompareFormat, sim: bool) -> String {
    match fmt {
        CompareFormat::Table => format::table(report, plan, sim),
        CompareFormat::Json => format::json(report, plan),
        CompareFormat::Csv => format::csv(report),
        CompareFormat::Markdown => format::markdown(report, plan),
    }
}

pub async fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let set = load(&args.file)?;
    if args.tui {
        return crate::tui::compare::run(args, set).await;
    }
    let fmt = if args.json {
        CompareFormat::Json
    } else {
        args.format
    };
    let conn = connect(&args.conn).await?;
    // Open the scenario first, so a bad file is reported before anything is sent.
    let mut recorder = match &args.record {
        Some(path) => Some(crate::record::Recorder::open(
            path,
            conn.is_sim().then_some("simulator"),
        )?),
        None => None,
    };
    // Needed only by variants that name no deployment.
    let deployment = match conn.deployment(args.deployment.as_ref()) {
        Ok(d) => d,
        Err(_) if set.variants.iter().all(|v| v.deployment.is_some()) => String::new(),
        Err(e) => return Err(e),
    };
    let mut plan = Plan::resolve(
        &set,
        args.repeat,
        args.concurrency,
        args.retry.clone(),
        deployment,
    );
    plan.capture_events = recorder.is_some();
    plan.max_tokens_field = crate::connect::max_tokens_field(&args.conn)?;
    let cancel = CancellationToken::new();
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let cfg = conn.client.config().clone();
    let mut write_error = None;
    let records = run_set(&conn.client, &set, &plan, &cancel, |f| {
        if let Some(rec) = recorder.as_mut() {
            let line = crate::record::scenario_call(&cfg, &f.job.spec, f.record.clone(), f.started);
            if let Err(e) = rec.append(line) {
                write_error.get_or_insert(e);
            }
            f.record.events.clear();
        }
    })
    .await;
    ctrl_c.abort();
    if let Some(e) = write_error {
        return Err(e).context("recording the compare run");
    }
    let report = summarize(&set, &plan.default_deployment, plan.repeat, &records);
    print!("{}", render(&report, &plan, fmt, conn.is_sim()));
    if let Some(rec) = &recorder {
        eprintln!(
            "recorded {} to {}",
            crate::domain::num::plural(rec.written() as u64, "call", "calls"),
            rec.path().display()
        );
    }
    Ok(exit_code(&records))
}
