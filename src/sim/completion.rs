//! One chat completion: generated text, its timing, and the bytes of the streamed or
//! non-streamed body (with stream faults applied).

use std::sync::OnceLock;
use std::time::Duration;

use rand::Rng;
use rand::rngs::SmallRng;

use super::answers::{self, AnswerRule};
use super::config::{Delivery, LatencyConfig};
use super::faults::FaultKind;
use super::sse::{self, ChunkWriter, Plan, Usage};
use super::state::DeploymentRt;
use super::text;
use crate::tokens;
use crate::wire::ChatRequest;

/// The generated answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// One entry per streamed content token.
    pub pieces: Vec<String>,
    pub finish: &'static str,
    /// The output was cut by the output content filter.
    pub filtered: bool,
    pub reasoning: u64,
}

impl Generated {
    pub fn completion_tokens(&self) -> u64 {
        self.pieces.len() as u64 + self.reasoning
    }
}

/// Generates the answer: deterministic for a request `seed`, else drawn from `rng`. An
/// answer rule that matches the last user message, or a structured-output
/// `response_format`, decides the text (`sim::answers`); the generated markdown otherwise.
pub fn generate(
    d: &DeploymentRt,
    req: &ChatRequest,
    rng: &mut SmallRng,
    output_filtered: bool,
    rules: &[AnswerRule],
) -> Generated {
    let seed = match req.seed {
        Some(s) => s as u64,
        None => rng.random(),
    };
    let mut trng = text::rng_for(seed, &d.cfg.name);
    let target = text::target_length(&mut trng, d.cfg.answer_tokens);
    let decided = answers::decide(
        rules,
        &d.cfg.name,
        &answers::last_user_text(&req.messages),
        req.extra.get("response_format"),
        seed,
    );
    let body = match decided {
        Some(text) => text,
        None => text::generate(&mut trng, target),
    };
    let mut reasoning = if d.info.model.reasoning {
        let [lo, hi] = d.cfg.reasoning_tokens;
        trng.random_range(lo..=hi)
    } else {
        0
    };
    let mut finish = "stop";
    // Same pieces as `tokens::split(&body)` cut to the budget, but only the part of the
    // answer that can be sent is tokenized.
    let pieces = match req.output_budget().map(u64::from) {
        Some(budget) if reasoning >= budget => {
            reasoning = budget;
            finish = "length";
            Vec::new()
        }
        Some(budget) => {
            let max = usize::try_from(budget - reasoning).unwrap_or(usize::MAX);
            let (pieces, more) = tokens::split_first(&body, max);
            if more {
                finish = "length";
            }
            pieces
        }
        None => tokens::split(&body),
    };
    let mut pieces = pieces;
    if output_filtered {
        pieces.truncate(pieces.len().min(12));
        finish = "content_filter";
    }
    Generated {
        pieces,
        finish,
        filtered: output_filtered,
        reasoning,
    }
}

/// When each content token goes out, relative to the response start.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub ttft: Duration,
    pub offsets: Vec<Duration>,
    pub end: Duration,
}

fn jittered(base: f64, jitter: f64, rng: &mut SmallRng) -> f64 {
    if jitter <= 0.0 || base <= 0.0 {
        return base;
    }
    let u: f64 = rng.random();
    (base * (1.0 + jitter * (2.0 * u - 1.0))).max(0.0)
}

pub fn schedule(lat: &LatencyConfig, n: usize, reasoning: u64, rng: &mut SmallRng) -> Timing {
    let mut ttft = jittered(lat.ttft_ms as f64 / 1000.0, lat.jitter, rng);
    if lat.reasoning_tokens_per_s > 0.0 {
        ttft += reasoning as f64 / lat.reasoning_tokens_per_s;
    }
    let gap = if lat.tokens_per_s > 0.0 {
        1.0 / lat.tokens_per_s
    } else {
        0.0
    };
    let burst = match lat.delivery {
        Delivery::Smooth => 1,
        Delivery::Bursty => lat.burst_tokens.max(1),
    };
    let mut offsets = Vec::with_capacity(n);
    let mut cur = ttft;
    for i in 0..n {
        if i > 0 && i % burst == 0 {
            cur += jittered(gap * burst as f64, lat.jitter, rng);
        }
        offsets.push(Duration::from_secs_f64(cur));
    }
    let ttft = Duration::from_secs_f64(ttft);
    let end = offsets.last().copied().unwrap_or(ttft);
    Timing { ttft, offsets, end }
}

