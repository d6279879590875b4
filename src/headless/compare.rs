//! `aoai compare FILE`: runs every variant of a variant set K times (bounded concurrency;
//! 429s are honoured by the retry policy inside each call, so a waiting call keeps its
//! slot), then prints per variant the figures, the deltas against the baseline and a
//! word-level diff of each answer against the baseline's (`--format table|json|csv|markdown`).
//! `--record FILE` appends every call to a scenario (`aoai replay FILE --report` reads it).
//!
//! A set with cases, assertions or judges is also evaluated (`engine::evaluate`): pass rate
//! and judge scores per variant, failures per assertion, `--fail-under RATE` for CI and
//! `--format junit`.
//!
//! Layout: [`crate::engine::compare`] (the runner, shared with the console), [`format`]
//! (the table, JSON, CSV and Markdown formats), [`eval_format`] (the evaluation's tables and
//! JUnit XML), [`run`] (this front end).

pub mod eval_format;
pub mod format;

use std::process::ExitCode;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::{CompareArgs, CompareFormat};
use crate::domain::call::{CallRecord, Outcome};
use crate::domain::compare::{CompareReport, summarize};
use crate::engine::compare::{Plan, load, run_set, sim_config};
use crate::engine::connect::connect;
use crate::engine::evaluate::evaluate;

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
        CompareFormat::Junit => eval_format::junit(report),
    }
}

/// Exit code 4: some variant's pass rate is below `--fail-under`.
pub const EXIT_FAIL_UNDER: u8 = 4;

/// The variants whose pass rate is below `rate`: (name, pass rate).
pub fn below(report: &CompareReport, rate: f64) -> Vec<(String, f64)> {
    report
        .variants
        .iter()
        .filter_map(|r| r.eval.as_ref().map(|e| (r, e)))
        .filter(|(_, e)| e.pass_rate < rate)
        .map(|(r, e)| (r.name.clone(), e.pass_rate))
        .collect()
}

pub async fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let set = load(&args.file)?;
    let fmt = if args.json {
        CompareFormat::Json
    } else {
        args.format
    };
    if args.fail_under.is_some() && !set.evaluates() {
        anyhow::bail!(
            "--fail-under: {} has no assertions or judge to pass (docs/compare.md, Assertions)",
            args.file.display()
        );
    }
    let mut opts = args.conn.options_for(args.deployment.as_ref());
    opts.sim_config = sim_config(&args.file, &set)?;
    let mut conn = connect(&opts).await?;
    if let Some(retry) = &args.retry {
        conn.connect_failover(retry, &args.conn.options()).await?;
    }
    // Open the scenario first, so a bad file is reported before anything is sent.
    let mut recorder = match &args.record {
        Some(path) => Some(crate::engine::record::Recorder::open(
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
    plan.max_tokens_field = crate::engine::connect::max_tokens_field(&args.conn.options())?;
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
            let line = crate::engine::record::scenario_call(
                &cfg,
                &f.job.spec,
                f.record.clone(),
                f.started,
            );
            if let Err(e) = rec.append(line) {
                write_error.get_or_insert(e);
            }
            f.record.events.clear();
        }
    })
    .await;
    let evaluation = evaluate(&conn.client, &set, &plan, &records, &cancel).await;
    ctrl_c.abort();
    if let Some(e) = write_error {
        return Err(e).context("recording the compare run");
    }
    let mut report = summarize(&set, &plan.default_deployment, plan.repeat, &records);
    if set.evaluates() || fmt == CompareFormat::Junit {
        evaluation.attach(&set, &mut report);
    }
    print!("{}", render(&report, &plan, fmt, conn.is_sim()));
    if let Some(rec) = &recorder {
        eprintln!(
            "recorded {} to {}",
            crate::domain::num::plural(rec.written() as u64, "call", "calls"),
            rec.path().display()
        );
    }
    let code = exit_code(&records);
    if let Some(rate) = args.fail_under {
        let low = below(&report, rate);
        if !low.is_empty() {
            for (name, r) in &low {
                eprintln!(
                    "aoai: {name}: pass rate {:.1}% is below --fail-under {:.1}%",
                    r * 100.0,
                    rate * 100.0
                );
            }
            // A cancelled run keeps 130; otherwise the quality gate speaks.
            if !records
                .iter()
                .flatten()
                .any(|r| r.outcome == Outcome::Cancelled)
            {
                return Ok(ExitCode::from(EXIT_FAIL_UNDER));
            }
        }
    }
    Ok(code)
}
