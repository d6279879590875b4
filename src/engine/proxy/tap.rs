//! The proxy's measurement: the response bytes, teed as they pass, read into the same facts a
//! client call records (first content token, text, finish reason, usage, errors). It never
//! holds the stream back: [`Tap::feed`] is handed a chunk after (or while) it is forwarded,
//! and only reads it.
//!
//! A body is an event stream or a JSON document, told by its first bytes (as the client
//! does). Event streams are split into lines; each event's `data` is reduced by the pure
//! reducers of the call record: chat chunks by [`StreamState`], Responses events by
//! [`ResponsesState`]. A JSON body is kept (up to [`MAX_BODY`]) and read once it ended.

use std::time::Duration;

use serde_json::Value;

use crate::domain::call::{CallError, ErrorKind, SseEvent, WireApi};
use crate::domain::ratelimit::classify_429;
use crate::domain::responses::{DeltaKind, ResponsesState};
use crate::domain::stream::StreamState;
use crate::wire::responses::{ResponseEventIn, ResponseIn};
use crate::wire::{ChunkIn, ErrorInfo, WireUsage};

/// The most of a JSON body (or of one event-stream line) the tap keeps for reading. Bytes
/// beyond it are still forwarded; the call is noted as not measured.
pub const MAX_BODY: usize = 32 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Sse,
    Json,
}

/// What the tap read from one response.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub id: Option<String>,
    pub model: Option<String>,
    pub text: String,
    pub reasoning_summary: String,
    pub finish_reason: Option<String>,
    pub usage: Option<WireUsage>,
    pub content_chunks: u64,
    pub tool_calls: u32,
    pub first_content: Option<Duration>,
    pub last_content: Option<Duration>,
    pub first_summary: Option<Duration>,
    /// The stream's end was seen: `[DONE]` (chat) or a terminal event (Responses).
    pub ended: bool,
    /// Whether the body was an event stream.
    pub sse: bool,
    /// A non-2xx body's error, or a failure reported inside a 200 stream.
    pub error: Option<CallError>,
    pub notes: Vec<String>,
    pub events: Vec<SseEvent>,
}

