//! Reading an answer: a whole body (Chat Completions or Responses) or a stream of events,
//! with the idle timeout and cancellation; what arrived is always kept in the attempt.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The most bytes of a whole (non-streamed) answer read: far above any real completion,
/// the same bound as an embeddings body.
const MAX_COMPLETION: usize = 32 << 20;

use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::super::call_error::{cancelled_error, excerpt, transport_error};
use super::super::sse::{Body, MAX_EVENT, capped, finish_body, normalized};
use super::{AttemptEnd, ChatClient, ms_since};
use crate::domain::call::{CallError, CallEvent, CallSpec, ErrorKind, SseEvent, WireApi};
use crate::domain::responses::{DeltaKind, ResponsesState};
use crate::wire::{ChunkIn, CompletionIn, ErrorInfo};

impl ChatClient {
    /// The next non-empty body chunk, with the idle timeout and cancellation. `None` at the
    /// end of the body or on failure (then `end.error` is set).
    pub(super) async fn next_chunk(
        &self,
        body: &mut Body,
        sent: Instant,
        cancel: &CancellationToken,
        end: &mut AttemptEnd,
    ) -> Option<bytes::Bytes> {
        loop {
            match self.next_within(body, sent, cancel, end).await? {
                None => return None,
                Some(Err(e)) => {
                    end.error = Some(transport_error(&e, "while reading the body"));
                    return None;
                }
                Some(Ok(b)) if b.is_empty() => continue,
                Some(Ok(b)) => return Some(b),
            }
        }
    }

