//! Replay: [`schedule`] turns one recorded call into the [`CallEvent`]s a live call would
//! have reported, each with its delay from the start of the replay (pure, tested without
//! sleeping); [`play`] plays a schedule, sleeping until `start + delay` (so drift does not
//! add up), and ends with the recorded [`CallRecord`]. The console feeds what it plays into
//! the same call life cycle as a live call.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::call::{CallError, CallEvent, CallRecord, ErrorKind, Outcome, WireApi};
use crate::domain::ratelimit::RateLimit;
use crate::domain::responses::{DeltaKind, ResponsesState};
use crate::domain::scenario::ScenarioCall;
use crate::domain::stream::StreamState;
use crate::wire::ChunkIn;
use crate::wire::responses::ResponseEventIn;

/// Replay pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Speed {
    /// The recorded pace.
    #[default]
    X1,
    X2,
    X10,
    /// Everything at once.
    Instant,
}

impl Speed {
    /// `--speed`: 0 is instant; other values pick the nearest of 1x, 2x, 10x.
    pub fn from_factor(f: f64) -> Speed {
        if f <= 0.0 {
            Speed::Instant
        } else if f < 1.5 {
            Speed::X1
        } else if f < 6.0 {
            Speed::X2
        } else {
            Speed::X10
        }
    }

    /// 1x → 2x → 10x → instant → 1x.
    pub fn next(self) -> Speed {
        match self {
            Speed::X1 => Speed::X2,
            Speed::X2 => Speed::X10,
            Speed::X10 => Speed::Instant,
            Speed::Instant => Speed::X1,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Speed::X1 => "1x",
            Speed::X2 => "2x",
            Speed::X10 => "10x",
            Speed::Instant => "instant",
        }
    }

    /// A recorded offset (ms) as a delay at this speed.
    pub fn scale(self, ms: f64) -> Duration {
        let factor = match self {
            Speed::X1 => 1.0,
            Speed::X2 => 2.0,
            Speed::X10 => 10.0,
            Speed::Instant => return Duration::ZERO,
        };
        Duration::from_secs_f64((ms.max(0.0) / factor) / 1000.0)
    }
}

/// One recorded call as the events a live call reports, each at its delay from the start.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub steps: Vec<(Duration, CallEvent)>,
    /// When the record is delivered (never before the last step).
    pub finish_at: Duration,
    /// The recorded record, delivered last (its id is set by the player).
    pub record: CallRecord,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The replay schedule of a recorded call at `speed`.