/// Reads a response as it passes.
#[derive(Debug)]
pub struct Tap {
    wire_api: WireApi,
    status: u16,
    capture: bool,
    kind: Kind,
    line: Vec<u8>,
    data: String,
    has_data: bool,
    body: Vec<u8>,
    overflow: bool,
    chat: StreamState,
    resp: ResponsesState,
    malformed: u32,
    out: Reading,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Tap {
    /// `capture`: keep every event (or the whole body) with its offset, for a scenario.
    pub fn new(wire_api: WireApi, status: u16, capture: bool) -> Self {
        Tap {
            wire_api,
            status,
            capture,
            kind: Kind::Unknown,
            line: Vec::new(),
            data: String::new(),
            has_data: false,
            body: Vec::new(),
            overflow: false,
            chat: StreamState::default(),
            resp: ResponsesState::default(),
            malformed: 0,
            out: Reading::default(),
        }
    }

    /// The first content token arrived (TTFT), if it did.
    pub fn first_content(&self) -> Option<Duration> {
        self.out.first_content
    }

    /// What streamed so far: the answer text, the reasoning summary and the content chunks
    /// (a live view follows a call with it; the final figures come from [`Tap::finish`]).
    pub fn progress(&self) -> (&str, &str, u64) {
        match self.wire_api {
            WireApi::Chat => (
                &self.chat.text,
                &self.chat.reasoning_summary,
                self.chat.content_chunks,
            ),
            WireApi::Responses => (
                &self.resp.text,
                &self.resp.summary,
                self.resp.content_chunks,
            ),
        }
    }

    /// Reads one chunk that arrived `at` after the request was sent.
    pub fn feed(&mut self, bytes: &[u8], at: Duration) {
        if self.kind == Kind::Unknown {
            let start = bytes.iter().position(|c| !c.is_ascii_whitespace());
            let Some(start) = start else {
                self.keep_json(bytes);
                return;
            };
            let is_json =
                matches!(bytes[start], b'{' | b'[') && !bytes[start..].starts_with(b"[DONE]");
            self.kind = if is_json || !(200..300).contains(&self.status) {
                Kind::Json
            } else {
                Kind::Sse
            };
            self.out.sse = self.kind == Kind::Sse;
        }
        match self.kind {
            Kind::Sse => self.feed_sse(bytes, at),
            Kind::Json | Kind::Unknown => self.keep_json(bytes),
        }
    }

    fn keep_json(&mut self, bytes: &[u8]) {
        if self.body.len() + bytes.len() > MAX_BODY {
            self.overflow = true;
            return;
        }
        self.body.extend_from_slice(bytes);
    }

    fn feed_sse(&mut self, mut bytes: &[u8], at: Duration) {
        while let Some(nl) = memchr::memchr(b'\n', bytes) {
            if self.line.is_empty() {
                self.take_line(&bytes[..nl], at);
            } else {
                self.push_line(&bytes[..nl]);
                let line = std::mem::take(&mut self.line);
                self.take_line(&line, at);
                self.line = line;
                self.line.clear();
            }
            bytes = &bytes[nl + 1..];
        }
        self.push_line(bytes);
    }

    fn push_line(&mut self, bytes: &[u8]) {
        if self.line.len() + bytes.len() > MAX_BODY {
            self.overflow = true;
            self.line.clear();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn take_line(&mut self, line: &[u8], at: Duration) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch(at);
            return;
        }
        let payload = if let Some(rest) = line.strip_prefix(b"data:") {
            rest.strip_prefix(b" ").unwrap_or(rest)
        } else if line == b"[DONE]" {
            line
        } else {
            // `event:`, `id:`, `retry:`, comments: the payload's `type` says it all.
            return;
        };
        if self.has_data {
            self.data.push('\n');
        }
        self.data.push_str(&String::from_utf8_lossy(payload));
        self.has_data = true;
    }

    fn dispatch(&mut self, at: Duration) {
        if !self.has_data {
            return;
        }
        let data = std::mem::take(&mut self.data);
        self.has_data = false;
        if self.capture {
            self.out.events.push(SseEvent {
                t_ms: ms(at),
                data: data.clone(),
            });
        }
        if data == "[DONE]" {
            self.out.ended = true;
            return;
        }
        match self.wire_api {
            WireApi::Chat => self.chat_event(&data, at),
            WireApi::Responses => self.responses_event(&data, at),
        }
    }

    fn content_at(&mut self, at: Duration) {
        self.out.first_content.get_or_insert(at);
        self.out.last_content = Some(at);
    }

    fn chat_event(&mut self, data: &str, at: Duration) {
        let Ok(chunk) = serde_json::from_str::<ChunkIn>(data) else {
            self.malformed += 1;
            return;
        };
        if let Some(e) = &chunk.error {
            let info = ErrorInfo::from_value(&serde_json::json!({ "error": e }));
            let mut err = CallError::new(
                ErrorKind::StreamError,
                info.as_ref()
                    .map_or("error event in the stream".into(), |i| i.message.clone()),
            );
            err.code = info.and_then(|i| i.code);
            self.out.error = Some(err);
        }
        if self.chat.apply(&chunk).is_some() {
            self.content_at(at);
        }
    }

    fn responses_event(&mut self, data: &str, at: Duration) {
        let Ok(ev) = serde_json::from_str::<ResponseEventIn>(data) else {
            self.malformed += 1;
            return;
        };
        match self.resp.apply(&ev) {
            Some((DeltaKind::Answer, _)) => self.content_at(at),
            Some((DeltaKind::Summary, _)) => {
                self.out.first_summary.get_or_insert(at);
            }
            None => {}
        }
    }

    /// The reading once the body ended (or broke off) `at` after the request was sent.
    pub fn finish(mut self, at: Duration) -> Reading {
        if self.kind == Kind::Sse {
            if !self.line.is_empty() {
                let line = std::mem::take(&mut self.line);
                self.take_line(&line, at);
            }
            // A last event without its blank line still counts.
            self.dispatch(at);
        } else {
            // Read even when empty: a non-2xx answer with no body is still the service's error.
            let body = std::mem::take(&mut self.body);
            if self.capture && (!body.is_empty() || (200..300).contains(&self.status)) {
                self.out.events.push(SseEvent {
                    t_ms: ms(at),
                    data: String::from_utf8_lossy(&body).into_owned(),
                });
            }
            if !self.overflow {
                self.read_json(&body, at);
            }
        }
        if self.overflow {
            self.out.notes.push(format!(
                "a body or line over {MAX_BODY} bytes was forwarded but not measured"
            ));
        }
        if self.malformed > 0 {
            self.out
                .notes
                .push(format!("{} events were not valid JSON", self.malformed));
        }
        let mut out = self.out;
        // A Responses reading becomes a chat one as the client's does, its failure classified
        // the same way (a rate-limit code inside a 200 is a throttle).
        let s = match self.wire_api {
            WireApi::Chat => self.chat,
            WireApi::Responses => {
                let mut st = StreamState::default();
                let failure = crate::azure::responses::settle(self.resp, &mut st, out.sse);
                if out.error.is_none() {
                    out.error = failure;
                }
                st
            }
        };
        out.ended |= s.saw_done;
        out.id = s.id;
        out.model = s.model;
        out.text = s.text;
        out.reasoning_summary = s.reasoning_summary;
        out.finish_reason = s.finish_reason;
        out.usage = out.usage.or(s.usage);
        out.content_chunks = s.content_chunks;
        out.tool_calls = s.tool_calls;
        out
    }

    fn read_json(&mut self, body: &[u8], at: Duration) {
        if !(200..300).contains(&self.status) {
            self.out.error = Some(http_error(self.status, body));
            return;
        }
        match self.wire_api {
            WireApi::Responses => match serde_json::from_slice::<ResponseIn>(body) {
                Ok(r) => {
                    self.resp.take_response(&r);
                    self.resp.ended = true;
                    if !self.resp.text.is_empty() {
                        self.content_at(at);
                    }
                }
                Err(_) if body.is_empty() => {}
                Err(e) => self
                    .out
                    .notes
                    .push(format!("the body is not a response: {e}")),
            },
            WireApi::Chat => {
                let Ok(v) = serde_json::from_slice::<Value>(body) else {
                    if !body.is_empty() {
                        self.out.notes.push("the body is not JSON".into());
                    }
                    return;
                };
                self.out.usage = v
                    .get("usage")
                    .and_then(|u| serde_json::from_value::<WireUsage>(u.clone()).ok());
                let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
                self.chat.id = s(v.get("id")).filter(|i| !i.is_empty());
                self.chat.model = s(v.get("model")).filter(|m| !m.is_empty());
                let choice = v.get("choices").and_then(|c| c.get(0));
                self.chat.finish_reason = s(choice.and_then(|c| c.get("finish_reason")));
                let msg = choice.and_then(|c| c.get("message"));
                if let Some(text) = s(msg.and_then(|m| m.get("content"))) {
                    self.chat.text = text;
                    self.content_at(at);
                }
                self.chat.tool_calls = msg
                    .and_then(|m| m.get("tool_calls"))
                    .and_then(Value::as_array)
                    .map_or(0, |a| a.len() as u32);
                self.out.ended = true;
            }
        }
    }
}

/// A non-2xx answer as a [`CallError`]: the service's code and message; a 429 classified.
pub fn http_error(status: u16, body: &[u8]) -> CallError {
    let kind = if status == 429 {
        ErrorKind::Throttled
    } else {
        ErrorKind::Http
    };
    let (message, code) = match ErrorInfo::parse(body) {
        Some(i) => (i.message, i.code),
        None => {
            let text = String::from_utf8_lossy(body);
            let shown: String = text.trim().chars().take(120).collect();
            (
                if shown.is_empty() {
                    "empty body".into()
                } else {
                    shown
                },
                None,
            )
        }
    };
    CallError {
        kind,
        throttle: (status == 429).then(|| classify_429(&message)),
        message,
        status: Some(status),
        code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_millis(5);

    #[test]
    fn a_chat_stream_split_anywhere_reads_the_same() {
        let body = concat!(
            "data: {\"choices\":[],\"id\":\"\",\"model\":\"\"}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"\",\"role\":\"assistant\"},\"index\":0}],\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\"}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"},\"index\":0}],\"id\":\"c1\",\"model\":\"m\"}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"index\":0}],\"id\":\"c1\",\"model\":\"m\"}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\",\"index\":0}],\"id\":\"c1\",\"model\":\"m\"}\n\n",
            "data: {\"choices\":[],\"id\":\"c1\",\"model\":\"m\",\"usage\":{\"completion_tokens\":2,\"prompt_tokens\":7,\"total_tokens\":9}}\n\n",
            "data: [DONE]\n\n"
        )
        .as_bytes();
        for cut in [1, 7, 50, body.len()] {
            let mut tap = Tap::new(WireApi::Chat, 200, true);
            for (i, piece) in body.chunks(cut).enumerate() {
                tap.feed(piece, T * i as u32);
            }
            let r = tap.finish(T * 1000);
            assert_eq!(r.text, "Hello", "cut {cut}");
            assert!(r.ended && r.sse);
            assert_eq!(r.finish_reason.as_deref(), Some("stop"));
            assert_eq!(r.usage.unwrap().total_tokens, 9);
            assert_eq!(r.model.as_deref(), Some("gpt-4o-2024-08-06"));
            assert_eq!(r.events.len(), 7);
            assert!(r.first_content.is_some());
        }
    }

    #[test]
    fn the_first_content_is_the_first_non_empty_delta() {
        let mut tap = Tap::new(WireApi::Chat, 200, false);
        tap.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"\",\"role\":\"assistant\"},\"index\":0}]}\n\n", T);
        assert_eq!(tap.first_content(), None);
        tap.feed(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"index\":0}]}\n\n",
            T * 2,
        );
        assert_eq!(tap.first_content(), Some(T * 2));
        let r = tap.finish(T * 3);
        assert!(!r.ended, "no [DONE]");
    }

