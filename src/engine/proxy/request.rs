//! What the proxy reads from an application's request, without changing it: the wire API and
//! path style from the path, the deployment from the classic path or the body's `model`,
//! whether it streams, and the request as a scenario records it (chat form; a Responses
//! body kept as sent).

use serde_json::Value;

use crate::domain::call::{ApiPath, WireApi};
use crate::wire::{ChatMessage, ChatRequest};

/// The facts of one request.
/// The most of a request's conversation a live view is sent.
pub const PROMPT_SHOWN: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
pub struct RequestMeta {
    pub api: ApiPath,
    pub wire_api: WireApi,
    pub deployment: String,
    pub stream: bool,
    pub api_version: Option<String>,
    /// A chat or Responses call (what a scenario can replay); other paths (embeddings,
    /// models, files) are forwarded and reported but not recorded.
    pub llm: bool,
    /// The Azure operation name used in an injected 429's message.
    pub operation: &'static str,
    /// The body as JSON, when it is.
    pub body: Option<Value>,
}

impl RequestMeta {
    pub fn read(path: &str, query: Option<&str>, body: &[u8]) -> Self {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let model = json
            .as_ref()
            .and_then(|v| v.get("model"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let classic_dep = path
            .split_once("/deployments/")
            .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_string())
            .filter(|d| !d.is_empty());
        let api = if classic_dep.is_some() {
            ApiPath::Classic
        } else if path.contains("/openai/v1/") {
            ApiPath::V1
        } else if path.starts_with("/openai/") {
            ApiPath::Classic
        } else {
            ApiPath::Openai
        };
        let trimmed = path.trim_end_matches('/');
        let wire_api = if trimmed.ends_with("/responses") {
            WireApi::Responses
        } else {
            WireApi::Chat
        };
        let chat = trimmed.ends_with("/chat/completions");
        let (llm, operation) = match (chat, wire_api) {
            (true, _) => (true, "ChatCompletions_Create"),
            (false, WireApi::Responses) => (true, "Responses_Create"),
            _ if trimmed.ends_with("/embeddings") => (false, "Embeddings_Create"),
            _ if trimmed.ends_with("/completions") => (false, "Completions_Create"),
            _ => (false, "Request"),
        };
        let stream = json
            .as_ref()
            .and_then(|v| v.get("stream"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let api_version = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "api-version")
                .map(|(_, v)| v.into_owned())
        });
        RequestMeta {
            api,
            wire_api,
            deployment: classic_dep.or(model).unwrap_or_default(),
            stream,
            api_version,
            llm,
            operation,
            body: json,
        }
    }

    /// The conversation as text for a live view: `role: content` per message, cut at
    /// [`PROMPT_SHOWN`] bytes (on a character boundary). Empty for calls that are not chat or
    /// Responses.
    pub fn prompt_text(&self) -> String {
        if !self.llm {
            return String::new();
        }
        let mut out = String::new();
        for m in self.chat_form().messages {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&m.role);
            out.push_str(": ");
            out.push_str(&m.text());
            if out.len() >= PROMPT_SHOWN {
                let mut end = PROMPT_SHOWN;
                while !out.is_char_boundary(end) {
                    end -= 1;
                }
                out.truncate(end);
                out.push('…');
                break;
            }
        }
        out
    }

    /// The request in chat form, as a scenario records it: a chat body as sent; a Responses
    /// body's `instructions` as the system message and its `input` messages in order.
    pub fn chat_form(&self) -> ChatRequest {
        let Some(body) = &self.body else {
            return ChatRequest::default();
        };
        match self.wire_api {
            WireApi::Chat => serde_json::from_value(body.clone()).unwrap_or_default(),
            WireApi::Responses => responses_chat_form(body),
        }
    }
}

fn responses_chat_form(body: &Value) -> ChatRequest {
    let mut messages = Vec::new();
    if let Some(i) = body.get("instructions").and_then(Value::as_str) {
        messages.push(ChatMessage::new("system", i));
    }
    match body.get("input") {
        Some(Value::String(s)) => messages.push(ChatMessage::new("user", s)),
        Some(Value::Array(items)) => {
            for item in items {
                let Some(role) = item.get("role").and_then(Value::as_str) else {
                    continue;
                };
                let mut m = ChatMessage::new(role, "");
                m.content = item.get("content").cloned().unwrap_or(Value::Null);
                messages.push(m);
            }
        }
        _ => {}
    }
    let num = |k: &str| body.get(k).and_then(Value::as_f64);
    ChatRequest {
        model: body
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string),
        messages,
        max_completion_tokens: body
            .get("max_output_tokens")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok()),
        temperature: num("temperature"),
        top_p: num("top_p"),
        stream: body.get("stream").and_then(Value::as_bool),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_bodies_say_what_a_call_is() {
        let m = RequestMeta::read(
            "/openai/deployments/gpt-4o/chat/completions",
            Some("api-version=2024-10-21"),
            br#"{"messages":[{"role":"user","content":"hi"}],"stream":true}"#,
        );
        assert_eq!(
            (m.api, m.wire_api, m.deployment.as_str(), m.stream, m.llm),
            (ApiPath::Classic, WireApi::Chat, "gpt-4o", true, true)
        );
        assert_eq!(m.api_version.as_deref(), Some("2024-10-21"));
        assert_eq!(m.chat_form().messages[0].text(), "hi");

        let m = RequestMeta::read(
            "/openai/v1/responses",
            None,
            br#"{"model":"o4-mini","instructions":"Be brief.","input":"Hello","max_output_tokens":9}"#,
        );
        assert_eq!(
            (m.api, m.wire_api, m.deployment.as_str(), m.stream),
            (ApiPath::V1, WireApi::Responses, "o4-mini", false)
        );
        let c = m.chat_form();
        assert_eq!(c.messages.len(), 2);
        assert_eq!(c.messages[0].role, "system");
        assert_eq!(c.max_completion_tokens, Some(9));

        let m = RequestMeta::read(
            "/openai/v1/embeddings",
            None,
            br#"{"model":"emb","input":"x"}"#,
        );
        assert!(!m.llm);
        assert_eq!(m.deployment, "emb");
        let m = RequestMeta::read("/openai/v1/models", None, b"");
        assert_eq!((m.llm, m.deployment.as_str()), (false, ""));
    }
}
