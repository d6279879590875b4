//! Serde types for the Azure OpenAI data-plane wire format (chat completions, SSE chunks,
//! usage, error bodies). Pure: no I/O. Field order is alphabetical where Azure sends it so
//! (see `../shared/docs/azure-wire.md` §4.1), which makes the simulator's bytes match.
//! [`arm`]: the management-plane bodies (accounts, deployments, usages, models, errors).

pub mod arm;
pub mod embeddings;
pub mod responses;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One chat message of a request. `content` is kept as a JSON value because the
/// service accepts both a string and an array of content parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    #[serde(default)]
    pub content: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    pub fn new(role: &str, content: &str) -> Self {
        Self {
            role: role.to_string(),
            content: Value::String(content.to_string()),
            name: None,
            tool_calls: None,
            tool_call_id: None,
        }
    }

    /// The textual content: a string, or the `text` parts of an array joined.
    pub fn text(&self) -> String {
        match &self.content {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

/// A chat-completions request body. Unknown fields are preserved in `extra` so a request
/// can be forwarded or recorded without losing anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub messages: Vec<ChatMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl ChatRequest {
    pub fn is_stream(&self) -> bool {
        self.stream.unwrap_or(false)
    }
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }
    /// The output budget the caller asked for, whichever parameter carried it.
    pub fn output_budget(&self) -> Option<u32> {
        self.max_completion_tokens.or(self.max_tokens)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    #[serde(default)]
    pub audio_tokens: u64,
    #[serde(default)]
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompletionTokensDetails {
    #[serde(default)]
    pub accepted_prediction_tokens: u64,
    #[serde(default)]
    pub audio_tokens: u64,
    #[serde(default)]
    pub reasoning_tokens: u64,
    #[serde(default)]
    pub rejected_prediction_tokens: u64,
}

/// `usage` as Azure sends it (keys alphabetical).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireUsage {
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    #[serde(default)]
    pub total_tokens: u64,
}

/// A streamed `chat.completion.chunk` as the client reads it. Everything is optional: the
/// annotation chunk has empty id/model, the usage chunk has no choices. Keys not named here
/// are ignored, among them `obfuscation` (random padding on every chunk since late 2025,
/// tests/fixtures/conformance/01, 02, 05–12), `service_tier` and `latency_checkpoint`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChunkIn {
    #[serde(default)]
    pub id: String,
    /// `model_name` is what some OpenAI-compatible servers send instead.
    #[serde(default, alias = "model_name")]
    pub model: String,
    #[serde(default)]
    pub choices: Vec<ChunkChoiceIn>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    #[serde(default)]
    pub system_fingerprint: Option<String>,
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChunkChoiceIn {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub delta: Option<DeltaIn>,
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Asynchronous filter mode: which span of the answer a late verdict covers
    /// (tests/fixtures/conformance/13: after the finish chunk, no `delta`).
    #[serde(default)]
    pub content_filter_offsets: Option<FilterOffsets>,
    /// Per-category verdicts, `{"hate":{"filtered":false,"severity":"safe"},…}`.
    #[serde(default)]
    pub content_filter_results: Option<Value>,
}

/// `content_filter_offsets` of an async-filter annotation chunk (characters of the answer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterOffsets {
    #[serde(default)]
    pub check_offset: u64,
    #[serde(default)]
    pub start_offset: u64,
    #[serde(default)]
    pub end_offset: u64,
}