    #[test]
    fn responses_events_and_a_429_body() {
        let mut tap = Tap::new(WireApi::Responses, 200, false);
        tap.feed(b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"delta\":\"Hi\"}\n\n", T);
        tap.feed(b"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"output\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1,\"total_tokens\":4}}}\n\n", T * 2);
        let r = tap.finish(T * 3);
        assert_eq!(
            (r.text.as_str(), r.finish_reason.as_deref()),
            ("Hi", Some("stop"))
        );
        assert!(r.ended);
        assert_eq!(r.usage.unwrap().prompt_tokens, 3);

        let mut tap = Tap::new(WireApi::Chat, 429, false);
        tap.feed(br#"{"error":{"code":"429","message":"Requests have exceeded token rate limit of your current tier. Please retry after 3 seconds."}}"#, T);
        let r = tap.finish(T);
        let e = r.error.unwrap();
        assert_eq!(e.kind, ErrorKind::Throttled);
        assert_eq!(
            e.throttle,
            Some(crate::domain::ratelimit::ThrottleKind::Tokens)
        );
        assert_eq!(e.code.as_deref(), Some("429"));
    }

    /// Found by fuzzing (fuzz/regressions/sse_chat/empty-429): a 429 or 503 with no body was
    /// read as no error, so the proxy recorded the call as done.
    #[test]
    fn an_error_status_with_an_empty_body_is_an_error() {
        for status in [429, 503] {
            let r = Tap::new(WireApi::Chat, status, true).finish(T);
            let e = r.error.expect("an error");
            assert_eq!(e.status, Some(status));
            assert_eq!(e.message, "empty body");
            assert!(r.events.is_empty());
        }
    }

    #[test]
    fn a_json_completion_is_read_whole() {
        let mut tap = Tap::new(WireApi::Chat, 200, false);
        let body = br#"{"choices":[{"finish_reason":"length","index":0,"message":{"content":"Yes","role":"assistant"}}],"id":"chatcmpl-9","model":"gpt-4o-mini-2024-07-18","usage":{"completion_tokens":1,"prompt_tokens":4,"total_tokens":5}}"#;
        tap.feed(&body[..10], T);
        tap.feed(&body[10..], T * 2);
        let r = tap.finish(T * 2);
        assert!(!r.sse);
        assert_eq!(r.text, "Yes");
        assert_eq!(r.id.as_deref(), Some("chatcmpl-9"));
        assert_eq!(r.finish_reason.as_deref(), Some("length"));
        assert_eq!(r.usage.unwrap().completion_tokens, 1);
    }
}