    /// The next item of `stream`, unless the call is cancelled or the stream goes silent
    /// for the idle timeout first: then `None`, with `end` saying which (what arrived is
    /// kept). `Some(None)` is the end of the stream.
    pub(super) async fn next_within<S: futures_util::Stream + Unpin>(
        &self,
        stream: &mut S,
        sent: Instant,
        cancel: &CancellationToken,
        end: &mut AttemptEnd,
    ) -> Option<Option<S::Item>> {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                end.marks.done = Some(sent.elapsed());
                end.error = Some(cancelled_error());
                None
            }
            n = tokio::time::timeout(self.cfg.timeouts.idle, stream.next()) => match n {
                Err(_) => {
                    end.error = Some(self.idle_error());
                    None
                }
                Ok(item) => Some(item),
            },
        }
    }

    /// Reads a body with the idle timeout, keeping at most `limit` bytes. Best effort: an
    /// error body that breaks off is still reported with what arrived.
    pub(super) async fn read_body(&self, resp: reqwest::Response, limit: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Ok(Some(Ok(chunk))) =
            tokio::time::timeout(self.cfg.timeouts.idle, stream.next()).await
        {
            let room = limit.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if out.len() >= limit {
                break;
            }
        }
        out
    }

    pub(super) async fn read_completion(
        &self,
        mut body: Body,
        sent: Instant,
        spec: &CallSpec,
        cancel: &CancellationToken,
        end: &mut AttemptEnd,
        on_event: &mut (dyn FnMut(CallEvent) + Send),
    ) {
        // Read fully (idle timeout between chunks), then parse.
        let capture = spec.capture_events;
        let mut bytes = Vec::new();
        while let Some(b) = self.next_chunk(&mut body, sent, cancel, end).await {
            if bytes.len() + b.len() > MAX_COMPLETION {
                end.error = Some(CallError::new(
                    ErrorKind::BadBody,
                    format!(
                        "the response body is over {} MiB: stopped reading",
                        MAX_COMPLETION >> 20
                    ),
                ));
                return;
            }
            bytes.extend_from_slice(&b);
        }
        if end.error.is_some() {
            if capture && !bytes.is_empty() {
                end.events.push(SseEvent {
                    t_ms: ms_since(sent),
                    data: String::from_utf8_lossy(&bytes).into_owned(),
                });
            }
            return;
        }
        self.parse_completion(&bytes, sent, spec, end, on_event);
    }

    pub(super) fn parse_completion(
        &self,
        body: &[u8],
        sent: Instant,
        spec: &CallSpec,
        end: &mut AttemptEnd,
        on_event: &mut (dyn FnMut(CallEvent) + Send),
    ) {
        // One time for the whole body: when it arrived. The recorded event and the
        // first-token mark must agree (a recording's TTFT is read back from the event's time).
        let at = sent.elapsed();
        if spec.capture_events {
            let data = String::from_utf8_lossy(body).into_owned();
            end.events.push(SseEvent {
                t_ms: at.as_secs_f64() * 1000.0,
                data,
            });
        }
        if self.wire_api(spec) == WireApi::Responses {
            match super::super::responses::parse_body(body) {
                Ok(rs) => {
                    if !rs.text.is_empty() {
                        end.marks.first_content = Some(at);
                        end.marks.last_content = Some(at);
                        on_event(CallEvent::FirstToken {
                            ttft_ms: at.as_secs_f64() * 1000.0,
                        });
                        on_event(CallEvent::Delta(rs.text.clone()));
                    }
                    end.error = super::super::responses::settle(rs, &mut end.state, false);
                }
                Err(e) => end.error = Some(e),
            }
            return;
        }
        match serde_json::from_slice::<CompletionIn>(body) {
            Ok(c) if c.error.is_some() => {
                // A 2xx carrying an error envelope (some gateways do this).
                let info = ErrorInfo::from_value(&serde_json::json!({ "error": c.error }))
                    .unwrap_or_default();
                let mut ce = CallError::new(ErrorKind::StreamError, info.message);
                ce.code = info.code;
                end.error = Some(ce);
            }
            Ok(c) => {
                let first = c.choices.iter().find(|ch| ch.index == 0);
                let content = first
                    .and_then(|ch| ch.message.as_ref())
                    .and_then(|m| m.content.clone())
                    .unwrap_or_default();
                if !content.is_empty() {
                    end.marks.first_content = Some(at);
                    end.marks.last_content = Some(at);
                    on_event(CallEvent::FirstToken {
                        ttft_ms: at.as_secs_f64() * 1000.0,
                    });
                    on_event(CallEvent::Delta(content.clone()));
                }
                end.state.text = content;
                end.state.finish_reason = first.and_then(|ch| ch.finish_reason.clone());
                end.state.tool_calls = first
                    .and_then(|ch| ch.message.as_ref())
                    .and_then(|m| m.tool_calls.as_ref())
                    .and_then(|t| t.as_array())
                    .map_or(0, |a| a.len() as u32);
                end.state.usage = c.usage;
                end.state.model = (!c.model.is_empty()).then_some(c.model);
                end.state.id = (!c.id.is_empty()).then_some(c.id);
            }
            Err(e) => {
                let text = String::from_utf8_lossy(body);
                let shown = if text.trim().is_empty() {
                    "the body is empty".to_string()
                } else {
                    excerpt(text.trim())
                };
                end.error = Some(CallError::new(
                    ErrorKind::BadBody,
                    format!("response body is not a chat completion ({e}): {shown}"),
                ));
            }
        }
    }

    pub(super) fn idle_error(&self) -> CallError {
        let secs = self.cfg.timeouts.idle.as_secs_f64();
        CallError::new(
            ErrorKind::Timeout,
            format!("stream went silent for {secs:.1} s (idle timeout)"),
        )
    }

    pub(super) async fn read_stream(
        &self,
        body: Body,
        sent: Instant,
        spec: &CallSpec,
        cancel: &CancellationToken,
        end: &mut AttemptEnd,
        on_event: &mut (dyn FnMut(CallEvent) + Send),
    ) {
        let (capture, delta_text) = (spec.capture_events, spec.delta_text);
        let over = Arc::new(AtomicBool::new(false));
        let body = capped(body, MAX_EVENT, over.clone());
        let mut events = Box::pin(normalized(body)).eventsource();
        // An event past MAX_EVENT ends the body early: say so rather than parse the rest.
        let too_big = |end: &mut AttemptEnd, event_no: u64| {
            end.error = Some(CallError::new(
                ErrorKind::MalformedSse,
                format!(
                    "stream event {} is over {} MiB: stopped reading",
                    event_no + 1,
                    MAX_EVENT >> 20
                ),
            ));
        };
        let mut event_no = 0u64;
        let mut responses =
            (self.wire_api(spec) == WireApi::Responses).then(ResponsesState::default);
        // A content delta: the first one is the first token; text only when asked for. A
        // reasoning-summary delta is timed apart and never counts as the first token.
        let mut deliver = |end: &mut AttemptEnd, at: Duration, kind: DeltaKind, delta: &str| {
            let text = if delta_text {
                delta.to_string()
            } else {
                String::new()
            };
            if kind == DeltaKind::Summary {
                end.marks.first_summary.get_or_insert(at);
                on_event(CallEvent::Summary(text));
                return;
            }
            if end.marks.first_content.is_none() {
                end.marks.first_content = Some(at);
                on_event(CallEvent::FirstToken {
                    ttft_ms: at.as_secs_f64() * 1000.0,
                });
            }
            end.marks.last_content = Some(at);
            on_event(CallEvent::Delta(text));
        };
        loop {
            // Cancelled or silent: keep what arrived (status, headers, marks, text, events).
            let Some(next) = self.next_within(&mut events, sent, cancel, end).await else {
                return;
            };
            if over.load(Ordering::SeqCst) {
                return too_big(end, event_no);
            }
            let ev = match next {
                None => break,
                Some(Ok(ev)) => ev,
                Some(Err(EventStreamError::Utf8(e))) => {
                    end.error = Some(CallError::new(
                        ErrorKind::MalformedSse,
                        format!("stream event {} is not valid UTF-8: {e}", event_no + 1),
                    ));
                    return;
                }
                Some(Err(EventStreamError::Parser(e))) => {
                    end.error = Some(CallError::new(
                        ErrorKind::MalformedSse,
                        format!("stream event {} could not be parsed: {e}", event_no + 1),
                    ));
                    return;
                }
                Some(Err(EventStreamError::Transport(e))) => {
                    let mut err = transport_error(&e, "mid-stream");
                    err.message = format!("{} after {} events", err.message, event_no);
                    end.error = Some(err);
                    return;
                }
            };
            event_no += 1;
            // One arrival time per event, for both the marks and the captured event.
            let at = sent.elapsed();
            if capture {
                end.events.push(SseEvent {
                    t_ms: at.as_secs_f64() * 1000.0,
                    data: ev.data.clone(),
                });
            }
            let data = ev.data.trim();
            if data.is_empty() {
                continue;
            }
            if let Some(rs) = responses.as_mut() {
                let delta = match super::super::responses::step(rs, data, event_no) {
                    Ok(d) => d,
                    Err(e) => {
                        end.error = Some(e);
                        return;
                    }
                };
                // TTFT is the first answer token; reasoning-summary text is not the answer,
                // and is timed and shown apart.
                if let Some((kind, d)) = delta {
                    deliver(end, at, kind, &d);
                }
                if rs.ended {
                    end.marks.done = Some(at);
                    finish_body(events).await;
                    break;
                }
                continue;
            }
            if data == "[DONE]" {
                end.state.saw_done = true;
                end.marks.done = Some(at);
                finish_body(events).await;
                break;
            }
            let chunk: ChunkIn = match serde_json::from_str(data) {
                Ok(c) => c,
                Err(e) => {
                    end.error = Some(CallError::new(
                        ErrorKind::MalformedSse,
                        format!(
                            "stream event {event_no} is not valid JSON ({e}): {}",
                            excerpt(data)
                        ),
                    ));
                    return;
                }
            };
            if let Some(err) = &chunk.error {
                let info =
                    ErrorInfo::from_value(&serde_json::json!({ "error": err })).unwrap_or_default();
                let mut ce = CallError::new(
                    ErrorKind::StreamError,
                    format!("error event mid-stream: {}", info.message),
                );
                ce.code = info.code;
                end.error = Some(ce);
                return;
            }
            if let Some(delta) = end.state.apply(&chunk) {
                deliver(end, at, DeltaKind::Answer, delta);
            }
        }
        if let Some(rs) = responses
            && let Some(e) = super::super::responses::settle(rs, &mut end.state, true)
        {
            end.error = Some(e);
            return;
        }
        if end.state.finish_reason.is_none() {
            end.error = Some(CallError::new(
                ErrorKind::Truncated,
                format!(
                    "stream closed before any finish_reason after {} events ({} content chunks kept)",
                    event_no, end.state.content_chunks
                ),
            ));
        } else if !end.state.saw_done {
            end.notes
                .push("stream ended without `data: [DONE]` (treated as complete)".to_string());
        }
        if end.state.usage.is_none() && end.error.is_none() {
            end.notes
                .push(crate::domain::call::NO_USAGE_NOTE.to_string());
        }
    }
}
