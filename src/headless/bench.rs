//! `aoai bench`: a load generator that measures like Azure's benchmark tool — requests of a
//! given shape, open loop (`--rate`, on schedule whatever the service does) or closed loop
//! (`--clients`) — with every latency measured from the request's *scheduled* start,
//! percentiles from HDR histograms, reports every `--report-every` and at the end, and the
//! PTU estimate of the measured workload.
//!
//! Layout: [`schedule`] (pure open-loop schedule), [`prompt`] (token-exact prompts),
//! [`run_load`] (the engine, UI-free, reusable by the console and the benchmark), [`run`]
//! (the CLI twin: text or JSONL on stdout).

pub mod pacer;
pub mod prompt;
pub mod schedule;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::azure::{CallSpec, ChatClient};
use crate::cli::{BenchArgs, BenchOutput, BenchShape};
use crate::connect::{SIM_DEFAULT_DEPLOYMENT, connect};
use crate::domain::call::{CallEvent, CallRecord, ErrorKind, Outcome};
use crate::domain::ptu::{DeploymentType, PtuTable, Workload};
use crate::domain::retry::RetryPolicy;
use crate::domain::stats::{BenchReport, Collector, GeneratorCounts, Percentiles, Sample};

pub use prompt::PromptTemplate;
pub use schedule::{LATE_AFTER, OpenLoop};

/// Consecutive connection failures (with no answer in between) that end a run: the
/// endpoint is gone, and waiting longer only hides it.
pub const DEAD_AFTER: u64 = 20;

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

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Open loop: this many starts per minute, on schedule.
    Rate { rpm: f64 },
    /// Closed loop: this many clients, back to back.
    Clients { n: usize },
}

/// Everything the engine needs; independent of the CLI.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub deployment: String,
    pub template: Arc<PromptTemplate>,
    pub pacing: Pacing,
    pub duration: Duration,
    pub report_every: Duration,
    pub retry: RetryPolicy,
    pub max_in_flight: u64,
    /// Most requests on the wire at once (so at most this many HTTP/1 connections); a start
    /// that finds them all busy waits for one, and the wait counts in its latency. `None`:
    /// no limit (a connection per concurrent request).
    pub connections: Option<usize>,
    pub drain: Duration,
}

/// What one request reports to an optional observer (the benchmark uses it to compare the
/// client's first-token instant with the simulator's write instant).
#[derive(Debug, Clone)]
pub struct Trace {
    pub n: u64,
    pub scheduled: Instant,
    pub started: Instant,
    /// When the first content delta was handed to us.
    pub first_token_at: Option<Instant>,
    pub request_id: Option<String>,
    pub outcome: Outcome,
}

pub type TraceFn = Arc<dyn Fn(&Trace) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Fatal(String),
}

#[derive(Default)]
struct Counters {
    started: AtomicU64,
    dropped: AtomicU64,
    late: AtomicU64,
    in_flight: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> GeneratorCounts {
        GeneratorCounts {
            started: self.started.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
        }
    }
}

struct Ctx {
    client: ChatClient,
    plan: LoadPlan,
    counters: Arc<Counters>,
    /// Cancels calls in flight (Ctrl+C, end of drain, dead endpoint).
    stop: CancellationToken,
    tx: mpsc::UnboundedSender<Sample>,
    trace: Option<TraceFn>,
    recorder: Option<Arc<std::sync::Mutex<crate::record::Recorder>>>,
    connections: Option<Arc<tokio::sync::Semaphore>>,
}

/// Turns a finished call into a sample; times from the scheduled start.
pub fn sample_of(
    rec: &CallRecord,
    scheduled: Instant,
    started: Instant,
    first: Option<Instant>,
    ended: Instant,
    tbt_us: Vec<u32>,
) -> Sample {
    let usage = rec.usage.unwrap_or_default();
    Sample {
        outcome: rec.outcome,
        start_lag: started.saturating_duration_since(scheduled),
        ttft: first.map(|f| f.saturating_duration_since(scheduled)),
        e2e: ended.saturating_duration_since(scheduled),
        tbt_us,
        tokens_per_s: rec.timing.tokens_per_s,
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cached_tokens: usage.cached_tokens,
        attempts: rec.attempts.len() as u32,
        http_429: rec
            .attempts
            .iter()
            .filter(|a| a.status == Some(429))
            .count() as u32,
        retry_after_ms: rec.attempts.iter().filter_map(|a| a.retry_after_ms).max(),
        utilization_pct: rec.ratelimit.utilization_pct,
        error_kind: rec.error.as_ref().map(|e| e.kind.clone()),
        error: rec.error.as_ref().map(|e| e.to_string()),
    }
}