///
/// Attempts before the last (retries) show as `AttemptStarted` + `Retrying` with their
/// recorded wait; the last attempt's events come at their recorded offsets (`t_ms`, counted
/// from that attempt's request). Stream events are reduced with [`StreamState`]; the first
/// content delta is preceded by `FirstToken`. A call recorded without events, or not
/// streamed, delivers its whole text at the recorded TTFT.
pub fn schedule(call: &ScenarioCall, speed: Speed) -> Schedule {
    let rec = &call.record;
    let mut steps = Vec::new();
    let mut base = 0.0f64;
    let attempts = rec.attempts.len().max(1);
    let deployment_of = |i: usize| {
        rec.attempts
            .get(i)
            .map(|a| a.deployment.clone())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| rec.deployment.clone())
    };
    for i in 0..attempts - 1 {
        let a = &rec.attempts[i];
        let at = speed.scale(base);
        steps.push((
            at,
            CallEvent::AttemptStarted {
                attempt: i as u32 + 1,
                deployment: deployment_of(i),
            },
        ));
        steps.push((
            at,
            CallEvent::Retrying {
                after_ms: a.waited_ms,
                status: a.status,
                next_deployment: deployment_of(i + 1),
            },
        ));
        base += a.waited_ms as f64;
    }
    let t = |ms: f64| speed.scale(base + ms);
    steps.push((
        t(0.0),
        CallEvent::AttemptStarted {
            attempt: attempts as u32,
            deployment: deployment_of(attempts - 1),
        },
    ));
    let first_event_ms = rec.events.first().map(|e| e.t_ms);
    if let Some(status) = rec.status {
        let ttfb = rec.timing.ttfb_ms.or(first_event_ms).unwrap_or(0.0);
        let ratelimit = if rec.headers.is_empty() {
            rec.ratelimit.clone()
        } else {
            RateLimit::from_headers(rec.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        };
        let request_id = header(&rec.headers, "apim-request-id")
            .or(header(&rec.headers, "x-request-id"))
            .map(str::to_string)
            .or(rec.request_id.clone());
        let region = header(&rec.headers, "x-ms-region")
            .map(str::to_string)
            .or(rec.region.clone());
        steps.push((
            t(ttfb),
            CallEvent::Headers {
                status,
                ttfb_ms: ttfb,
                ratelimit: Box::new(ratelimit),
                request_id,
                region,
            },
        ));
    }
    let mut content = false;
    if rec.stream && !rec.events.is_empty() {
        // Each event's delta, by the reducer of the call's wire API: answer deltas (the first
        // is TTFT) and, on the Responses API, reasoning-summary deltas.
        let mut chat = StreamState::default();
        let mut responses = ResponsesState::default();
        for e in &rec.events {
            let delta = match rec.wire_api {
                WireApi::Responses => serde_json::from_str::<ResponseEventIn>(&e.data)
                    .ok()
                    .and_then(|ev| responses.apply(&ev).map(|(k, d)| (k, d.to_string()))),
                // `[DONE]`, an error body or a malformed line carry none.
                WireApi::Chat => serde_json::from_str::<ChunkIn>(&e.data)
                    .ok()
                    .and_then(|c| chat.apply(&c).map(|d| (DeltaKind::Answer, d.to_string()))),
            };
            match delta {
                Some((DeltaKind::Answer, d)) => {
                    if !content {
                        content = true;
                        steps.push((t(e.t_ms), CallEvent::FirstToken { ttft_ms: e.t_ms }));
                    }
                    steps.push((t(e.t_ms), CallEvent::Delta(d)));
                }
                Some((DeltaKind::Summary, d)) => steps.push((t(e.t_ms), CallEvent::Summary(d))),
                None => {}
            }
        }
    }
    if !content && !rec.text.is_empty() {
        let at = rec
            .timing
            .ttft_ms
            .or(rec.events.last().map(|e| e.t_ms))
            .or(rec.timing.e2e_ms)
            .unwrap_or(0.0);
        steps.push((t(at), CallEvent::FirstToken { ttft_ms: at }));
        steps.push((t(at), CallEvent::Delta(rec.text.clone())));
    }
    // Offsets never go backwards, whatever the file says.
    let mut last = Duration::ZERO;
    for (at, _) in steps.iter_mut() {
        last = last.max(*at);
        *at = last;
    }
    let end = rec
        .timing
        .e2e_ms
        .or(rec.events.last().map(|e| e.t_ms))
        .unwrap_or(0.0);
    Schedule {
        finish_at: t(end).max(last),
        steps,
        record: rec.clone(),
    }
}

/// Plays a schedule: each event to `on_event` at its delay from now, then the record (its id
/// set to `id`). A cancelled replay ends at once with a `cancelled` record holding the text
/// played so far.
pub async fn play(
    id: u64,
    s: Schedule,
    cancel: &CancellationToken,
    mut on_event: impl FnMut(CallEvent),
) -> CallRecord {
    let start = tokio::time::Instant::now();
    let mut played = String::new();
    let mut record = s.record;
    record.id = id;
    for (at, ev) in s.steps {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return cancelled(record, played),
            _ = tokio::time::sleep_until(start + at) => {}
        }
        if let CallEvent::Delta(d) = &ev {
            played.push_str(d);
        }
        on_event(ev);
    }
    tokio::select! {
        biased;
        _ = cancel.cancelled() => cancelled(record, played),
        _ = tokio::time::sleep_until(start + s.finish_at) => record,
    }
}