/// ~1 MiB of text for the `big-delta` fault.
pub fn big_delta() -> &'static str {
    static BIG: OnceLock<String> = OnceLock::new();
    BIG.get_or_init(|| "lorem ipsum dolor sit amet ".repeat(1_048_576 / 27 + 1))
}

/// Everything a streamed body needs.
pub struct StreamSpec<'a> {
    pub writer: &'a ChunkWriter,
    pub generated: &'a Generated,
    pub timing: &'a Timing,
    pub usage: Usage,
    pub include_usage: bool,
    pub annotation: bool,
    /// Asynchronous content filter: verdict chunks after the text (the writer is switched
    /// to async shapes by the caller).
    pub async_filter: bool,
    pub fault: Option<FaultKind>,
    pub stall: Duration,
}

/// Builds the timed SSE body: annotation → role → deltas → finish → usage → `[DONE]`.
pub fn stream_plan(spec: &StreamSpec<'_>) -> Plan {
    let w = spec.writer;
    let g = spec.generated;
    let n = g.pieces.len();
    let mut plan = Plan::default();
    let zero = Duration::ZERO;
    let comments = spec.fault == Some(FaultKind::Comments);
    if comments {
        w.comment(plan.at(zero));
    }
    if spec.annotation {
        w.annotation(plan.at(zero));
    }
    w.role(plan.at(spec.timing.ttft));
    let shift = if spec.fault == Some(FaultKind::Stall) {
        spec.stall
    } else {
        zero
    };
    let inject_at = n.min(2);
    let cut_at = n.min(3);
    let at_of = |i: usize| {
        spec.timing
            .offsets
            .get(i.min(n.saturating_sub(1)))
            .copied()
            .unwrap_or(spec.timing.ttft)
            + shift
    };
    for i in 0..=n {
        let at = at_of(i);
        if i == inject_at {
            match spec.fault {
                Some(FaultKind::Malformed) => w.malformed(plan.at(at)),
                Some(FaultKind::BigDelta) => w.content(big_delta(), plan.at(at)),
                Some(FaultKind::InvalidUtf8) => w.content_invalid_utf8(plan.at(at)),
                _ => {}
            }
        }
        if i == cut_at {
            match spec.fault {
                Some(FaultKind::Truncate) => return plan,
                Some(FaultKind::ErrorEvent) => {
                    w.raw_event(super::faults::ERROR_EVENT, plan.at(at));
                    return plan;
                }
                Some(FaultKind::Reset) => {
                    plan.at(at);
                    plan.mark_reset();
                    return plan;
                }
                _ => {}
            }
        }
        if i == n {
            break;
        }
        if comments && i % 3 == 2 {
            w.comment(plan.at(at));
        }
        w.content(&g.pieces[i], plan.at(at));
        if i == 0 {
            plan.mark_first_token();
        }
    }
    let end = spec.timing.end + shift;
    if spec.async_filter {
        async_tail(w, g, plan.at(end));
    } else {
        w.finish(g.finish, g.filtered, plan.at(end));
    }
    if spec.include_usage {
        w.usage(&spec.usage, plan.at(end));
    }
    if spec.fault != Some(FaultKind::NoDone) {
        w.done(plan.at(end));
    }
    plan
}