fn spec_for(plan: &LoadPlan, n: u64) -> CallSpec {
    // The budget is in the template's field (max_completion_tokens unless told otherwise:
    // reasoning models reject max_tokens).
    let mut spec = CallSpec::new(plan.deployment.clone(), plan.template.request(n));
    spec.retry = plan.retry.clone();
    // Deltas are only timed here; their text stays on the record.
    spec.delta_text = false;
    spec
}

/// Runs request `n`, scheduled at `scheduled`, and sends its sample.
async fn one(ctx: &Ctx, n: u64, scheduled: Instant) {
    let spec = spec_for(&ctx.plan, n);
    let _conn = match &ctx.connections {
        Some(sem) => match sem.acquire().await {
            Ok(p) => Some(p),
            Err(_) => return,
        },
        None => None,
    };
    let started = Instant::now();
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    let mut gaps: Vec<u32> = Vec::new();
    let mut on_event = |ev: CallEvent| {
        if let CallEvent::Delta(_) = ev {
            let now = Instant::now();
            match last {
                Some(prev) => gaps.push(
                    now.saturating_duration_since(prev)
                        .as_micros()
                        .min(u32::MAX as u128) as u32,
                ),
                None => first = Some(now),
            }
            last = Some(now);
        }
    };
    let rec = ctx.client.run(n, &spec, &ctx.stop, &mut on_event).await;
    let ended = Instant::now();
    if let Some(t) = &ctx.trace {
        t(&Trace {
            n,
            scheduled,
            started,
            first_token_at: first,
            request_id: rec.request_id.clone(),
            outcome: rec.outcome,
        });
    }
    let s = sample_of(&rec, scheduled, started, first, ended, gaps);
    let _ = ctx.tx.send(s);
    if let Some(r) = &ctx.recorder {
        let wall = std::time::SystemTime::now()
            .checked_sub(ended.saturating_duration_since(started))
            .unwrap_or_else(std::time::SystemTime::now);
        let call = crate::record::scenario_call(ctx.client.config(), &spec, rec, wall);
        if let Ok(mut r) = r.lock() {
            // A full disk must not stop the load; the count written is reported at the end.
            let _ = r.append(call);
        }
    }
}

