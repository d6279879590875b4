//! Load-test statistics: HDR histograms of latencies (µs resolution, 3 significant digits),
//! per-request samples folded into a run total and a rolling window, and the report one
//! window (or the whole run) turns into. Pure: no clock of its own — callers pass elapsed
//! times in, so tests drive it with made-up figures.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::call::{ErrorKind, Outcome};
use super::ptu::PtuEstimate;

/// Longest latency a histogram keeps exactly (longer ones saturate to it): one hour, in µs.
const MAX_US: u64 = 3_600_000_000;

/// p50/p90/p95/p99/max of a distribution, in the histogram's unit as reported (ms for
/// latencies, tokens/s for throughput, % for utilisation).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// An HDR histogram of values in integer units, reported divided by `scale`.
#[derive(Debug, Clone)]
pub struct Hist {
    h: Histogram<u64>,
    scale: f64,
}

impl Hist {
    /// Latencies recorded in µs and reported in ms.
    pub fn latency() -> Self {
        Hist {
            h: Histogram::new_with_bounds(1, MAX_US, 3).expect("static histogram bounds"),
            scale: 1000.0,
        }
    }

    /// Plain values (tokens/s; utilisation in 0.1 % steps with `scale` 10).
    pub fn values(scale: f64) -> Self {
        let mut h = Histogram::new(3).expect("static histogram precision");
        h.auto(true);
        Hist { h, scale }
    }

    pub fn record(&mut self, v: u64) {
        self.h.saturating_record(v);
    }

    pub fn record_duration(&mut self, d: Duration) {
        self.record(d.as_micros().min(MAX_US as u128) as u64);
    }

    pub fn len(&self) -> u64 {
        self.h.len()
    }

    pub fn is_empty(&self) -> bool {
        self.h.is_empty()
    }

    pub fn add(&mut self, other: &Hist) {
        // Same bounds on both sides (or auto-resizing), so this cannot fail.
        let _ = self.h.add(&other.h);
    }

    pub fn reset(&mut self) {
        self.h.reset();
    }

    pub fn percentiles(&self) -> Percentiles {
        if self.h.is_empty() {
            return Percentiles::default();
        }
        let q = |p: f64| self.h.value_at_quantile(p) as f64 / self.scale;
        Percentiles {
            count: self.h.len(),
            mean: self.h.mean() / self.scale,
            p50: q(0.50),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
            max: self.h.max() as f64 / self.scale,
        }
    }
}

/// What one finished request contributes. Times are measured from the request's
/// *scheduled* start (so a generator that falls behind shows it in the latencies rather than
/// hiding it: no coordinated omission).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    pub outcome: Outcome,
    /// When the request actually started, after its scheduled time.
    pub start_lag: Duration,
    /// Scheduled start → first content token.
    pub ttft: Option<Duration>,
    /// Scheduled start → end of the response (or failure).
    pub e2e: Duration,
    /// Gaps between consecutive content deltas, µs.
    pub tbt_us: Vec<u32>,
    pub tokens_per_s: Option<f64>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    /// HTTP attempts made and how many were answered 429.
    pub attempts: u32,
    pub http_429: u32,
    /// Largest retry-after the service sent on this request's attempts.
    pub retry_after_ms: Option<u64>,
    pub utilization_pct: Option<f64>,
    /// Served by the spillover deployment of a provisioned one (`x-ms-is-spilled-over`).
    pub spilled_over: bool,
    pub error_kind: Option<ErrorKind>,
    /// The error message, formatted (kept for the last error shown in reports).
    pub error: Option<String>,
}

/// Figures over one span (a report window or the whole run).
#[derive(Debug, Clone)]
pub struct Span {
    pub done: u64,
    pub failed: u64,
    pub throttled: u64,
    pub cancelled: u64,
    /// Calls a provisioned deployment passed to its spillover deployment.
    pub spilled: u64,
    pub attempts: u64,
    pub http_429: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub retry_after_ms_max: Option<u64>,
    pub ttft: Hist,
    pub tbt: Hist,
    pub e2e: Hist,
    pub start_lag: Hist,
    pub tokens_per_s: Hist,
    pub utilization: Hist,
}

impl Default for Span {
    fn default() -> Self {
        Span {
            done: 0,
            failed: 0,
            throttled: 0,
            cancelled: 0,
            spilled: 0,
            attempts: 0,
            http_429: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            cached_tokens: 0,
            retry_after_ms_max: None,
            ttft: Hist::latency(),
            tbt: Hist::latency(),
            e2e: Hist::latency(),
            start_lag: Hist::latency(),
            tokens_per_s: Hist::values(1.0),
            utilization: Hist::values(10.0),
        }
    }
}

