//! `aoai bench`: the text / JSONL front end of [`crate::engine::bench`] — requests of a
//! given shape, open loop (`--rate`) or closed loop (`--clients`), reports every
//! `--report-every` and at the end, and the PTU estimate of the measured workload.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use tokio_util::sync::CancellationToken;

use crate::cli::{BenchArgs, BenchOutput, BenchShape};
use crate::domain::num::{fmt_big, fmt_ms_fine as fmt_ms};
use crate::domain::stats::{BenchReport, Percentiles};
use crate::engine::bench::{
    LATE_AFTER, LoadError, LoadPlan, Pacing, PromptTemplate, PtuTarget, measure,
};
use crate::engine::connect::{SIM_DEFAULT_DEPLOYMENT, connect};

/// (prompt tokens, max output tokens) of a shape. Published defaults of Azure's
/// benchmark tool (`Azure/azure-openai-benchmark`, README "Shape profiles" and
/// `benchmark/loadcmd.py`): balanced 500/500, context 2000/200, generation 500/1000;
/// summarization 7000/150 is the README's "Common scenarios" summarization row.
pub fn shape_tokens(shape: BenchShape) -> Option<(u32, u32)> {
    match shape {
        BenchShape::Generation => Some((500, 1000)),
        BenchShape::Balanced => Some((500, 500)),
        BenchShape::Context => Some((2000, 200)),
        BenchShape::Summarization => Some((7000, 150)),
        BenchShape::Small => Some((64, 16)),
        BenchShape::Custom => None,
    }
}

/// The shape's name as the flag and the console's Bench screen spell it.
pub fn shape_name(shape: BenchShape) -> String {
    use clap::ValueEnum;
    shape
        .to_possible_value()
        .map_or_else(|| format!("{shape:?}"), |v| v.get_name().to_string())
}

fn pct_line(name: &str, p: &Percentiles, f: impl Fn(f64) -> String) -> String {
    if p.count == 0 {
        return format!("  {name:<7} —\n");
    }
    format!(
        "  {name:<7} p50 {}  p90 {}  p95 {}  p99 {}  max {}  (n={})\n",
        f(p.p50),
        f(p.p90),
        f(p.p95),
        f(p.p99),
        f(p.max),
        p.count
    )
}

/// The human-readable form of a report.
pub fn format_text(r: &BenchReport) -> String {
    use crate::domain::stats::ReportKind;
    let mut out = String::new();
    let head = match r.kind {
        ReportKind::Interval => format!("[{:>7.1}s]", r.elapsed_s),
        ReportKind::Final => format!("== final after {:.1}s ==", r.elapsed_s),
    };
    out.push_str(&format!(
        "{head} started {} · completed {} · failed {} · throttled {} · dropped {} · late {} · in flight {}\n",
        r.started, r.completed, r.failed, r.throttled, r.dropped, r.late_starts, r.in_flight
    ));
    // Only when a provisioned deployment spilled over: the line stays as it was otherwise.
    if r.spilled > 0 {
        out.push_str(&format!(
            "  spilled {} (served by the spillover deployment)\n",
            r.spilled
        ));
    }
    let util = r.utilization_pct.map_or("—".to_string(), |u| {
        format!("p50 {:.1}% p95 {:.1}% max {:.1}%", u.p50, u.p95, u.max)
    });
    let retry = r
        .retry_after_ms_max
        .map_or("—".to_string(), |v| fmt_ms(v as f64));
    out.push_str(&format!(
        "  rpm {} · input {} TPM · output {} TPM · 429s {} ({:.1} %) · retry-after max {} · utilisation {}\n",
        fmt_big(r.rpm),
        fmt_big(r.input_tpm),
        fmt_big(r.output_tpm),
        r.http_429,
        r.rate_429 * 100.0,
        retry,
        util
    ));
    out.push_str(&pct_line("ttft", &r.ttft_ms, fmt_ms));
    out.push_str(&pct_line("tbt", &r.tbt_ms, fmt_ms));
    out.push_str(&pct_line("e2e", &r.e2e_ms, fmt_ms));
    out.push_str(&pct_line("tok/s", &r.tokens_per_s, |v| format!("{v:.0}")));
    if r.start_lag_ms.p99 > LATE_AFTER.as_secs_f64() * 1000.0 {
        out.push_str(&pct_line("lag", &r.start_lag_ms, fmt_ms));
    }
    if !r.errors.is_empty() {
        let kinds: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out.push_str(&format!("  errors  {}\n", kinds.join(" · ")));
        if let Some(e) = &r.last_error {
            out.push_str(&format!("  last    {e}\n"));
        }
    }
    if let Some(p) = &r.ptu {
        out.push_str(&format!(
            "  shape   {:.0} prompt ({:.0} cached) + {:.0} completion tokens per request at {} RPM\n",
            p.prompt_tokens, p.cached_tokens, p.completion_tokens, fmt_big(p.rpm)
        ));
        out.push_str(&format!(
            "  PTU     {} {} ({:.1} exact; input {} + output {} ×{} = {} weighted TPM ÷ {} per PTU; min {}, step {})\n",
            p.ptu,
            p.deployment_type.as_str(),
            p.ptu_exact,
            fmt_big(p.input_tpm),
            fmt_big(p.output_tpm),
            p.output_weight,
            fmt_big(p.weighted_tpm),
            fmt_big(p.input_tpm_per_ptu),
            p.min,
            p.step
        ));
    } else if let Some(n) = &r.ptu_note {
        out.push_str(&format!("  PTU     — ({n})\n"));
    }
    out
}