async fn open_loop(ctx: Arc<Ctx>, rpm: f64, t0: tokio::time::Instant, cancel: CancellationToken) {
    let mut sched = OpenLoop::new(rpm, ctx.plan.duration);
    // Sub-millisecond wake-ups: each slot starts at its own time, not in 1 ms bursts.
    let pacer = pacer::Pacer::new(Duration::from_secs_f64(60.0 / rpm));
    let t0_std = t0.into_std();
    while let Some(next) = sched.next_due() {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            _ = pacer.sleep_until(t0 + next) => {}
        }
        let now = t0_std.elapsed();
        let c = &ctx.counters;
        let tick = sched.tick(
            now,
            c.in_flight.load(Ordering::Relaxed),
            ctx.plan.max_in_flight,
        );
        c.dropped.fetch_add(tick.dropped, Ordering::Relaxed);
        c.late.fetch_add(tick.late, Ordering::Relaxed);
        for slot in tick.start {
            c.started.fetch_add(1, Ordering::Relaxed);
            c.in_flight.fetch_add(1, Ordering::Relaxed);
            let ctx = ctx.clone();
            tokio::spawn(async move {
                one(&ctx, slot.n, t0_std + slot.at).await;
                ctx.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }
}

async fn closed_loop(ctx: Arc<Ctx>, clients: usize, t0: Instant, cancel: CancellationToken) {
    let next_n = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::with_capacity(clients);
    for _ in 0..clients {
        let ctx = ctx.clone();
        let cancel = cancel.clone();
        let next_n = next_n.clone();
        workers.push(tokio::spawn(async move {
            while !cancel.is_cancelled() && t0.elapsed() < ctx.plan.duration {
                let n = next_n.fetch_add(1, Ordering::Relaxed);
                ctx.counters.started.fetch_add(1, Ordering::Relaxed);
                ctx.counters.in_flight.fetch_add(1, Ordering::Relaxed);
                one(&ctx, n, Instant::now()).await;
                ctx.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
}

/// Waits (bounded by `drain`) for the calls still running after the schedule ended, then
/// cancels the rest.
async fn drain(ctx: &Ctx) {
    let deadline = tokio::time::Instant::now() + ctx.plan.drain;
    while ctx.counters.in_flight.load(Ordering::Relaxed) > 0
        && tokio::time::Instant::now() < deadline
        && !ctx.stop.is_cancelled()
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ctx.stop.cancel();
}

/// Runs the load described by `plan`, calling `on_report` every `report_every` and
/// returning the final report. `cancel` (Ctrl+C) stops the schedule and cancels calls in
/// flight; the final report is still made. A dead endpoint ends the run with
/// [`LoadError::Fatal`] after its final report has been passed to `on_report`.
pub async fn run_load(
    client: &ChatClient,
    plan: &LoadPlan,
    cancel: &CancellationToken,
    trace: Option<TraceFn>,
    on_report: &mut (dyn FnMut(&BenchReport) + Send),
) -> Result<BenchReport, LoadError> {
    run_load_recording(client, plan, cancel, trace, None, on_report).await
}

/// [`run_load`], also appending every call to a scenario file (`--record`).
pub async fn run_load_recording(
    client: &ChatClient,
    plan: &LoadPlan,
    cancel: &CancellationToken,
    trace: Option<TraceFn>,
    recorder: Option<Arc<std::sync::Mutex<crate::record::Recorder>>>,
    on_report: &mut (dyn FnMut(&BenchReport) + Send),
) -> Result<BenchReport, LoadError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Sample>();
    let stop = cancel.child_token();
    let counters = Arc::new(Counters::default());
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        plan: plan.clone(),
        counters: counters.clone(),
        stop: stop.clone(),
        tx,
        trace,
        recorder,
        connections: plan
            .connections
            .map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1)))),
    });
    let t0 = tokio::time::Instant::now();
    let t0_std = t0.into_std();
    // The schedule stops on Ctrl+C (`cancel`) or on a dead endpoint (`stop`).
    let gen_cancel = stop.clone();
    let generator = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            match ctx.plan.pacing {
                Pacing::Rate { rpm } => open_loop(ctx.clone(), rpm, t0, gen_cancel).await,
                Pacing::Clients { n } => closed_loop(ctx.clone(), n, t0_std, gen_cancel).await,
            }
            drain(&ctx).await;
        })
    };
    // Only the generator and request tasks hold senders from here on: the channel closes
    // when the last of them ends.
    drop(ctx);

    let mut collector = Collector::new();
    let mut ticker = tokio::time::interval_at(
        t0 + plan.report_every,
        plan.report_every.max(Duration::from_millis(10)),
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf: Vec<Sample> = Vec::with_capacity(256);
    let mut connect_streak = 0u64;
    let mut fatal: Option<String> = None;
    let mut generator = Some(generator);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut buf, 256) => {
                if n == 0 {
                    break;
                }
                for s in buf.drain(..) {
                    match (&s.outcome, &s.error_kind) {
                        (Outcome::Done, _) => connect_streak = 0,
                        (_, Some(ErrorKind::Connect)) => connect_streak += 1,
                        _ => {}
                    }
                    if connect_streak >= DEAD_AFTER && fatal.is_none() {
                        fatal = Some(format!(
                            "the endpoint stopped answering: {connect_streak} connections in a row failed ({})",
                            s.error.as_deref().unwrap_or("connection failed")
                        ));
                        stop.cancel();
                    }
                    collector.record(&s);
                }
            }
            _ = ticker.tick() => {
                let r = collector.interval(t0_std.elapsed(), counters.snapshot());
                on_report(&r);
            }
        }
        // The generator ends first; then the channel drains and closes.
        if generator.as_ref().is_some_and(|g| g.is_finished()) {
            generator = None;
        }
    }
    if let Some(g) = generator {
        let _ = g.await;
    }
    let fin = collector.finish(t0_std.elapsed(), counters.snapshot());
    match fatal {
        Some(msg) => {
            on_report(&fin);
            Err(LoadError::Fatal(msg))
        }
        None => Ok(fin),
    }
}