/// The categories a `content_filter_results` object marks `filtered: true`, in its order.
/// A custom blocklist hit is named after its list (`custom_blocklists:NoBanana`), as
/// recorded in tests/fixtures/conformance/13.
pub fn filtered_categories(results: &Value) -> Vec<String> {
    let Some(map) = results.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, v) in map {
        if v.get("filtered").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let lists: Vec<&str> = v
            .get("details")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|d| d.get("filtered").and_then(Value::as_bool) == Some(true))
            .filter_map(|d| d.get("id").and_then(Value::as_str))
            .collect();
        if lists.is_empty() {
            out.push(name.clone());
        } else {
            out.extend(lists.iter().map(|id| format!("{name}:{id}")));
        }
    }
    out
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeltaIn {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Value>,
    /// Some servers put the finish reason inside the delta instead of beside it.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// A non-streamed `chat.completion` as the client reads it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CompletionIn {
    #[serde(default)]
    pub id: String,
    #[serde(default, alias = "model_name")]
    pub model: String,
    #[serde(default)]
    pub choices: Vec<CompletionChoiceIn>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    /// An error envelope in a 2xx body (some gateways answer so).
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CompletionChoiceIn {
    #[serde(default)]
    pub index: u32,
    #[serde(default)]
    pub message: Option<MessageIn>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MessageIn {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Value>,
}

/// The error envelope. Azure uses two shapes: `{"error":{"code","message",...}}` and the flat
/// bearer-token one `{"statusCode":401,"message":"..."}` (azure-wire.md §1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorInfo {
    pub code: Option<String>,
    pub message: String,
    pub kind: Option<String>,
    pub param: Option<String>,
}

impl ErrorInfo {
    /// Parses either envelope; `None` when the body is not a JSON error at all (e.g. HTML).
    pub fn parse(body: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(body).ok()?;
        Self::from_value(&v)
    }

    pub fn from_value(v: &Value) -> Option<Self> {
        let str_of = |v: Option<&Value>| -> Option<String> {
            match v? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        if let Some(e) = v.get("error").filter(|e| e.is_object()) {
            return Some(Self {
                code: str_of(e.get("code")),
                message: str_of(e.get("message")).unwrap_or_default(),
                kind: str_of(e.get("type")),
                param: str_of(e.get("param")),
            });
        }
        if v.get("statusCode").is_some() || v.get("message").is_some() {
            return Some(Self {
                code: str_of(v.get("statusCode")),
                message: str_of(v.get("message")).unwrap_or_default(),
                kind: None,
                param: None,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_error_envelopes() {
        let a =
            ErrorInfo::parse(br#"{"error":{"code":"DeploymentNotFound","message":"x"}}"#).unwrap();
        assert_eq!(a.code.as_deref(), Some("DeploymentNotFound"));
        let b = ErrorInfo::parse(br#"{"statusCode":401,"message":"Unauthorized."}"#).unwrap();
        assert_eq!(b.code.as_deref(), Some("401"));
        assert_eq!(b.message, "Unauthorized.");
        assert!(ErrorInfo::parse(b"<html>502</html>").is_none());
    }

    #[test]
    fn chunk_with_obfuscation_parses() {
        // A content chunk as recorded in tests/fixtures/conformance/05 (obfuscation between
        // `model` and `object`, service_tier beside it as in 11).
        let c: ChunkIn = serde_json::from_str(
            r#"{"choices":[{"content_filter_results":{},"delta":{"content":"Why"},"finish_reason":null,"index":0,"logprobs":null}],"created":1774962762,"id":"chatcmpl-DPTBaSsimU1JbOyrWiQNkSSfOPQE7","model":"gpt-4.1-mini-2025-04-14","obfuscation":"3kqZ8m","object":"chat.completion.chunk","service_tier":"default","system_fingerprint":"fp_1","usage":null}"#,
        )
        .unwrap();
        assert_eq!(
            c.choices[0].delta.as_ref().unwrap().content.as_deref(),
            Some("Why")
        );
        assert_eq!(c.model, "gpt-4.1-mini-2025-04-14");
    }

    #[test]
    fn async_filter_annotation_parses() {
        // tests/fixtures/conformance/13, the first chunk after `finish_reason:"stop"`.
        let c: ChunkIn = serde_json::from_str(
            r#"{"choices":[{"content_filter_offsets":{"check_offset":105,"start_offset":105,"end_offset":992},"content_filter_results":{"custom_blocklists":{"details":[{"filtered":true,"id":"TestBlocklistNoBanana"}],"filtered":true},"hate":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}},"finish_reason":null,"index":0}],"created":0,"id":"","model":"","object":""}"#,
        )
        .unwrap();
        let ch = &c.choices[0];
        assert!(ch.delta.is_none());
        assert_eq!(
            ch.content_filter_offsets,
            Some(FilterOffsets {
                check_offset: 105,
                start_offset: 105,
                end_offset: 992
            })
        );
        assert_eq!(
            filtered_categories(ch.content_filter_results.as_ref().unwrap()),
            vec!["custom_blocklists:TestBlocklistNoBanana", "violence"]
        );
        assert!(filtered_categories(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn request_keeps_unknown_fields() {
        let r: ChatRequest = serde_json::from_str(
            r#"{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low","max_tokens":5}"#,
        )
        .unwrap();
        assert_eq!(r.extra.get("reasoning_effort").unwrap(), "low");
        assert_eq!(r.output_budget(), Some(5));
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["reasoning_effort"], "low");
    }

    #[test]
    fn message_text_joins_parts() {
        let m: ChatMessage = serde_json::from_str(
            r#"{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}"#,
        )
        .unwrap();
        assert_eq!(m.text(), "ab");
    }
}
