//! Pure reducer over Responses API stream events, the counterpart of
//! [`crate::domain::stream::StreamState`] for chat chunks: it accumulates the answer, the
//! reasoning summary (timed apart from the answer: TTFT is the first `output_text` delta),
//! function calls, usage, and how the response ended, in the same terms a call record uses.
//!
//! Finish reasons are mapped to chat's: `completed` → `stop`, `incomplete` for
//! `max_output_tokens` → `length`, for `content_filter` → `content_filter`; a function call
//! that ends the response → `tool_calls`. A failure inside a 200 stream (`response.failed`, an
//! `error` event) is kept as [`ResponsesState::failure`] for the client to classify like an
//! HTTP error (a `rate_limit_exceeded` code is a throttle).

use crate::wire::WireUsage;
use crate::wire::responses::{ResponseEventIn, ResponseIn};

/// What a streamed delta was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaKind {
    /// Answer text (`response.output_text.delta`): counts for TTFT and tokens/s.
    Answer,
    /// Reasoning summary text (`response.reasoning_summary_text.delta`).
    Summary,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponsesState {
    pub id: Option<String>,
    pub model: Option<String>,
    pub text: String,
    pub summary: String,
    /// The response's `status` once it ended (`completed`, `incomplete`, `failed`, …).
    pub status: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Option<WireUsage>,
    pub content_chunks: u64,
    pub tool_calls: u32,
    /// `(code, message)` of a failure reported inside the stream.
    pub failure: Option<(Option<String>, String)>,
    /// A terminal event arrived (`response.completed`, `.incomplete`, `.failed`, `error`):
    /// the stream's end, since the Responses API sends no `[DONE]`.
    pub ended: bool,
    /// The last `sequence_number` seen, and how many were out of order.
    pub last_sequence: Option<u64>,
    pub out_of_order: u32,
}