fn cancelled(mut record: CallRecord, played: String) -> CallRecord {
    record.outcome = Outcome::Cancelled;
    record.text = played;
    record.error = Some(CallError::new(ErrorKind::Cancelled, "replay stopped"));
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::{Attempt, SseEvent, Timings};
    use crate::domain::scenario::{PromptShape, RecordedRequest};
    use crate::wire::{ChatMessage, ChatRequest};
    use pretty_assertions::assert_eq;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn chunk(content: &str) -> String {
        format!(
            r#"{{"id":"c1","model":"gpt-4o","choices":[{{"index":0,"delta":{{"content":"{content}"}},"finish_reason":null}}]}}"#
        )
    }

    fn ev(t_ms: f64, data: String) -> SseEvent {
        SseEvent { t_ms, data }
    }

    fn call(record: CallRecord) -> ScenarioCall {
        ScenarioCall {
            proxied: None,
            started: "2026-01-01T00:00:00.000Z".into(),
            request: RecordedRequest {
                wire_api: Default::default(),
                wire_body: None,
                deployment: "gpt-4o".into(),
                api: Default::default(),
                api_version: None,
                endpoint: None,
                stream: record.stream,
                retry: "none".into(),
                headers: vec![],
                body: ChatRequest {
                    messages: vec![ChatMessage::new("user", "hi")],
                    ..Default::default()
                },
            },
            prompt_shape: PromptShape::default(),
            record,
        }
    }

    fn streamed() -> CallRecord {
        CallRecord {
            deployment: "gpt-4o".into(),
            stream: true,
            status: Some(200),
            text: "Hello world".into(),
            timing: Timings { ttfb_ms: Some(100.0), ttft_ms: Some(300.0), e2e_ms: Some(500.0), ..Default::default() },
            headers: vec![
                ("apim-request-id".into(), "req-1".into()),
                ("x-ms-region".into(), "Sweden Central".into()),
                ("x-ratelimit-remaining-requests".into(), "449".into()),
                ("x-ratelimit-limit-requests".into(), "450".into()),
            ],
            events: vec![
                ev(100.0, r#"{"id":"","model":"","choices":[],"prompt_filter_results":[]}"#.into()),
                ev(120.0, r#"{"id":"c1","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#.into()),
                ev(300.0, chunk("Hello")),
                ev(400.0, chunk(" world")),
                ev(450.0, "[DONE]".into()),
            ],
            ..Default::default()
        }
    }

    fn headers_event() -> CallEvent {
        CallEvent::Headers {
            status: 200,
            ttfb_ms: 100.0,
            ratelimit: Box::new(RateLimit {
                remaining_requests: Some(449),
                limit_requests: Some(450),
                ..Default::default()
            }),
            request_id: Some("req-1".into()),
            region: Some("Sweden Central".into()),
        }
    }

    fn started(attempt: u32) -> CallEvent {
        CallEvent::AttemptStarted {
            attempt,
            deployment: "gpt-4o".into(),
        }
    }

    #[test]
    fn stream_events_at_recorded_offsets_divided_by_speed() {
        let s = schedule(&call(streamed()), Speed::X1);
        assert_eq!(
            s.steps,
            vec![
                (ms(0), started(1)),
                (ms(100), headers_event()),
                (ms(300), CallEvent::FirstToken { ttft_ms: 300.0 }),
                (ms(300), CallEvent::Delta("Hello".into())),
                (ms(400), CallEvent::Delta(" world".into())),
            ]
        );
        assert_eq!(s.finish_at, ms(500));
        assert_eq!(s.record, streamed());

        let fast = schedule(&call(streamed()), Speed::X10);
        let at: Vec<Duration> = fast.steps.iter().map(|(d, _)| *d).collect();
        assert_eq!(at, vec![ms(0), ms(10), ms(30), ms(30), ms(40)]);
        assert_eq!(fast.finish_at, ms(50));
        let x2 = schedule(&call(streamed()), Speed::X2);
        assert_eq!(x2.steps[4].0, ms(200));
        assert_eq!(x2.finish_at, ms(250));
        // Same events, whatever the speed.
        let events = |s: &Schedule| s.steps.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>();
        assert_eq!(events(&fast), events(&s));
    }

    #[test]
    fn a_responses_stream_plays_its_summary_apart_and_its_answer_from_ttft() {
        let r = CallRecord {
            wire_api: WireApi::Responses,
            events: vec![
                ev(100.0, r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","output":[]}}"#.into()),
                ev(200.0, r#"{"type":"response.reasoning_summary_text.delta","sequence_number":1,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"Thinking"}"#.into()),
                ev(300.0, r#"{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hello"}"#.into()),
                ev(400.0, r#"{"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":1,"content_index":0,"delta":" world"}"#.into()),
            ],
            ..streamed()
        };
        let s = schedule(&call(r), Speed::X1);
        assert_eq!(
            s.steps[2..],
            [
                (ms(200), CallEvent::Summary("Thinking".into())),
                (ms(300), CallEvent::FirstToken { ttft_ms: 300.0 }),
                (ms(300), CallEvent::Delta("Hello".into())),
                (ms(400), CallEvent::Delta(" world".into())),
            ]
        );
    }

    #[test]
    fn instant_has_no_delays() {
        let s = schedule(&call(streamed()), Speed::Instant);
        assert!(s.steps.iter().all(|(d, _)| d.is_zero()));
        assert_eq!(s.finish_at, Duration::ZERO);
        assert_eq!(s.steps.len(), 5);
    }

    #[test]
    fn non_stream_and_eventless_calls_play_their_text_at_ttft() {
        let mut r = streamed();
        r.stream = false;
        r.events = vec![ev(480.0, r#"{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world"}}]}"#.into())];
        let s = schedule(&call(r), Speed::X1);
        assert_eq!(
            s.steps[2..],
            [
                (ms(300), CallEvent::FirstToken { ttft_ms: 300.0 }),
                (ms(300), CallEvent::Delta("Hello world".into())),
            ]
        );
        let mut r = streamed();
        r.events.clear();
        let s = schedule(&call(r), Speed::X2);
        assert_eq!(
            s.steps[3],
            (ms(150), CallEvent::Delta("Hello world".into()))
        );
        assert_eq!(s.finish_at, ms(250));
    }

    #[test]
    fn error_response_has_headers_and_no_content() {
        let r = CallRecord {
            deployment: "gpt-4o".into(),
            stream: true,
            status: Some(400),
            outcome: Outcome::Failed,
            timing: Timings {
                ttfb_ms: Some(80.0),
                e2e_ms: Some(90.0),
                ..Default::default()
            },
            events: vec![ev(
                90.0,
                r#"{"error":{"code":"content_filter","message":"no"}}"#.into(),
            )],
            ..Default::default()
        };
        let s = schedule(&call(r), Speed::X1);
        assert_eq!(s.steps.len(), 2);
        assert!(matches!(s.steps[1], (d, CallEvent::Headers { status: 400, .. }) if d == ms(80)));
        assert_eq!(s.finish_at, ms(90));
        assert_eq!(s.record.outcome, Outcome::Failed);
    }

    #[test]
    fn retried_calls_show_each_attempt_and_the_wait() {
        let mut r = streamed();
        r.attempts = vec![
            Attempt {
                deployment: "gpt-4o".into(),
                status: Some(429),
                retry_after_ms: Some(1000),
                waited_ms: 1000,
                ..Default::default()
            },
            Attempt {
                deployment: "gpt-4o".into(),
                status: Some(200),
                ..Default::default()
            },
        ];
        let s = schedule(&call(r), Speed::X10);
        assert_eq!(
            s.steps[..3],
            [
                (ms(0), started(1)),
                (
                    ms(0),
                    CallEvent::Retrying {
                        after_ms: 1000,
                        status: Some(429),
                        next_deployment: "gpt-4o".into()
                    }
                ),
                (ms(100), started(2)),
            ]
        );
        assert_eq!(
            s.steps[3].0,
            ms(110),
            "the last attempt's offsets count from its own start"
        );
        assert_eq!(s.finish_at, ms(150));
    }

    #[test]
    fn no_status_means_no_headers_and_offsets_never_go_back() {
        let r = CallRecord {
            stream: true,
            outcome: Outcome::Failed,
            text: String::new(),
            events: vec![ev(50.0, chunk("b")), ev(20.0, chunk("a"))],
            ..Default::default()
        };
        let s = schedule(&call(r), Speed::X1);
        assert!(
            !s.steps
                .iter()
                .any(|(_, e)| matches!(e, CallEvent::Headers { .. }))
        );
        let at: Vec<Duration> = s.steps.iter().map(|(d, _)| *d).collect();
        assert_eq!(at, vec![ms(0), ms(50), ms(50), ms(50)]);
        assert_eq!(s.finish_at, ms(50));
    }

    #[test]
    fn speeds_cycle_and_parse() {
        assert_eq!(Speed::from_factor(0.0), Speed::Instant);
        assert_eq!(Speed::from_factor(1.0), Speed::X1);
        assert_eq!(Speed::from_factor(2.0), Speed::X2);
        assert_eq!(Speed::from_factor(10.0), Speed::X10);
        assert_eq!(Speed::X1.next().next().next().next(), Speed::X1);
        assert_eq!(Speed::X10.label(), "10x");
    }

    #[tokio::test]
    async fn play_sends_every_event_then_the_record_and_a_stop_ends_it_cancelled() {
        let cancel = CancellationToken::new();
        let s = schedule(&call(streamed()), Speed::Instant);
        let want: Vec<CallEvent> = s.steps.iter().map(|(_, e)| e.clone()).collect();
        let mut got = Vec::new();
        let rec = play(9, s, &cancel, |e| got.push(e)).await;
        assert_eq!(got, want);
        assert_eq!(
            (rec.id, rec.outcome, rec.text.as_str()),
            (9, Outcome::Done, "Hello world")
        );

        // Stopped before its first step (at 0 ms at 1x): ends at once, cancelled, no text.
        cancel.cancel();
        let rec = play(10, schedule(&call(streamed()), Speed::X1), &cancel, |_| {}).await;
        assert_eq!(
            (rec.id, rec.outcome, rec.text.as_str()),
            (10, Outcome::Cancelled, "")
        );
    }
}
