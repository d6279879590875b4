//! The request a prompt becomes: the system prompt, the conversation's finished turns, the
//! new prompt, and the chat's parameters in the configured wire fields.

use crate::domain::call::{CallSpec, Outcome, WireApi};
use crate::domain::params::{MaxTokensField, ParamError, check_request};
use crate::tui::messages::Submit;
use crate::tui::session::Session;
use crate::wire::{ChatMessage, ChatRequest};

/// The call `s` asks for against `deployment`, with the conversation so far; an out-of-range
/// parameter is refused before anything is sent.
pub fn call_spec(
    s: &Submit,
    session: &Session,
    deployment: &str,
    field: MaxTokensField,
) -> Result<CallSpec, ParamError> {
    let mut messages = Vec::new();
    if !s.system.trim().is_empty() {
        messages.push(ChatMessage::new("system", &s.system));
    }
    for c in session.conversation() {
        let done = c
            .record
            .as_ref()
            .is_some_and(|r| r.outcome == Outcome::Done);
        if done && !c.answer.text().is_empty() {
            messages.push(ChatMessage::new("user", &c.prompt));
            messages.push(ChatMessage::new("assistant", c.answer.text()));
        }
    }
    messages.push(ChatMessage::new("user", &s.prompt));
    let mut request = ChatRequest {
        messages,
        temperature: s.params.temperature,
        ..Default::default()
    };
    // The same wire field as `aoai chat`, bench and compare send.
    field.apply(&mut request, s.params.max_tokens);
    if let Some(effort) = s.params.reasoning_effort {
        request
            .extra
            .insert("reasoning_effort".into(), serde_json::json!(effort));
    }
    check_request(&request)?;
    let mut spec = CallSpec::new(deployment.to_string(), request);
    spec.retry = s.params.retry.clone();
    spec.wire_api = Some(s.params.wire_api);
    // A reasoning model on the Responses API can say what it thought, apart from the answer.
    if s.params.wire_api == WireApi::Responses && s.params.reasoning_effort.is_some() {
        spec.reasoning_summary = Some("auto".into());
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::messages::ChatParams;

    fn submit(prompt: &str, temperature: Option<f64>) -> Submit {
        Submit {
            prompt: prompt.into(),
            system: "be brief".into(),
            params: ChatParams {
                temperature,
                ..ChatParams::default()
            },
        }
    }

    #[test]
    fn system_then_prompt_in_the_configured_field() {
        let spec = call_spec(
            &submit("hi", None),
            &Session::default(),
            "gpt-4o",
            MaxTokensField::MaxTokens,
        )
        .unwrap();
        assert_eq!(spec.deployment, "gpt-4o");
        let roles: Vec<&str> = spec
            .request
            .messages
            .iter()
            .map(|m| m.role.as_str())
            .collect();
        assert_eq!(roles, ["system", "user"]);
        assert_eq!(spec.request.max_tokens, Some(1024));
        assert_eq!(spec.request.max_completion_tokens, None);
    }

    #[test]
    fn an_out_of_range_temperature_is_refused() {
        let r = call_spec(
            &submit("hi", Some(9.0)),
            &Session::default(),
            "gpt-4o",
            MaxTokensField::MaxTokens,
        );
        assert!(r.is_err(), "{r:?}");
    }
}