fn emit(jsonl: bool, r: &BenchReport) {
    let line = if jsonl {
        serde_json::to_string(r)
            .map(|s| s + "\n")
            .unwrap_or_default()
    } else {
        format_text(r)
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.flush();
}

/// Turns the CLI flags into a plan (validated).
pub fn plan_from_args(args: &BenchArgs, deployment: String) -> anyhow::Result<LoadPlan> {
    let (p, c) = match (
        shape_tokens(args.shape),
        args.context_tokens,
        args.max_tokens,
    ) {
        (_, Some(p), Some(c)) => (p, c),
        (Some((p, c)), cp, cc) => (cp.unwrap_or(p), cc.unwrap_or(c)),
        (None, None, _) => bail!("--shape custom needs --context-tokens (and --max-tokens)"),
        (None, Some(_), None) => bail!("--shape custom needs --max-tokens too"),
    };
    if let Err(e) = crate::domain::params::MAX_TOKENS.check(f64::from(c)) {
        bail!("--max-tokens: {e}");
    }
    let pacing = match (args.rate, args.clients) {
        (Some(r), None) if r.is_finite() && r > 0.0 => Pacing::Rate { rpm: r },
        (Some(r), None) => {
            bail!("--rate must be a positive number of requests per minute, got {r}")
        }
        (None, Some(n)) if n > 0 => Pacing::Clients { n },
        (None, Some(_)) => bail!("--clients must be at least 1"),
        _ => bail!("pass one of --rate RPM or --clients N"),
    };
    if args.connections == Some(0) {
        bail!("--connections must be at least 1");
    }
    if args.max_in_flight == 0 {
        bail!("--max-in-flight must be at least 1");
    }
    Ok(LoadPlan {
        wire_api: None,
        deployment,
        template: Arc::new({
            let mut t = PromptTemplate::new(p, c);
            t.max_tokens_field = crate::engine::connect::max_tokens_field(&args.conn.options())?;
            t
        }),
        pacing,
        duration: args.duration,
        report_every: args.report_every,
        retry: args.retry.clone(),
        max_in_flight: args.max_in_flight,
        connections: args.connections,
        drain: args.drain,
    })
}

/// `aoai bench`. Exit codes: 0 done, 1 the endpoint failed (dead, wrong key or
/// deployment), 130 stopped by Ctrl+C (after the final report).
pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    // Flags first, so a usage error never waits on a connection.
    let mut plan = plan_from_args(&args, String::new())?;
    let mut conn = connect(&args.conn.options_for(args.deployment.as_ref())).await?;
    conn.connect_failover(&args.retry, &args.conn.options())
        .await?;
    plan.deployment = match (&args.deployment, conn.is_sim()) {
        (Some(d), _) => d.clone(),
        (None, true) => SIM_DEFAULT_DEPLOYMENT.to_string(),
        (None, false) => bail!("no deployment: pass --deployment or set AZURE_OPENAI_DEPLOYMENT"),
    };
    let cancel = CancellationToken::new();
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        })
    };
    let jsonl = args.output == BenchOutput::Jsonl;
    let pacing = match plan.pacing {
        Pacing::Rate { rpm } => format!("{rpm} RPM open loop"),
        Pacing::Clients { n } => format!("{n} clients closed loop"),
    };
    eprintln!(
        "aoai bench: {} · {} shape: {} prompt tokens, max {} output tokens ({}) · {pacing} · {:.0}s{}",
        plan.deployment,
        shape_name(args.shape),
        plan.template.prompt_tokens,
        plan.template.max_tokens,
        plan.template.max_tokens_field,
        plan.duration.as_secs_f64(),
        if conn.is_sim() { " · simulator" } else { "" }
    );
    let recorder = match &args.record {
        Some(path) => Some(Arc::new(std::sync::Mutex::new(
            crate::engine::record::Recorder::open(path, None)
                .map_err(|e| anyhow::anyhow!("--record {}: {e}", path.display()))?,
        ))),
        None => None,
    };
    let ptu = PtuTarget {
        model: args.model.clone(),
        kind: args.deployment_type,
    };
    let result = measure(
        &conn.client,
        &plan,
        &cancel,
        recorder.clone(),
        &ptu,
        &mut |r| emit(jsonl, r),
    )
    .await;
    ctrl_c.abort();
    if let Some(r) = &recorder
        && let Ok(r) = r.lock()
    {
        eprintln!(
            "aoai bench: recorded {} to {}",
            crate::domain::num::plural(r.written() as u64, "call", "calls"),
            r.path().display()
        );
    }
    match result {
        Ok(fin) => {
            emit(jsonl, &fin);
            Ok(if cancel.is_cancelled() {
                ExitCode::from(130)
            } else {
                ExitCode::SUCCESS
            })
        }
        // Probe failures (nothing sent yet) included: 130 when Ctrl+C caused it.
        Err(LoadError::Fatal(msg)) if cancel.is_cancelled() => {
            eprintln!("aoai bench: {msg}");
            Ok(ExitCode::from(130))
        }
        Err(LoadError::Fatal(msg)) => {
            eprintln!("aoai bench: {msg}");
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_calls_get_a_line_only_when_there_are_some() {
        let mut r = BenchReport {
            completed: 10,
            ..BenchReport::default()
        };
        assert!(!format_text(&r).contains("spilled"));
        r.spilled = 7;
        let text = format_text(&r);
        assert!(
            text.contains("\n  spilled 7 (served by the spillover deployment)\n"),
            "{text}"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["spilled"], 7);
    }
}
