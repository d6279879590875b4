//! The live call: a call's life cycle as a front end follows it — connecting, waiting for
//! the first token, streaming, retrying, ended — fed by the client's [`CallEvent`]s and
//! completed by its [`CallRecord`]. Times are offsets from an injected clock, never
//! wall-clock, so a test drives it without sleeping.

use std::time::Duration;

use crate::domain::arm::ModelRef;
use crate::domain::call::{ApiPath, CallEvent, CallRecord, Outcome, WireApi};
use crate::domain::ratelimit::RateLimit;

/// Where a call is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    Connecting,
    /// Headers arrived; no content token yet.
    Waiting,
    Streaming,
    /// An attempt failed; the next starts at `until`.
    Retrying {
        until: Duration,
    },
    Ended(Outcome),
}

impl Phase {
    pub fn in_flight(self) -> bool {
        !matches!(self, Phase::Ended(_))
    }

    pub fn label(self) -> &'static str {
        match self {
            Phase::Connecting => "connecting",
            Phase::Waiting => "waiting for first token",
            Phase::Streaming => "streaming",
            Phase::Retrying { .. } => "retrying",
            Phase::Ended(Outcome::Done) => "done",
            Phase::Ended(Outcome::Failed) => "failed",
            Phase::Ended(Outcome::Throttled) => "throttled",
            Phase::Ended(Outcome::Cancelled) => "cancelled",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveCall {
    pub id: u64,
    pub deployment: String,
    pub api: ApiPath,
    /// Chat Completions or the Responses API (set by whoever starts the call).
    pub wire_api: WireApi,
    pub prompt: String,
    pub started: Duration,
    pub phase: Phase,
    pub attempt: u32,
    pub status: Option<u16>,
    pub ttfb_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub first_token_at: Option<Duration>,
    pub last_token_at: Option<Duration>,
    pub ended_at: Option<Duration>,
    /// Content deltas received (a live stand-in for completion tokens).
    pub deltas: u64,
    pub ratelimit: RateLimit,
    pub request_id: Option<String>,
    pub region: Option<String>,
    pub answer: StreamCollector,
    /// Reasoning-summary text streamed so far (Responses API), apart from the answer.
    pub summary: String,
    pub record: Option<CallRecord>,
    /// The deployment's ARM model, when it was opened from the browser (pricing, PTU).
    pub model: Option<ModelRef>,
}

impl LiveCall {
    pub fn new(id: u64, deployment: &str, api: ApiPath, prompt: &str, now: Duration) -> Self {
        LiveCall {
            id,
            deployment: deployment.to_string(),
            api,
            wire_api: WireApi::Chat,
            prompt: prompt.to_string(),
            started: now,
            phase: Phase::Connecting,
            attempt: 0,
            status: None,
            ttfb_ms: None,
            ttft_ms: None,
            first_token_at: None,
            last_token_at: None,
            ended_at: None,
            deltas: 0,
            ratelimit: RateLimit::default(),
            request_id: None,
            region: None,
            answer: StreamCollector::default(),
            summary: String::new(),
            record: None,
            model: None,
        }
    }

    /// Applies one event; returns whether anything visible changed.
    pub fn apply(&mut self, ev: CallEvent, now: Duration) -> bool {
        if !self.phase.in_flight() {
            return false;
        }
        match ev {
            CallEvent::AttemptStarted {
                attempt,
                deployment,
            } => {
                self.attempt = attempt;
                self.deployment = deployment;
                self.phase = Phase::Connecting;
            }
            CallEvent::Headers {
                status,
                ttfb_ms,
                ratelimit,
                request_id,
                region,
            } => {
                self.status = Some(status);
                self.ttfb_ms = Some(ttfb_ms);
                self.ratelimit = *ratelimit;
                self.request_id = request_id;
                self.region = region;
                self.phase = Phase::Waiting;
            }
            CallEvent::FirstToken { ttft_ms } => {
                self.ttft_ms = Some(ttft_ms);
                self.first_token_at = Some(now);
                self.phase = Phase::Streaming;
            }
            CallEvent::Delta(d) => {
                self.deltas += 1;
                self.last_token_at = Some(now);
                if self.first_token_at.is_none() {
                    self.first_token_at = Some(now);
                }
                self.phase = Phase::Streaming;
                // The transcript changes only when a line completes, but the panel's counters
                // change on every delta; the loop's frame limit coalesces them.
                self.answer.push(&d);
            }
            CallEvent::Summary(d) => self.summary.push_str(&d),
            CallEvent::Retrying {
                after_ms,
                status,
                next_deployment,
            } => {
                self.status = status;
                self.ratelimit.retry_after_ms = Some(after_ms);
                self.deployment = next_deployment;
                self.answer = StreamCollector::default();
                self.summary.clear();
                self.deltas = 0;
                self.first_token_at = None;
                self.phase = Phase::Retrying {
                    until: now + Duration::from_millis(after_ms),
                };
            }
        }
        true
    }

    /// The final record arrived. A call the user cancelled stays cancelled, and whatever the
    /// record lacks that the live call saw (status, timings, rate limits, ids, the partial
    /// answer) is kept from the live call: nothing that arrived is blanked.
    pub fn finish(&mut self, mut record: CallRecord, now: Duration) {
        if self.phase == Phase::Ended(Outcome::Cancelled) {
            record.outcome = Outcome::Cancelled;
        }
        if record.outcome == Outcome::Cancelled {
            self.fill_cancelled(&mut record, now);
        }
        self.phase = Phase::Ended(record.outcome);
        self.status = record.status.or(self.status);
        self.ttfb_ms = record.timing.ttfb_ms.or(self.ttfb_ms);
        self.ttft_ms = record.timing.ttft_ms.or(self.ttft_ms);
        self.ratelimit = record.ratelimit.clone();
        self.request_id = record.request_id.clone().or(self.request_id.take());
        self.region = record.region.clone().or(self.region.take());
        self.deployment = record.deployment.clone();
        self.wire_api = record.wire_api;
        if self.summary.is_empty()
            && let Some(s) = &record.reasoning_summary
        {
            self.summary = s.clone();
        }
        self.settle_answer(&record.text);
        self.ended_at.get_or_insert(now);
        self.record = Some(record);
    }

    /// The streamed answer is the answer: the record's text only completes it (a call that was
    /// not streamed, a tail not yet shown). Only a record that disagrees with what streamed
    /// (the client reduced every event; a replay delivers its recording) replaces it.
    fn settle_answer(&mut self, text: &str) {
        let streamed = self.answer.text();
        if let Some(rest) = text.strip_prefix(streamed) {
            let rest = rest.to_string();
            self.answer.push(&rest);
        } else if !streamed.starts_with(text) {
            self.answer = StreamCollector::default();
            self.answer.push(text);
        }
        self.answer.finish();
    }

    /// Completes a cancelled call's record from what the live call saw.
    fn fill_cancelled(&self, r: &mut CallRecord, now: Duration) {
        if r.deployment.is_empty() {
            r.deployment = self.deployment.clone();
        }
        r.status = r.status.or(self.status);
        r.timing.ttfb_ms = r.timing.ttfb_ms.or(self.ttfb_ms);
        r.timing.ttft_ms = r.timing.ttft_ms.or(self.ttft_ms);
        if r.timing.e2e_ms.is_none() {
            let end = self.ended_at.unwrap_or(now);
            r.timing.e2e_ms = Some(end.saturating_sub(self.started).as_secs_f64() * 1000.0);
        }
        if r.ratelimit == RateLimit::default() {
            r.ratelimit = self.ratelimit.clone();
        }
        if r.request_id.is_none() {
            r.request_id = self.request_id.clone();
        }
        if r.region.is_none() {
            r.region = self.region.clone();
        }
        if r.text.len() < self.answer.text().len() {
            r.text = self.answer.text().to_string();
        }
    }

    /// The user cancelled: the call ends now; later events for it are dropped.
    pub fn cancel(&mut self, now: Duration) {
        if self.phase.in_flight() {
            self.phase = Phase::Ended(Outcome::Cancelled);
            self.answer.finish();
            self.ended_at = Some(now);
        }
    }

    /// How long the call has run; once ended, the client's own measure of the whole call
    /// (`call_ms`, the same clock as `e2e`), so "failed in" never disagrees with "e2e".
    pub fn elapsed(&self, now: Duration) -> Duration {
        if self.ended_at.is_some()
            && let Some(ms) = self.record.as_ref().and_then(|r| {
                // Records from before `call_ms` (recordings): one attempt is its e2e.
                r.call_ms
                    .or_else(|| (r.attempts.len() <= 1).then_some(r.timing.e2e_ms).flatten())
            })
            && ms.is_finite()
            && ms >= 0.0
        {
            return Duration::from_secs_f64(ms / 1000.0);
        }
        self.ended_at.unwrap_or(now).saturating_sub(self.started)
    }

    /// Time spent waiting for the first token so far (the ticking timer).
    pub fn waiting_for(&self, now: Duration) -> Duration {
        now.saturating_sub(self.started)
    }

    /// Tokens per second: the record's figure once ended, else deltas over streaming time.
    pub fn tokens_per_s(&self, now: Duration) -> Option<f64> {
        if let Some(r) = &self.record {
            return r.timing.tokens_per_s;
        }
        let first = self.first_token_at?;
        let span = now.saturating_sub(first).as_secs_f64();
        (span > 0.05 && self.deltas > 1).then(|| self.deltas as f64 / span)
    }

    /// Remaining time of a retry-after countdown (a retry wait, or a 429 that ended the call).
    pub fn retry_countdown(&self, now: Duration) -> Option<Duration> {
        let until = match self.phase {
            Phase::Retrying { until } => until,
            Phase::Ended(Outcome::Throttled) => {
                self.ended_at? + Duration::from_millis(self.ratelimit.retry_after_ms?)
            }
            Phase::Ended(Outcome::Failed) if self.status == Some(429) => {
                self.ended_at? + Duration::from_millis(self.ratelimit.retry_after_ms?)
            }
            _ => return None,
        };
        until.checked_sub(now).filter(|d| !d.is_zero())
    }

    /// Whether the panel shows something that changes with time alone.
    pub fn animating(&self, now: Duration) -> bool {
        self.phase.in_flight() || self.retry_countdown(now).is_some()
    }
}

/// Newline-gated collector of a streamed answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamCollector {
    buf: String,
    finished: bool,
}

impl StreamCollector {
    pub fn push(&mut self, delta: &str) {
        self.buf.push_str(delta);
    }