/// One small call before the load: proves the endpoint answers (a dead endpoint, a wrong
/// key or deployment end the run here with the service's own words) and learns the model.
pub async fn probe(
    client: &ChatClient,
    plan: &LoadPlan,
    cancel: &CancellationToken,
) -> Result<Option<String>, LoadError> {
    let mut spec = spec_for(plan, u64::MAX / 3);
    plan.template
        .max_tokens_field
        .apply(&mut spec.request, Some(1));
    spec.retry = RetryPolicy::None;
    let rec = client.run(0, &spec, cancel, &mut |_| {}).await;
    match (&rec.outcome, &rec.error) {
        (Outcome::Done, _) | (Outcome::Throttled, _) => Ok(rec.model),
        (Outcome::Cancelled, _) => Err(LoadError::Fatal("cancelled".into())),
        (_, Some(e)) => {
            let url = client.config().endpoint.host().to_string();
            Err(LoadError::Fatal(format!(
                "the first request to {} ({url}) failed: {e}",
                plan.deployment
            )))
        }
        (_, None) => Ok(rec.model),
    }
}

/// Adds the PTU estimate to a final report. Open loop: the offered rate (what the workload
/// asks for, even when the service throttled part of it); closed loop: the measured rate.
pub fn add_ptu(
    report: &mut BenchReport,
    table: &PtuTable,
    model: &str,
    kind: DeploymentType,
    pacing: Pacing,
) {
    if report.completed == 0 {
        report.ptu_note = Some("no completed request: the workload shape is unknown".into());
        return;
    }
    let rpm = match pacing {
        Pacing::Rate { rpm } => rpm,
        Pacing::Clients { .. } => report.rpm,
    };
    let w = Workload {
        prompt_tokens: report.avg_prompt_tokens,
        completion_tokens: report.avg_completion_tokens,
        cached_tokens: report.avg_cached_tokens,
        rpm,
    };
    match table.estimate(model, kind, &w) {
        Ok(e) => report.ptu = Some(e),
        Err(e) => report.ptu_note = Some(e.to_string()),
    }
}

fn fmt_ms(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.1}s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0}ms")
    } else if ms >= 1.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.3}ms")
    }
}

fn fmt_big(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
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
        deployment,
        template: Arc::new({
            let mut t = PromptTemplate::new(p, c);
            t.max_tokens_field = crate::connect::max_tokens_field(&args.conn)?;
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
    let conn = connect(&args.conn).await?;
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
    let model = match probe(&conn.client, &plan, &cancel).await {
        Ok(m) => m,
        Err(LoadError::Fatal(msg)) => {
            ctrl_c.abort();
            eprintln!("aoai bench: {msg}");
            return Ok(ExitCode::from(if cancel.is_cancelled() { 130 } else { 1 }));
        }
    };
    let print = move |r: &BenchReport| emit(jsonl, r);
    let table = PtuTable::builtin();
    let ptu_model = args
        .model
        .clone()
        .or(model.clone())
        .unwrap_or_else(|| plan.deployment.clone());
    let recorder = match &args.record {
        Some(path) => Some(Arc::new(std::sync::Mutex::new(
            crate::record::Recorder::open(path, None)
                .map_err(|e| anyhow::anyhow!("--record {}: {e}", path.display()))?,
        ))),
        None => None,
    };
    let result = run_load_recording(
        &conn.client,
        &plan,
        &cancel,
        None,
        recorder.clone(),
        &mut |r| {
            let mut r = r.clone();
            r.model = model.clone();
            print(&r)
        },
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
        Ok(mut fin) => {
            fin.model = model.clone();
            add_ptu(
                &mut fin,
                &table,
                &ptu_model,
                args.deployment_type,
                plan.pacing,
            );
            print(&fin);
            Ok(if cancel.is_cancelled() {
                ExitCode::from(130)
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(LoadError::Fatal(msg)) => {
            eprintln!("aoai bench: {msg}");
            Ok(ExitCode::from(1))
        }
    }
}