impl ResponsesState {
    /// Applies one event; returns the text delta it carried and what it was.
    pub fn apply<'e>(&mut self, ev: &'e ResponseEventIn) -> Option<(DeltaKind, &'e str)> {
        if let Some(n) = ev.sequence_number {
            if self.last_sequence.is_some_and(|last| n <= last) {
                self.out_of_order += 1;
            }
            self.last_sequence = Some(n);
        }
        if let Some(r) = &ev.response {
            self.take_response(r);
        }
        match ev.kind.as_str() {
            "response.output_text.delta" => {
                let d = ev.delta.as_deref().filter(|d| !d.is_empty())?;
                self.text.push_str(d);
                self.content_chunks += 1;
                Some((DeltaKind::Answer, d))
            }
            "response.reasoning_summary_text.delta" => {
                let d = ev.delta.as_deref().filter(|d| !d.is_empty())?;
                self.summary.push_str(d);
                Some((DeltaKind::Summary, d))
            }
            "response.output_item.added" => {
                if ev.item.as_ref().is_some_and(|i| i.kind == "function_call") {
                    self.tool_calls += 1;
                }
                None
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.ended = true;
                None
            }
            "error" => {
                self.ended = true;
                self.failure = Some((ev.code.clone(), ev.message.clone().unwrap_or_default()));
                None
            }
            _ => None,
        }
    }

    /// A whole (non-stream) response body, or the `response` of a lifecycle event.
    pub fn take_response(&mut self, r: &ResponseIn) {
        if !r.id.is_empty() && self.id.is_none() {
            self.id = Some(r.id.clone());
        }
        if !r.model.is_empty() && self.model.is_none() {
            self.model = Some(r.model.clone());
        }
        if let Some(u) = &r.usage {
            self.usage = Some(WireUsage::from(u));
        }
        if matches!(r.status.as_str(), "" | "in_progress" | "queued") {
            return;
        }
        self.status = Some(r.status.clone());
        let calls = r
            .output
            .iter()
            .filter(|i| i.kind == "function_call")
            .count();
        self.tool_calls = self
            .tool_calls
            .max(u32::try_from(calls).unwrap_or(u32::MAX));
        self.finish_reason = Some(match r.status.as_str() {
            "completed" if self.tool_calls > 0 && r.output_text().is_empty() => "tool_calls".into(),
            "completed" => "stop".into(),
            "incomplete" => match r.incomplete_details.as_ref().map(|d| d.reason.as_str()) {
                Some("max_output_tokens") => "length".into(),
                Some("content_filter") => "content_filter".into(),
                Some(other) if !other.is_empty() => other.to_string(),
                _ => "incomplete".into(),
            },
            other => other.to_string(),
        });
        if r.status == "failed" {
            let e = r.error.clone().unwrap_or_default();
            self.failure = Some((e.code, e.message));
        }
        // A non-stream body (or a stream whose deltas were lost) still yields its text.
        if self.text.is_empty() {
            self.text = r.output_text();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> ResponseEventIn {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn reduces_deltas_summary_and_the_end() {
        let mut st = ResponsesState::default();
        st.apply(&ev(
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","model":"o4-mini","status":"in_progress","output":[]}}"#,
        ));
        assert_eq!(
            st.apply(&ev(
                r#"{"type":"response.reasoning_summary_text.delta","sequence_number":1,"delta":"Thinking"}"#
            )),
            Some((DeltaKind::Summary, "Thinking"))
        );
        assert_eq!(
            st.apply(&ev(
                r#"{"type":"response.output_text.delta","sequence_number":2,"delta":"Hi","obfuscation":"x1"}"#
            )),
            Some((DeltaKind::Answer, "Hi"))
        );
        assert!(!st.ended);
        st.apply(&ev(
            r#"{"type":"response.incomplete","sequence_number":3,"response":{"id":"resp_1","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[],"usage":{"input_tokens":5,"input_tokens_details":{"cached_tokens":2},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":4},"total_tokens":12}}}"#,
        ));
        assert!(st.ended);
        assert_eq!(st.finish_reason.as_deref(), Some("length"));
        assert_eq!((st.text.as_str(), st.summary.as_str()), ("Hi", "Thinking"));
        let u = st.usage.unwrap();
        assert_eq!((u.prompt_tokens, u.completion_tokens), (5, 7));
        assert_eq!(u.prompt_tokens_details.unwrap().cached_tokens, 2);
        assert_eq!(u.completion_tokens_details.unwrap().reasoning_tokens, 4);
        assert_eq!(
            (st.id.as_deref(), st.model.as_deref()),
            (Some("resp_1"), Some("o4-mini"))
        );
        assert_eq!(st.out_of_order, 0);
    }

    #[test]
    fn failures_in_a_200_stream_and_function_calls() {
        let mut st = ResponsesState::default();
        st.apply(&ev(
            r#"{"type":"error","sequence_number":4,"code":"rate_limit_exceeded","message":"Rate limit reached"}"#,
        ));
        assert!(st.ended);
        assert_eq!(
            st.failure,
            Some((
                Some("rate_limit_exceeded".into()),
                "Rate limit reached".into()
            ))
        );
        let mut st = ResponsesState::default();
        st.apply(&ev(
            r#"{"type":"response.output_item.added","item":{"type":"function_call","name":"get_weather"}}"#,
        ));
        st.apply(&ev(
            r#"{"type":"response.completed","response":{"status":"completed","output":[{"type":"function_call","name":"get_weather"}]}}"#,
        ));
        assert_eq!(
            (st.tool_calls, st.finish_reason.as_deref()),
            (1, Some("tool_calls"))
        );
        let mut st = ResponsesState::default();
        st.apply(&ev(
            r#"{"type":"response.failed","response":{"status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}}"#,
        ));
        assert_eq!(
            st.failure,
            Some((Some("server_error".into()), "boom".into()))
        );
    }
}