impl Span {
    pub fn finished(&self) -> u64 {
        self.done + self.failed + self.throttled + self.cancelled
    }

    pub fn record(&mut self, s: &Sample) {
        match s.outcome {
            Outcome::Done => self.done += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Throttled => self.throttled += 1,
            Outcome::Cancelled => self.cancelled += 1,
        }
        self.attempts += u64::from(s.attempts);
        self.http_429 += u64::from(s.http_429);
        self.spilled += u64::from(s.spilled_over);
        if let Some(r) = s.retry_after_ms {
            self.retry_after_ms_max = Some(self.retry_after_ms_max.map_or(r, |m| m.max(r)));
        }
        self.start_lag.record_duration(s.start_lag);
        if s.outcome == Outcome::Done {
            // Latency and token figures describe answered requests only.
            self.prompt_tokens += s.prompt_tokens;
            self.completion_tokens += s.completion_tokens;
            self.cached_tokens += s.cached_tokens;
            if let Some(t) = s.ttft {
                self.ttft.record_duration(t);
            }
            self.e2e.record_duration(s.e2e);
            for &g in &s.tbt_us {
                self.tbt.record(u64::from(g).max(1));
            }
            if let Some(tps) = s.tokens_per_s.filter(|v| v.is_finite() && *v >= 0.0) {
                self.tokens_per_s.record(tps.round() as u64);
            }
        }
        if let Some(u) = s.utilization_pct.filter(|v| v.is_finite() && *v >= 0.0) {
            self.utilization.record((u * 10.0).round() as u64);
        }
    }

    pub fn add(&mut self, o: &Span) {
        self.done += o.done;
        self.failed += o.failed;
        self.throttled += o.throttled;
        self.cancelled += o.cancelled;
        self.spilled += o.spilled;
        self.attempts += o.attempts;
        self.http_429 += o.http_429;
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.cached_tokens += o.cached_tokens;
        self.retry_after_ms_max = match (self.retry_after_ms_max, o.retry_after_ms_max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.ttft.add(&o.ttft);
        self.tbt.add(&o.tbt);
        self.e2e.add(&o.e2e);
        self.start_lag.add(&o.start_lag);
        self.tokens_per_s.add(&o.tokens_per_s);
        self.utilization.add(&o.utilization);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Every `--report-every`: rates and percentiles over the last window.
    #[default]
    Interval,
    /// At the end: rates and percentiles over the whole run.
    Final,
}

/// Generator-side counters, cumulative since the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GeneratorCounts {
    /// Requests sent.
    pub started: u64,
    /// Scheduled starts skipped because `max_in_flight` requests were already running.
    pub dropped: u64,
    /// Requests that started more than the lateness threshold after their scheduled time.
    pub late: u64,
    pub in_flight: u64,
}

/// One report line: what `--output jsonl` prints and the console's bench view draws.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BenchReport {
    pub kind: ReportKind,
    /// Seconds since the load started.
    pub elapsed_s: f64,
    /// Seconds the rates and percentiles below cover.
    pub span_s: f64,
    // Cumulative counts since the start.
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
    pub throttled: u64,
    pub cancelled: u64,
    /// Calls served by the spillover deployment (`x-ms-is-spilled-over: true`), cumulative.
    #[serde(default)]
    pub spilled: u64,
    pub dropped: u64,
    pub late_starts: u64,
    pub in_flight: u64,
    // Over the span.
    /// Requests that ended in the span (any outcome).
    pub finished: u64,
    /// Completed (answered) requests per minute.
    pub rpm: f64,
    pub input_tpm: f64,
    pub output_tpm: f64,
    pub ttft_ms: Percentiles,
    pub tbt_ms: Percentiles,
    pub e2e_ms: Percentiles,
    /// Actual start − scheduled start.
    pub start_lag_ms: Percentiles,
    /// Per request: completion tokens ÷ (last − first content token).
    pub tokens_per_s: Percentiles,
    /// HTTP responses with status 429 (every attempt, retried or not).
    pub http_429: u64,
    /// 429 responses ÷ all HTTP attempts.
    pub rate_429: f64,
    pub retry_after_ms_max: Option<u64>,
    /// `azure-openai-deployment-utilization`, when the service sent it.
    pub utilization_pct: Option<Percentiles>,
    pub avg_prompt_tokens: f64,
    pub avg_completion_tokens: f64,
    pub avg_cached_tokens: f64,
    /// Errors by kind, cumulative.
    pub errors: BTreeMap<String, u64>,
    pub last_error: Option<String>,
    /// Model version the service reported.
    pub model: Option<String>,
    /// Final report only: PTUs for the measured shape and rate.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ptu: Option<PtuEstimate>,
    /// Final report only: why no PTU estimate could be made.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ptu_note: Option<String>,
}