/// The asynchronous filter's end of a stream (tests/fixtures/conformance/13): the finish
/// chunk, then two verdicts over the whole answer (severity categories, protected
/// material). A blocked answer gets no `stop` finish: its second verdict carries
/// `finish_reason:"content_filter"` (azure-wire.md §4.2).
fn async_tail(w: &ChunkWriter, g: &Generated, out: &mut Vec<u8>) {
    let span = (0, g.pieces.iter().map(|p| p.chars().count()).sum());
    if g.filtered {
        w.async_verdict(span, sse::ASYNC_VERDICT_SEVERITY, None, out);
        w.async_verdict(
            span,
            sse::ASYNC_VERDICT_BLOCKED,
            Some("content_filter"),
            out,
        );
    } else {
        w.finish(g.finish, false, out);
        w.async_verdict(span, sse::ASYNC_VERDICT_SEVERITY, None, out);
        w.async_verdict(span, sse::ASYNC_VERDICT_PROTECTED, None, out);
    }
}

/// Identity of one completion.
pub struct Head<'a> {
    pub created: u64,
    pub id: &'a str,
    pub model: &'a str,
    pub fingerprint: &'a str,
}

/// The non-streamed `chat.completion` body (§4.1).
pub fn completion_body(head: &Head<'_>, content: &str, g: &Generated, usage: &Usage) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 1500);
    out.extend_from_slice(br#"{"choices":[{"content_filter_results":"#);
    out.extend_from_slice(if g.filtered {
        sse::CHOICE_FILTER_RESULTS_FILTERED.as_bytes()
    } else {
        sse::CHOICE_FILTER_RESULTS.as_bytes()
    });
    out.extend_from_slice(br#","finish_reason":""#);
    out.extend_from_slice(g.finish.as_bytes());
    // `annotations: []` leads the message in every body recorded since 2025
    // (tests/fixtures/conformance/20, 23, 25).
    out.extend_from_slice(br#"","index":0,"logprobs":null,"message":{"annotations":[],"content":"#);
    sse::write_json_str(&mut out, content);
    out.extend_from_slice(br#","refusal":null,"role":"assistant"}}],"created":"#);
    out.extend_from_slice(
        format!(
            r#"{},"id":"{}","model":"{}","object":"chat.completion","prompt_filter_results":"#,
            head.created, head.id, head.model
        )
        .as_bytes(),
    );
    out.extend_from_slice(sse::PROMPT_FILTER_RESULTS.as_bytes());
    out.extend_from_slice(br#","system_fingerprint":""#);
    out.extend_from_slice(head.fingerprint.as_bytes());
    out.extend_from_slice(br#"","usage":"#);
    usage.write_json(&mut out);
    out.push(b'}');
    out
}

/// Inserts raw invalid UTF-8 right after the opening quote of `message.content`.
pub fn corrupt_utf8(body: &mut Vec<u8>) {
    let needle = br#""message":{"annotations":[],"content":""#;
    if let Some(pos) = body.windows(needle.len()).position(|w| w == needle) {
        let at = pos + needle.len();
        body.splice(at..at, b"\xff\xfe".iter().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn smooth_and_bursty_schedules() {
        let mut rng = SmallRng::seed_from_u64(1);
        let lat = LatencyConfig {
            ttft_ms: 400,
            tokens_per_s: 100.0,
            ..LatencyConfig::default()
        };
        let t = schedule(&lat, 3, 0, &mut rng);
        assert_eq!(t.ttft, Duration::from_millis(400));
        assert_eq!(t.offsets[2], Duration::from_secs_f64(0.42));
        let bursty = LatencyConfig {
            delivery: Delivery::Bursty,
            burst_tokens: 2,
            ..lat.clone()
        };
        let t = schedule(&bursty, 5, 0, &mut rng);
        assert_eq!(t.offsets[0], t.offsets[1]);
        assert_eq!(t.offsets[2], t.offsets[3]);
        assert!(t.offsets[2] > t.offsets[1]);
        let reasoning = LatencyConfig {
            reasoning_tokens_per_s: 100.0,
            ..lat
        };
        assert_eq!(
            schedule(&reasoning, 1, 50, &mut rng).ttft,
            Duration::from_millis(900)
        );
    }

    #[test]
    fn jitter_is_bounded() {
        let mut rng = SmallRng::seed_from_u64(9);
        for _ in 0..100 {
            let v = jittered(1.0, 0.2, &mut rng);
            assert!((0.8..=1.2).contains(&v));
        }
    }
}
