//! Pure reducer over parsed SSE chunks: accumulates text, finish reason, usage, id and model.
//! Liberal in what it accepts (azure-wire.md §4.2): the annotation chunk has empty id/model
//! and must not set them; async-filter annotation chunks carry no delta; usage may arrive on
//! a chunk with no choices.

use crate::wire::{ChunkIn, WireUsage};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamState {
    pub id: Option<String>,
    pub model: Option<String>,
    pub text: String,
    pub finish_reason: Option<String>,
    pub usage: Option<WireUsage>,
    pub content_chunks: u64,
    pub saw_done: bool,
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
            if let Some(fr) = &choice.finish_reason {
                self.finish_reason = Some(fr.clone());
            }
            if let Some(content) = choice.delta.as_ref().and_then(|d| d.content.as_deref()) {
                if !content.is_empty() {
                    self.text.push_str(content);
                    self.content_chunks += 1;
                    delta_out = Some(content);
                }
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
}
