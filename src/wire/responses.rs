//! Serde types for the Responses API (`POST {endpoint}/openai/v1/responses`, body `model` =
//! deployment; preview path `/openai/responses?api-version=2025-04-01-preview`), as the client
//! sends and reads it. Shapes follow real Azure recordings kept in
//! `tests/fixtures/conformance/91-93` (stream events with `event:` + `data:`, a
//! `sequence_number` on each, no `[DONE]`; pretty-printed non-stream bodies with a top-level
//! `content_filters` array). Pure: no I/O.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ChatMessage, CompletionTokensDetails, PromptTokensDetails, WireUsage};

/// A request body. `store` is sent as `false` unless asked: a console poking a deployment
/// should not leave conversations in the resource.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponsesRequest {
    /// The deployment name.
    pub model: String,
    /// The system prompt.
    pub instructions: Option<String>,
    /// The conversation as input items (`{"role","content"}` messages).
    pub input: Vec<InputItem>,
    pub max_output_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub store: Option<bool>,
    pub stream: Option<bool>,
    /// `{"effort":"low|medium|high","summary":"auto|concise|detailed"}` for reasoning models.
    pub reasoning: Option<Reasoning>,
    /// Anything else the caller set (tools, metadata, …), kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputItem {
    pub role: String,
    /// A string, or content parts (`input_text`, …).
    pub content: Value,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reasoning {
    pub effort: Option<String>,
    pub summary: Option<String>,
}

impl ResponsesRequest {
    /// The Responses form of a chat conversation: system messages become `instructions`
    /// (joined by a blank line), the others input items in order.
    pub fn from_messages(model: &str, messages: &[ChatMessage]) -> Self {
        let mut instructions = Vec::new();
        let mut input = Vec::new();
        for m in messages {
            if m.role == "system" || m.role == "developer" {
                instructions.push(m.text());
            } else {
                input.push(InputItem {
                    role: m.role.clone(),
                    content: m.content.clone(),
                });
            }
        }
        ResponsesRequest {
            model: model.to_string(),
            instructions: (!instructions.is_empty()).then(|| instructions.join("\n\n")),
            input,
            store: Some(false),
            ..Default::default()
        }
    }
}

/// `usage` of a response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponsesUsage {
    pub input_tokens: u64,
    pub input_tokens_details: Option<InputTokensDetails>,
    pub output_tokens: u64,
    pub output_tokens_details: Option<OutputTokensDetails>,
    pub total_tokens: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InputTokensDetails {
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputTokensDetails {
    pub reasoning_tokens: u64,
}

impl From<&ResponsesUsage> for WireUsage {
    /// Into the chat shape every record is built from: input → prompt, output → completion.
    fn from(u: &ResponsesUsage) -> Self {
        WireUsage {
            prompt_tokens: u.input_tokens,
            prompt_tokens_details: u
                .input_tokens_details
                .as_ref()
                .map(|d| PromptTokensDetails {
                    cached_tokens: d.cached_tokens,
                    ..Default::default()
                }),
            completion_tokens: u.output_tokens,
            completion_tokens_details: u.output_tokens_details.as_ref().map(|d| {
                CompletionTokensDetails {
                    reasoning_tokens: d.reasoning_tokens,
                    ..Default::default()
                }
            }),
            total_tokens: u.total_tokens,
        }
    }
}

/// A response object: the non-stream body, and the `response` of lifecycle events.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ResponseIn {
    pub id: String,
    pub model: String,
    /// `in_progress`, `completed`, `incomplete`, `failed`, `cancelled`.
    pub status: String,
    pub output: Vec<OutputItem>,
    pub usage: Option<ResponsesUsage>,
    pub incomplete_details: Option<IncompleteDetails>,
    pub error: Option<ResponseError>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ResponseError {
    pub code: Option<String>,
    pub message: String,
}

/// One item of `output`: a `message` (with `output_text` parts), a `reasoning` item (with
/// `summary` parts) or a `function_call`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct OutputItem {
    #[serde(rename = "type")]
    pub kind: String,
    pub content: Vec<ContentPart>,
    pub summary: Vec<ContentPart>,
    /// A function call's name.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
}

impl ResponseIn {
    /// The answer: every `output_text` part of every message, in order.
    pub fn output_text(&self) -> String {
        self.output
            .iter()
            .filter(|i| i.kind == "message")
            .flat_map(|i| &i.content)
            .filter(|p| p.kind == "output_text")
            .map(|p| p.text.as_str())
            .collect()
    }
}

/// One streamed event (`data:` of an `event:` block). Lifecycle events carry `response`,
/// deltas carry `delta`, item events carry `item`, an `error` event carries `code` and
/// `message` at the top level.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ResponseEventIn {
    #[serde(rename = "type")]
    pub kind: String,
    pub sequence_number: Option<u64>,
    pub delta: Option<String>,
    pub response: Option<ResponseIn>,
    pub item: Option<OutputItem>,
    pub code: Option<String>,
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_chat_conversation_as_a_responses_request() {
        let messages: Vec<ChatMessage> = serde_json::from_value(json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": [{"type": "input_text", "text": "Again"}]}
        ]))
        .unwrap();
        let mut r = ResponsesRequest::from_messages("gpt-4o", &messages);
        r.max_output_tokens = Some(64);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "model": "gpt-4o",
                "instructions": "Be brief.",
                "input": [
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello"},
                    {"role": "user", "content": [{"type": "input_text", "text": "Again"}]}
                ],
                "max_output_tokens": 64,
                "store": false
            })
        );
    }
}
