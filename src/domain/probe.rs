//! "Which region is healthy right now?": one minimal call to each chosen deployment across
//! accounts and regions, repeated every N seconds, reduced to a row per target — status,
//! TTFT, e2e, region, remaining requests / tokens, 429 cause — with the history as a
//! sparkline. Pure: the calls are made by `engine::probe`.

use serde::Serialize;

use super::call::{CallRecord, Outcome};
use super::ratelimit::ThrottleKind;
use crate::wire::{ChatMessage, ChatRequest};

/// Most samples a target's history keeps (the sparkline's width).
pub const HISTORY: usize = 30;

/// What a probe asks: one short streamed answer (a content token, so TTFT is measured).
pub fn request() -> ChatRequest {
    ChatRequest {
        messages: vec![ChatMessage::new("user", "Reply with the single word: ok")],
        max_completion_tokens: Some(16),
        ..Default::default()
    }
}

/// One deployment to probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub deployment: String,
    pub model: String,
    pub account: String,
    /// ARM location (`swedencentral`); empty when not known from ARM.
    pub location: String,
    /// The account's data-plane endpoint.
    pub endpoint: String,
}

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub status: Option<u16>,
    pub ok: bool,
    pub ttft_ms: Option<f64>,
    pub e2e_ms: Option<f64>,
    /// `x-ms-region`.
    pub region: Option<String>,
    pub remaining_requests: Option<u64>,
    pub remaining_tokens: Option<u64>,
    pub throttle: Option<ThrottleKind>,
    pub retry_after_ms: Option<u64>,
    pub error: Option<String>,
}

impl Sample {
    pub fn of(r: &CallRecord) -> Sample {
        let e = r.error.as_ref();
        Sample {
            status: r.status,
            ok: r.outcome == Outcome::Done,
            ttft_ms: r.timing.ttft_ms,
            e2e_ms: r.timing.e2e_ms,
            region: r.region.clone(),
            remaining_requests: r.ratelimit.remaining_requests,
            remaining_tokens: r.ratelimit.remaining_tokens,
            throttle: e.and_then(|e| e.throttle),
            retry_after_ms: r.ratelimit.retry_after_ms,
            error: e.map(|e| e.message.clone()),
        }
    }

    /// `200`, `429 tokens`, `failed` (no answer at all).
    pub fn status_text(&self) -> String {
        match (self.status, self.throttle) {
            (Some(429), Some(t)) => format!("429 {}", throttle_word(t)),
            (Some(s), _) => s.to_string(),
            (None, _) => "failed".into(),
        }
    }
}

/// A 429's cause in a word.
pub fn throttle_word(t: ThrottleKind) -> &'static str {
    match t {
        ThrottleKind::Tokens => "tokens",
        ThrottleKind::Requests => "requests",
        ThrottleKind::Utilization => "PTU util",
        ThrottleKind::GatewayTokens => "gateway tokens",
        ThrottleKind::GatewayRequests => "gateway rate",
        ThrottleKind::Unknown => "unstated",
    }
}

/// A target's samples, newest last.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct History {
    pub samples: Vec<Sample>,
}

impl History {
    pub fn push(&mut self, s: Sample) {
        self.samples.push(s);
        if self.samples.len() > HISTORY {
            self.samples.remove(0);
        }
    }

    pub fn last(&self) -> Option<&Sample> {
        self.samples.last()
    }

    /// Answered / probed so far.
    pub fn ok_count(&self) -> (usize, usize) {
        (
            self.samples.iter().filter(|s| s.ok).count(),
            self.samples.len(),
        )
    }

    /// The e2e history as a sparkline: `▁`…`█` scaled between the fastest and the slowest
    /// answered probe, `✗` for a probe that got no answer.
    pub fn sparkline(&self) -> String {
        let values: Vec<Option<f64>> = self
            .samples
            .iter()
            .map(|s| s.e2e_ms.filter(|_| s.ok))
            .collect();
        sparkline(&values)
    }
}

/// `▁▂▃▄▅▆▇█` for values between their min and max, `✗` for `None`.
pub fn sparkline(values: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let known = values.iter().flatten().copied().filter(|v| v.is_finite());
    let (lo, hi) = known.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    values
        .iter()
        .map(|v| match v {
            None => '✗',
            Some(v) if !v.is_finite() => '✗',
            Some(_) if hi <= lo => BARS[0],
            Some(v) => {
                let i = ((v - lo) / (hi - lo) * (BARS.len() - 1) as f64).round() as usize;
                BARS[i.min(BARS.len() - 1)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sparkline_scales_and_marks_failures() {
        assert_eq!(
            sparkline(&[Some(100.0), Some(200.0), None, Some(150.0)]),
            "▁█✗▅"
        );
        assert_eq!(sparkline(&[Some(5.0), Some(5.0)]), "▁▁");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn history_keeps_the_latest_samples() {
        let mut h = History::default();
        for i in 0..(HISTORY + 5) {
            h.push(Sample {
                status: Some(200),
                ok: i % 2 == 0,
                ttft_ms: None,
                e2e_ms: Some(i as f64),
                region: None,
                remaining_requests: None,
                remaining_tokens: None,
                throttle: None,
                retry_after_ms: None,
                error: None,
            });
        }
        assert_eq!(h.samples.len(), HISTORY);
        assert_eq!(h.last().unwrap().e2e_ms, Some((HISTORY + 4) as f64));
        assert_eq!(h.ok_count().1, HISTORY);
        assert_eq!(h.sparkline().chars().count(), HISTORY);
    }

    #[test]
    fn a_429_says_its_cause() {
        let r = CallRecord {
            status: Some(429),
            outcome: Outcome::Throttled,
            error: Some(crate::domain::call::CallError {
                throttle: Some(ThrottleKind::Tokens),
                ..crate::domain::call::CallError::new(
                    crate::domain::call::ErrorKind::Throttled,
                    "exceeded token rate limit",
                )
            }),
            ..CallRecord::default()
        };
        assert_eq!(Sample::of(&r).status_text(), "429 tokens");
    }
}