/// The error kind's short name (`connect`, `timeout`, …), as reports and telemetry show it.
pub fn kind_name(k: &ErrorKind) -> &'static str {
    match k {
        ErrorKind::Http => "http",
        ErrorKind::Throttled => "throttled",
        ErrorKind::Connect => "connect",
        ErrorKind::Timeout => "timeout",
        ErrorKind::MalformedSse => "malformed_sse",
        ErrorKind::Truncated => "truncated",
        ErrorKind::StreamError => "stream_error",
        ErrorKind::Cancelled => "cancelled",
        ErrorKind::BadBody => "bad_body",
    }
}

/// Folds samples into the current window and the run total.
#[derive(Debug, Clone, Default)]
pub struct Collector {
    pub total: Span,
    pub window: Span,
    errors: BTreeMap<String, u64>,
    last_error: Option<String>,
    /// Elapsed time of the previous report.
    last_report_s: f64,
}

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&mut self, s: &Sample) {
        self.window.record(s);
        if let Some(k) = &s.error_kind {
            *self.errors.entry(kind_name(k).to_string()).or_default() += 1;
        }
        if let Some(e) = &s.error {
            self.last_error = Some(e.clone());
        }
    }

    /// Closes the window at `elapsed` and reports it; the window's figures join the total.
    pub fn interval(&mut self, elapsed: Duration, g: GeneratorCounts) -> BenchReport {
        let now = elapsed.as_secs_f64();
        let span = (now - self.last_report_s).max(0.0);
        self.last_report_s = now;
        let w = std::mem::take(&mut self.window);
        self.total.add(&w);
        self.report(ReportKind::Interval, now, span, &w, g)
    }

    /// The whole run, at `elapsed` (folds in whatever the open window holds).
    pub fn finish(&mut self, elapsed: Duration, g: GeneratorCounts) -> BenchReport {
        let w = std::mem::take(&mut self.window);
        self.total.add(&w);
        let now = elapsed.as_secs_f64();
        let total = std::mem::take(&mut self.total);
        let r = self.report(ReportKind::Final, now, now, &total, g);
        self.total = total;
        r
    }

    fn report(
        &self,
        kind: ReportKind,
        now: f64,
        span_s: f64,
        w: &Span,
        g: GeneratorCounts,
    ) -> BenchReport {
        let cum = match kind {
            ReportKind::Final => w,
            ReportKind::Interval => &self.total,
        };
        let per_min = |n: u64| {
            if span_s > 0.0 {
                n as f64 * 60.0 / span_s
            } else {
                0.0
            }
        };
        let avg = |n: u64| {
            if w.done > 0 {
                n as f64 / w.done as f64
            } else {
                0.0
            }
        };
        BenchReport {
            kind,
            elapsed_s: now,
            span_s,
            started: g.started,
            completed: cum.done,
            failed: cum.failed,
            throttled: cum.throttled,
            cancelled: cum.cancelled,
            spilled: cum.spilled,
            dropped: g.dropped,
            late_starts: g.late,
            in_flight: g.in_flight,
            finished: w.finished(),
            rpm: per_min(w.done),
            input_tpm: per_min(w.prompt_tokens),
            output_tpm: per_min(w.completion_tokens),
            ttft_ms: w.ttft.percentiles(),
            tbt_ms: w.tbt.percentiles(),
            e2e_ms: w.e2e.percentiles(),
            start_lag_ms: w.start_lag.percentiles(),
            tokens_per_s: w.tokens_per_s.percentiles(),
            http_429: w.http_429,
            rate_429: if w.attempts > 0 {
                w.http_429 as f64 / w.attempts as f64
            } else {
                0.0
            },
            retry_after_ms_max: w.retry_after_ms_max,
            utilization_pct: (!w.utilization.is_empty()).then(|| w.utilization.percentiles()),
            avg_prompt_tokens: avg(w.prompt_tokens),
            avg_completion_tokens: avg(w.completion_tokens),
            avg_cached_tokens: avg(w.cached_tokens),
            errors: self.errors.clone(),
            last_error: self.last_error.clone(),
            model: None,
            ptu: None,
            ptu_note: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn done(ttft_ms: u64, e2e_ms: u64) -> Sample {
        Sample {
            outcome: Outcome::Done,
            ttft: Some(ms(ttft_ms)),
            e2e: ms(e2e_ms),
            tbt_us: vec![1000, 2000],
            tokens_per_s: Some(50.0),
            prompt_tokens: 500,
            completion_tokens: 100,
            attempts: 1,
            ..Default::default()
        }
    }

    #[test]
    fn percentiles_of_one_to_a_hundred_ms() {
        let mut h = Hist::latency();
        for i in 1..=100 {
            h.record_duration(ms(i));
        }
        let p = h.percentiles();
        assert_eq!(p.count, 100);
        // 3 significant digits: each value within 0.1 % of the exact one.
        let near = |a: f64, b: f64| (a - b).abs() <= b * 0.001;
        assert!(near(p.p50, 50.0), "{p:?}");
        assert!(near(p.p90, 90.0), "{p:?}");
        assert!(near(p.p95, 95.0), "{p:?}");
        assert!(near(p.p99, 99.0), "{p:?}");
        assert!(near(p.max, 100.0), "{p:?}");
        assert!(near(p.mean, 50.5), "{p:?}");
        assert_eq!(Hist::latency().percentiles(), Percentiles::default());
    }

    #[test]
    fn huge_latencies_saturate_instead_of_panicking() {
        let mut h = Hist::latency();
        h.record_duration(Duration::from_secs(100_000));
        assert!(h.percentiles().max >= 3_599_000.0);
    }

    #[test]
    fn windows_rates_and_totals() {
        let mut c = Collector::new();
        let g = GeneratorCounts {
            started: 7,
            ..Default::default()
        };
        for i in 0..6 {
            c.record(&Sample {
                spilled_over: i == 0,
                ..done(10, 100)
            });
        }
        c.record(&Sample {
            outcome: Outcome::Throttled,
            e2e: ms(2),
            attempts: 3,
            http_429: 3,
            retry_after_ms: Some(1500),
            error_kind: Some(ErrorKind::Throttled),
            error: Some("429: slow down".into()),
            ..Default::default()
        });
        // A 10 s window: 6 answered → 36 RPM; 3,000 prompt tokens → 18,000 input TPM.
        let r = c.interval(Duration::from_secs(10), g);
        assert_eq!(r.kind, ReportKind::Interval);
        assert_eq!((r.completed, r.throttled, r.finished), (6, 1, 7));
        assert_eq!(r.rpm, 36.0);
        assert_eq!(r.input_tpm, 18_000.0);
        assert_eq!(r.output_tpm, 3_600.0);
        assert_eq!(r.http_429, 3);
        assert_eq!(r.rate_429, 3.0 / 9.0);
        assert_eq!(r.spilled, 1);
        assert_eq!(r.retry_after_ms_max, Some(1500));
        assert_eq!(r.errors.get("throttled"), Some(&1));
        assert_eq!(r.last_error.as_deref(), Some("429: slow down"));
        assert_eq!(r.ttft_ms.count, 6, "only answered requests have latencies");
        assert_eq!(r.tbt_ms.count, 12);
        assert_eq!(r.avg_prompt_tokens, 500.0);
        assert!(r.utilization_pct.is_none());

        // Next window: 2 more over 5 s; cumulative counts go on, rates are the window's.
        c.record(&done(20, 200));
        let mut u = done(30, 300);
        u.utilization_pct = Some(42.5);
        c.record(&u);
        let r = c.interval(Duration::from_secs(15), g);
        assert_eq!(r.span_s, 5.0);
        assert_eq!(r.completed, 8);
        assert_eq!(r.finished, 2);
        assert_eq!(r.rpm, 24.0);
        assert_eq!(r.utilization_pct.unwrap().max, 42.5);

        // The final report covers the whole run.
        let f = c.finish(Duration::from_secs(20), g);
        assert_eq!(f.kind, ReportKind::Final);
        assert_eq!(f.completed, 8);
        assert_eq!(f.finished, 9);
        assert_eq!(f.rpm, 8.0 * 60.0 / 20.0);
        assert_eq!(f.ttft_ms.count, 8);
        assert_eq!(f.spilled, 1, "spilled calls are counted over the run");
        assert!((f.ttft_ms.max - 30.0).abs() < 0.05);
        assert_eq!(f.started, 7);
    }
}