    /// Whether the part shown would change with the last push (a newline arrived).
    pub fn committed(&self) -> &str {
        if self.finished {
            return &self.buf;
        }
        match self.buf.rfind('\n') {
            Some(i) => &self.buf[..=i],
            None => "",
        }
    }

    /// The received text not yet shown (the current, unfinished line).
    pub fn pending(&self) -> &str {
        &self.buf[self.committed().len()..]
    }

    pub fn finish(&mut self) {
        self.finished = true;
    }

    pub fn text(&self) -> &str {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::CallRecord;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn life_cycle_and_stale_events() {
        let mut c = LiveCall::new(1, "gpt-4o", ApiPath::Classic, "hi", ms(0));
        assert_eq!(c.phase, Phase::Connecting);
        c.apply(
            CallEvent::AttemptStarted {
                attempt: 1,
                deployment: "gpt-4o".into(),
            },
            ms(1),
        );
        c.apply(
            CallEvent::Headers {
                status: 200,
                ttfb_ms: 90.0,
                ratelimit: Box::new(RateLimit::default()),
                request_id: Some("r".into()),
                region: None,
            },
            ms(90),
        );
        assert_eq!(c.phase, Phase::Waiting);
        c.apply(CallEvent::FirstToken { ttft_ms: 300.0 }, ms(300));
        c.apply(CallEvent::Delta("Hello\nwor".into()), ms(300));
        assert_eq!(c.answer.committed(), "Hello\n");
        c.cancel(ms(400));
        assert!(
            !c.apply(CallEvent::Delta("ld".into()), ms(410)),
            "events after cancel are dropped"
        );
        c.finish(
            CallRecord {
                outcome: Outcome::Done,
                text: "Hello\nworld".into(),
                ..Default::default()
            },
            ms(420),
        );
        assert_eq!(c.phase, Phase::Ended(Outcome::Cancelled));
        assert_eq!(c.record.as_ref().unwrap().outcome, Outcome::Cancelled);
    }

    #[test]
    fn a_cancelled_call_keeps_what_arrived() {
        let mut c = LiveCall::new(1, "gpt-4o", ApiPath::Classic, "hi", ms(0));
        let rl = RateLimit {
            remaining_requests: Some(9),
            limit_requests: Some(10),
            ..Default::default()
        };
        c.apply(
            CallEvent::Headers {
                status: 200,
                ttfb_ms: 90.0,
                ratelimit: Box::new(rl.clone()),
                request_id: Some("req-1".into()),
                region: Some("Sweden Central".into()),
            },
            ms(90),
        );
        c.apply(CallEvent::FirstToken { ttft_ms: 300.0 }, ms(300));
        c.apply(CallEvent::Delta("First line\nsecond".into()), ms(310));
        c.cancel(ms(400));
        // What a client that drops everything on cancel reports.
        c.finish(
            CallRecord {
                outcome: Outcome::Cancelled,
                ..Default::default()
            },
            ms(420),
        );
        assert_eq!(c.phase, Phase::Ended(Outcome::Cancelled));
        assert_eq!(c.answer.text(), "First line\nsecond");
        assert_eq!(c.status, Some(200));
        assert_eq!(c.ttft_ms, Some(300.0));
        assert_eq!(c.ratelimit, rl);
        let r = c.record.as_ref().unwrap();
        assert_eq!(r.status, Some(200));
        assert_eq!(r.text, "First line\nsecond");
        assert_eq!(r.timing.ttfb_ms, Some(90.0));
        assert_eq!(r.timing.e2e_ms, Some(400.0));
        assert_eq!(r.request_id.as_deref(), Some("req-1"));
        assert_eq!(r.deployment, "gpt-4o");
    }

    #[test]
    fn an_ended_call_is_timed_by_the_clients_clock() {
        // The console saw 24 ms between submit and the record; the client measured the call
        // (request to last byte) at 15 ms, and that is what e2e says: one figure, not two.
        let mut c = LiveCall::new(1, "gpt-4o", ApiPath::Classic, "hi", ms(0));
        let rec = CallRecord {
            outcome: Outcome::Failed,
            status: Some(500),
            timing: crate::domain::call::Timings {
                e2e_ms: Some(15.0),
                ..Default::default()
            },
            call_ms: Some(15.0),
            ..Default::default()
        };
        c.finish(rec, ms(24));
        assert_eq!(c.elapsed(ms(30)), ms(15));
        // A record without `call_ms` (an older recording): its e2e, for one attempt.
        let mut c = LiveCall::new(2, "gpt-4o", ApiPath::Classic, "hi", ms(0));
        let mut rec = CallRecord::default();
        rec.timing.e2e_ms = Some(15.0);
        c.finish(rec, ms(24));
        assert_eq!(c.elapsed(ms(30)), ms(15));
        // No figure at all: the console's own clock.
        let mut c = LiveCall::new(3, "gpt-4o", ApiPath::Classic, "hi", ms(0));
        c.finish(CallRecord::default(), ms(24));
        assert_eq!(c.elapsed(ms(30)), ms(24));
    }

    #[test]
    fn throttle_countdown() {
        let mut c = LiveCall::new(1, "gpt-4o-mini", ApiPath::Classic, "hi", ms(0));
        let rec = CallRecord {
            outcome: Outcome::Throttled,
            status: Some(429),
            ratelimit: RateLimit {
                retry_after_ms: Some(6000),
                ..Default::default()
            },
            ..Default::default()
        };
        c.finish(rec, ms(100));
        assert_eq!(c.retry_countdown(ms(1100)), Some(ms(5000)));
        assert!(c.animating(ms(1100)));
        assert_eq!(c.retry_countdown(ms(6100)), None);
        assert!(!c.animating(ms(6100)));
    }

    #[test]
    fn collector_is_newline_gated() {
        let mut c = StreamCollector::default();
        c.push("# Hea");
        assert_eq!(c.committed(), "");
        assert_eq!(c.pending(), "# Hea");
        c.push("ding\nsecond li");
        assert_eq!(c.committed(), "# Heading\n");
        assert_eq!(c.pending(), "second li");
        c.finish();
        assert_eq!(c.committed(), "# Heading\nsecond li");
        assert_eq!(c.pending(), "");
    }

    #[test]
    fn the_streamed_answer_is_kept_and_completed_by_the_record() {
        let mut c = LiveCall::new(1, "d", ApiPath::Classic, "p", ms(0));
        c.apply(CallEvent::Delta("Hello ".into()), ms(5));
        c.finish(
            CallRecord {
                text: "Hello world".into(),
                ..Default::default()
            },
            ms(9),
        );
        assert_eq!(c.answer.text(), "Hello world");
        assert_eq!(c.answer.committed(), "Hello world");
        // A record that disagrees (a replayed recording) wins.
        let mut c = LiveCall::new(2, "d", ApiPath::Classic, "p", ms(0));
        c.apply(CallEvent::Delta("draft".into()), ms(5));
        c.finish(
            CallRecord {
                text: "final".into(),
                ..Default::default()
            },
            ms(9),
        );
        assert_eq!(c.answer.text(), "final");
    }
}
