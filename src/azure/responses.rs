//! The Responses API side of the client: the request body built from a [`CallSpec`], and the
//! steps that turn its stream events or its body into what a chat call yields
//! ([`StreamState`]), so the rest of the client (timing, retries, the record) is shared.

use super::call_error::excerpt;
use crate::domain::call::{CallError, CallSpec, ErrorKind};
use crate::domain::responses::{DeltaKind, ResponsesState};
use crate::domain::stream::StreamState;
use crate::wire::responses::{Reasoning, ResponseEventIn, ResponseIn, ResponsesRequest};

/// The body for `spec` to `deployment`: system messages as `instructions`, the rest as
/// input items, the output budget as `max_output_tokens`, `store: false`; a chat body's
/// `reasoning_effort` becomes `reasoning.effort`, `response_format` becomes `text.format`;
/// other fields the caller set pass through.
pub fn body(spec: &CallSpec, deployment: &str) -> ResponsesRequest {
    let req = &spec.request;
    let mut body = ResponsesRequest::from_messages(deployment, &req.messages);
    body.max_output_tokens = req.output_budget();
    body.temperature = req.temperature;
    body.top_p = req.top_p;
    body.stream = spec.stream.then_some(true);
    let mut extra = req.extra.clone();
    let effort = extra
        .remove("reasoning_effort")
        .and_then(|v| v.as_str().map(String::from));
    if effort.is_some() || spec.reasoning_summary.is_some() {
        body.reasoning = Some(Reasoning {
            effort,
            summary: spec.reasoning_summary.clone(),
        });
    }
    if let Some(store) = extra.remove("store").and_then(|v| v.as_bool()) {
        body.store = Some(store);
    }
    // Structured output: chat's `response_format` is `text.format` here, the json_schema
    // object flattened into it (`{type, name, schema, strict}`).
    if let Some(rf) = extra.remove("response_format") {
        let format = match (
            rf.get("type").and_then(|t| t.as_str()),
            rf.get("json_schema"),
        ) {
            (Some("json_schema"), Some(serde_json::Value::Object(js))) => {
                let mut f = js.clone();
                f.insert("type".into(), "json_schema".into());
                serde_json::Value::Object(f)
            }
            _ => rf,
        };
        extra.insert("text".into(), serde_json::json!({ "format": format }));
    }
    body.extra = extra;
    body
}

/// One stream event's data: the delta it carried, if any. Event `n` counts from 1.
pub fn step(
    st: &mut ResponsesState,
    data: &str,
    n: u64,
) -> Result<Option<(DeltaKind, String)>, CallError> {
    let ev: ResponseEventIn = serde_json::from_str(data).map_err(|e| {
        CallError::new(
            ErrorKind::MalformedSse,
            format!(
                "stream event {n} is not valid JSON ({e}): {}",
                excerpt(data)
            ),
        )
    })?;
    Ok(st.apply(&ev).map(|(k, d)| (k, d.to_string())))
}

/// A failure the service reported inside a 2xx response, classified like an HTTP one: a
/// rate-limit code is a throttle.
fn failure_error(code: Option<String>, message: String, mid_stream: bool) -> CallError {
    let throttled = code
        .as_deref()
        .is_some_and(|c| c.contains("rate_limit") || c == "429" || c == "too_many_requests");
    let kind = if throttled {
        ErrorKind::Throttled
    } else {
        ErrorKind::StreamError
    };
    let message = if mid_stream {
        format!("error event mid-stream: {message}")
    } else {
        message
    };
    let mut e = CallError::new(kind, message);
    e.code = code;
    e
}

/// Moves what the Responses reducer gathered into the chat stream state the client records;
/// the failure it saw, if any, as the call's error.
pub fn settle(rs: ResponsesState, st: &mut StreamState, mid_stream: bool) -> Option<CallError> {
    st.id = rs.id;
    st.model = rs.model;
    st.text = rs.text;
    st.finish_reason = rs.finish_reason;
    st.usage = rs.usage;
    st.content_chunks = rs.content_chunks;
    st.tool_calls = rs.tool_calls;
    st.reasoning_summary = rs.summary;
    st.saw_done = rs.ended;
    rs.failure
        .map(|(code, message)| failure_error(code, message, mid_stream))
}

/// A whole (non-stream) response body.
pub fn parse_body(body: &[u8]) -> Result<ResponsesState, CallError> {
    let r: ResponseIn = serde_json::from_slice(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        let shown = if text.trim().is_empty() {
            "the body is empty".to_string()
        } else {
            excerpt(text.trim())
        };
        CallError::new(
            ErrorKind::BadBody,
            format!("response body is not a Responses API response ({e}): {shown}"),
        )
    })?;
    let mut st = ResponsesState::default();
    st.take_response(&r);
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ChatMessage, ChatRequest};

    #[test]
    fn a_chat_spec_as_a_responses_body() {
        let mut req = ChatRequest {
            messages: vec![
                ChatMessage::new("system", "Be brief."),
                ChatMessage::new("user", "Hi"),
            ],
            max_completion_tokens: Some(50),
            temperature: Some(0.2),
            ..Default::default()
        };
        req.extra
            .insert("reasoning_effort".into(), serde_json::json!("low"));
        let b = body(&CallSpec::new("o4-mini", req), "o4-mini");
        let v = serde_json::to_value(&b).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "model": "o4-mini",
                "instructions": "Be brief.",
                "input": [{"role": "user", "content": "Hi"}],
                "max_output_tokens": 50,
                "temperature": 0.2,
                "store": false,
                "stream": true,
                "reasoning": {"effort": "low"}
            })
        );
    }

    #[test]
    fn a_reasoning_summary_is_asked_with_or_without_an_effort() {
        let req = ChatRequest {
            messages: vec![ChatMessage::new("user", "Why?")],
            ..Default::default()
        };
        let mut spec = CallSpec::new("o4-mini", req);
        spec.reasoning_summary = Some("auto".into());
        let v = serde_json::to_value(body(&spec, "o4-mini")).unwrap();
        assert_eq!(v["reasoning"], serde_json::json!({"summary": "auto"}));
        spec.reasoning_summary = None;
        let v = serde_json::to_value(body(&spec, "o4-mini")).unwrap();
        assert!(v.get("reasoning").is_none(), "{v}");
    }

    #[test]
    fn a_throttle_inside_a_200_is_a_throttle() {
        let mut rs = ResponsesState::default();
        step(
            &mut rs,
            r#"{"type":"error","code":"rate_limit_exceeded","message":"slow down"}"#,
            1,
        )
        .unwrap();
        let e = settle(rs, &mut StreamState::default(), true).unwrap();
        assert_eq!(e.kind, ErrorKind::Throttled);
        assert_eq!(e.code.as_deref(), Some("rate_limit_exceeded"));
        let e = step(&mut ResponsesState::default(), "{not json", 3).unwrap_err();
        assert_eq!(e.kind, ErrorKind::MalformedSse);
    }
}
