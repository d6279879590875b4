//! The load generator behind `aoai bench` and the console's Bench screen that measures like Azure's benchmark tool — requests of a
//! given shape, open loop (`--rate`, on schedule whatever the service does) or closed loop
//! (`--clients`) — with every latency measured from the request's *scheduled* start,
//! percentiles from HDR histograms, reports every `--report-every` and at the end, and the
//! PTU estimate of the measured workload.
//!
//! Layout: [`schedule`] (pure open-loop schedule), [`pacer`], [`prompt`] (token-exact
//! prompts), [`run_load`] (the engine; the front ends print or draw its reports).

pub mod pacer;
pub mod prompt;
pub mod schedule;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::azure::{CallSpec, ChatClient};
use crate::domain::call::{CallEvent, CallRecord, ErrorKind, Outcome, WireApi};
use crate::domain::ptu::{DeploymentType, PtuTable, Workload};
use crate::domain::retry::RetryPolicy;
use crate::domain::stats::{BenchReport, Collector, GeneratorCounts, Sample};

pub use prompt::PromptTemplate;
pub use schedule::{LATE_AFTER, OpenLoop};

/// Consecutive connection failures (with no answer in between) that end a run: the
/// endpoint is gone, and waiting longer only hides it.
pub const DEAD_AFTER: u64 = 20;

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
    /// Chat Completions or the Responses API; `None`: the client's.
    pub wire_api: Option<WireApi>,
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
    recorder: Option<Arc<std::sync::Mutex<crate::engine::record::Recorder>>>,
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
        spilled_over: rec.ratelimit.spilled_over,
        error_kind: rec.error.as_ref().map(|e| e.kind.clone()),
        error: rec.error.as_ref().map(|e| e.to_string()),
    }
}

fn spec_for(plan: &LoadPlan, n: u64) -> CallSpec {
    // The budget is in the template's field (max_completion_tokens unless told otherwise:
    // reasoning models reject max_tokens).
    let mut spec = CallSpec::new(plan.deployment.clone(), plan.template.request(n));
    spec.retry = plan.retry.clone();
    spec.wire_api = plan.wire_api;
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
    if crate::engine::telemetry::global().is_some() {
        let wall = std::time::SystemTime::now()
            .checked_sub(ended.saturating_duration_since(started))
            .unwrap_or_else(std::time::SystemTime::now);
        crate::engine::telemetry::bench_call_finished(ctx.client.config(), &spec, &rec, wall);
    }
    let s = sample_of(&rec, scheduled, started, first, ended, gaps);
    let _ = ctx.tx.send(s);
    if let Some(r) = &ctx.recorder {
        let wall = std::time::SystemTime::now()
            .checked_sub(ended.saturating_duration_since(started))
            .unwrap_or_else(std::time::SystemTime::now);
        let call = crate::engine::record::scenario_call(ctx.client.config(), &spec, rec, wall);
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
    recorder: Option<Arc<std::sync::Mutex<crate::engine::record::Recorder>>>,
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
    // The smallest budget each wire API takes: the Responses API refuses a
    // `max_output_tokens` below 16.
    let smallest = match client.wire_api(&spec) {
        WireApi::Chat => 1,
        WireApi::Responses => 16,
    };
    plan.template
        .max_tokens_field
        .apply(&mut spec.request, Some(smallest));
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

/// What the PTU estimate of a run is for: the priced model name (default: the model the
/// service reported, else the deployment) and the deployment type.
#[derive(Debug, Clone, Default)]
pub struct PtuTarget {
    pub model: Option<String>,
    pub kind: DeploymentType,
}

/// A whole measurement: the probe (a fatal first answer ends it before any load), the load
/// with interval reports labelled with the served model, and the final report with the PTU
/// estimate of the measured workload. `recorder` appends every call to a scenario.
pub async fn measure(
    client: &ChatClient,
    plan: &LoadPlan,
    cancel: &CancellationToken,
    recorder: Option<Arc<std::sync::Mutex<crate::engine::record::Recorder>>>,
    ptu: &PtuTarget,
    on_report: &mut (dyn FnMut(&BenchReport) + Send),
) -> Result<BenchReport, LoadError> {
    let served = probe(client, plan, cancel).await?;
    let label = served.clone();
    let mut labelled = |r: &BenchReport| {
        let mut r = r.clone();
        r.model = label.clone();
        on_report(&r)
    };
    let mut fin = run_load_recording(client, plan, cancel, None, recorder, &mut labelled).await?;
    let model = ptu
        .model
        .clone()
        .or_else(|| served.clone())
        .unwrap_or_else(|| plan.deployment.clone());
    fin.model = served;
    add_ptu(
        &mut fin,
        &PtuTable::builtin(),
        &model,
        ptu.kind,
        plan.pacing,
    );
    Ok(fin)
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
