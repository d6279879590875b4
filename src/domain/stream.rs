//! Pure reducer over parsed SSE chunks: accumulates text, finish reason, usage, id and model.
//! Liberal in what it accepts (azure-wire.md §4.2): the annotation chunk has empty id/model
//! and must not set them; async-filter annotation chunks carry no delta; usage may arrive on
//! a chunk with no choices.

use serde::{Deserialize, Serialize};

use crate::wire::{ChunkIn, WireUsage, filtered_categories};

/// The late verdict of Azure's asynchronous content filter: annotation chunks with
/// `content_filter_offsets` that arrive after the text they judge, even after the finish
/// chunk (tests/fixtures/conformance/13, azure-wire.md §4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncFilter {
    /// How many verdict chunks arrived.
    pub annotations: u32,
    /// Categories some verdict marked `filtered: true`, first seen first; empty = passed.
    pub filtered: Vec<String>,
    /// The furthest answer offset a verdict covered (`end_offset`).
    pub checked_to: u64,
}

impl AsyncFilter {
    pub fn passed(&self) -> bool {
        self.filtered.is_empty()
    }

    /// `filter (async): passed` or `filtered (async): violence, …`, for both front ends.
    pub fn summary(&self) -> String {
        if self.passed() {
            "filter (async): passed".to_string()
        } else {
            format!("filtered (async): {}", self.filtered.join(", "))
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamState {
    pub id: Option<String>,
    pub model: Option<String>,
    pub text: String,
    pub finish_reason: Option<String>,
    pub usage: Option<WireUsage>,
    pub content_chunks: u64,
    pub saw_done: bool,
    /// Distinct tool calls choice 0 asked for (streamed calls are counted by `index`).
    pub tool_calls: u32,
    /// Reasoning-summary text (the Responses API streams it before the answer).
    pub reasoning_summary: String,
    /// Set by the first async-filter verdict chunk.
    pub async_filter: Option<AsyncFilter>,
}

impl StreamState {
    /// Applies one chunk; returns the content delta it carried (for choice 0), if any.
    pub fn apply<'c>(&mut self, chunk: &'c ChunkIn) -> Option<&'c str> {
        if !chunk.id.is_empty() && self.id.is_none() {
            self.id = Some(chunk.id.clone());
        }
        if !chunk.model.is_empty() && self.model.is_none() {
            self.model = Some(chunk.model.clone());
        }
        if let Some(u) = &chunk.usage {
            self.usage = Some(u.clone());
        }
        let mut delta_out = None;
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            let delta = choice.delta.as_ref();
            if let Some(offsets) = &choice.content_filter_offsets {
                let f = self.async_filter.get_or_insert_with(AsyncFilter::default);
                f.annotations += 1;
                f.checked_to = f.checked_to.max(offsets.end_offset);
                if let Some(results) = &choice.content_filter_results {
                    for c in filtered_categories(results) {
                        if !f.filtered.contains(&c) {
                            f.filtered.push(c);
                        }
                    }
                }
            }
            if let Some(fr) = choice
                .finish_reason
                .as_ref()
                .or(delta.and_then(|d| d.finish_reason.as_ref()))
            {
                self.finish_reason = Some(fr.clone());
            }
            if let Some(calls) = delta
                .and_then(|d| d.tool_calls.as_ref())
                .and_then(|t| t.as_array())
            {
                for call in calls {
                    // A call's first fragment carries its `id` (later ones only arguments).
                    let index = call.get("index").and_then(|i| i.as_u64());
                    let starts = call.get("id").is_some_and(|id| id.is_string());
                    let n = match index {
                        Some(i) => u32::try_from(i).unwrap_or(u32::MAX - 1) + 1,
                        None if starts => self.tool_calls + 1,
                        None => continue,
                    };
                    self.tool_calls = self.tool_calls.max(n);
                }
            }
            if let Some(content) = delta.and_then(|d| d.content.as_deref())
                && !content.is_empty()
            {
                self.text.push_str(content);
                self.content_chunks += 1;
                delta_out = Some(content);
            }
        }
        delta_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(s: &str) -> ChunkIn {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn reduces_an_azure_stream() {
        let mut st = StreamState::default();
        let annotation = chunk(
            r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[]}"#,
        );
        assert_eq!(st.apply(&annotation), None);
        assert_eq!(st.id, None);
        let role = chunk(
            r#"{"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"id":"chatcmpl-1","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":null}"#,
        );
        assert_eq!(st.apply(&role), None, "empty role content is not a token");
        let d = chunk(
            r#"{"choices":[{"delta":{"content":"Hallo"},"finish_reason":null,"index":0}],"id":"chatcmpl-1","model":"gpt-4o-2024-08-06"}"#,
        );
        assert_eq!(st.apply(&d), Some("Hallo"));
        let fin = chunk(
            r#"{"choices":[{"delta":{},"finish_reason":"stop","index":0}],"id":"chatcmpl-1","model":"m"}"#,
        );
        st.apply(&fin);
        let usage = chunk(
            r#"{"choices":[],"id":"chatcmpl-1","model":"m","usage":{"completion_tokens":1,"prompt_tokens":5,"total_tokens":6}}"#,
        );
        st.apply(&usage);
        assert_eq!(st.text, "Hallo");
        assert_eq!(st.finish_reason.as_deref(), Some("stop"));
        assert_eq!(st.id.as_deref(), Some("chatcmpl-1"));
        assert_eq!(st.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(st.usage.unwrap().total_tokens, 6);
        assert_eq!(st.content_chunks, 1);
    }

    #[test]
    fn liberal_about_other_servers() {
        let mut st = StreamState::default();
        // `finish_reason` inside the delta, `model_name` for `model`, a new id per chunk.
        st.apply(&chunk(
            r#"{"id":"a","model_name":"m1","choices":[{"index":0,"delta":{"content":"x"}}]}"#,
        ));
        st.apply(&chunk(
            r#"{"id":"b","choices":[{"index":0,"delta":{"content":"y","finish_reason":"length"}}]}"#,
        ));
        assert_eq!(st.text, "xy");
        assert_eq!(st.model.as_deref(), Some("m1"));
        assert_eq!(st.id.as_deref(), Some("a"));
        assert_eq!(st.finish_reason.as_deref(), Some("length"));
        assert_eq!(st.usage, None);
    }

    #[test]
    fn keeps_the_late_async_verdict() {
        let mut st = StreamState::default();
        for c in [
            r#"{"choices":[{"delta":{"content":"Bananas"},"finish_reason":null,"index":0}],"id":"chatcmpl-1","model":"m"}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"stop","index":0}],"id":"chatcmpl-1","model":"m"}"#,
            r#"{"choices":[{"content_filter_offsets":{"check_offset":0,"start_offset":0,"end_offset":7},"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"high"}},"finish_reason":null,"index":0}],"created":0,"id":"","model":"","object":""}"#,
            r#"{"choices":[{"content_filter_offsets":{"check_offset":0,"start_offset":0,"end_offset":7},"content_filter_results":{"violence":{"filtered":true,"severity":"high"},"protected_material_text":{"detected":false,"filtered":false}},"finish_reason":null,"index":0}],"created":0,"id":"","model":"","object":""}"#,
        ] {
            st.apply(&chunk(c));
        }
        assert_eq!(st.text, "Bananas");
        assert_eq!(
            st.finish_reason.as_deref(),
            Some("stop"),
            "a null finish keeps stop"
        );
        let f = st.async_filter.unwrap();
        assert_eq!(
            f,
            AsyncFilter {
                annotations: 2,
                filtered: vec!["violence".into()],
                checked_to: 7
            }
        );
        assert_eq!(f.summary(), "filtered (async): violence");
    }

    #[test]
    fn synchronous_streams_have_no_async_verdict() {
        let mut st = StreamState::default();
        st.apply(&chunk(
            r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"x"},"index":0}]}"#,
        ));
        assert_eq!(st.async_filter, None);
        assert_eq!(AsyncFilter::default().summary(), "filter (async): passed");
    }

    #[test]
    fn counts_streamed_tool_calls() {
        let mut st = StreamState::default();
        for c in [
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","function":{"name":"g","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        ] {
            st.apply(&chunk(c));
        }
        assert_eq!(st.tool_calls, 2);
        assert_eq!(st.finish_reason.as_deref(), Some("tool_calls"));
    }
}
