//! The Responses API: `POST /openai/v1/responses` and the preview path
//! `POST /openai/responses?api-version=2025-03-01-preview` or later, both with the deployment
//! in the body's `model`. Auth, admission, faults, token counts, latency and text are the
//! chat handler's; the shapes (pretty-printed bodies, `event:` + `data:` streams with
//! `sequence_number`, no `[DONE]`) follow the recordings in `tests/fixtures/conformance/91-93`.
//! The bodies and events themselves are written by [`super::responses_out`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use rand::Rng;
use rand::rngs::SmallRng;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::completion::{self, Generated};
use super::data_plane::{check_auth, contains_phrase, correct_ptu_later, header_str, throttled};
use super::faults::{self, FaultKind};
use super::limits::{ThrottleKind, Throttled};
use super::respond::{self, Ctx, Extra, Surface};
use super::responses_out::{self, Echo, Outcome, Spec};
use super::sse::{self, Usage};
use super::state::{DeploymentRt, Shared, lock};
use crate::tokens;
use crate::wire::{ChatMessage, ChatRequest};

type Q = Query<HashMap<String, String>>;

/// The earliest api-version that serves `/openai/responses`.
pub const MIN_PREVIEW: &str = "2025-03-01";

/// The message Azure sends for an older api-version on `/openai/responses` (seen in public
/// issues, e.g. Aider-AI/aider#4029, through litellm's `BadRequestError`).
const OLD_API_VERSION: &str =
    "Azure OpenAI Responses API is enabled only for api-version 2025-03-01-preview and later";

pub async fn v1(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    handle(shared, Surface::V1, None, headers, uri, body).await
}

pub async fn preview(
    State(shared): State<Arc<Shared>>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let api_version = q.get("api-version").cloned();
    let Some(v) = api_version else {
        return super::data_plane::no_api_version(shared, &headers, &uri);
    };
    handle(shared, Surface::Classic, Some(v), headers, uri, body).await
}

/// Whether `/openai/responses` serves this api-version: a dated version from
/// [`MIN_PREVIEW`] on, or the `preview` / `latest` aliases.
pub fn serves_api_version(v: &str) -> bool {
    matches!(v, "preview" | "latest")
        || (v.len() >= 10 && v.is_char_boundary(10) && &v[..10] >= MIN_PREVIEW)
}

/// The request body, as far as the simulator reads it; the rest is echoed back.
#[derive(Debug, Deserialize)]
struct Req {
    model: Option<String>,
    input: Option<Value>,
    instructions: Option<String>,
    max_output_tokens: Option<u64>,
    stream: Option<bool>,
    reasoning: Option<ReasoningReq>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    store: Option<bool>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
struct ReasoningReq {
    effort: Option<String>,
    summary: Option<String>,
}

/// A pretty-printed `{"error":{message,type,param,code}}` (the Responses API pretty-prints
/// its errors too: fixture 92).
pub fn error_body(message: &str, param: Option<&str>, code: Option<&str>) -> String {
    let v = serde_json::json!({"error": {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": code,
    }});
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

fn bad(ctx: &Ctx, message: &str, param: Option<&str>, code: Option<&str>) -> Response {
    ctx.json(StatusCode::BAD_REQUEST, error_body(message, param, code))
}

/// The input as chat messages, for counting and caching: `instructions` first (as a system
/// message), then a string input as one user message, or each input item. `Err` = a 400
/// `(message, param, code)`.
fn to_messages(req: &Req) -> Result<Vec<ChatMessage>, (String, String, &'static str)> {
    let mut out = Vec::new();
    if let Some(i) = req.instructions.as_deref().filter(|i| !i.is_empty()) {
        out.push(ChatMessage::new("system", i));
    }
    match &req.input {
        None => {
            return Err((
                "Missing required parameter: 'input'.".into(),
                "input".into(),
                "missing_required_parameter",
            ));
        }
        Some(Value::String(s)) => out.push(ChatMessage::new("user", s)),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                out.push(item_message(i, item)?);
            }
        }
        Some(other) => {
            let got = match other {
                Value::Object(_) => "an object",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            return Err((
                format!(
                    "Invalid type for 'input': expected one of a string or array of input items, but got {got} instead."
                ),
                "input".into(),
                "invalid_type",
            ));
        }
    }
    Ok(out)
}

fn item_message(i: usize, item: &Value) -> Result<ChatMessage, (String, String, &'static str)> {
    let Some(obj) = item.as_object() else {
        return Err((
            format!(
                "Invalid type for 'input[{i}]': expected an input item, but got a scalar instead."
            ),
            format!("input[{i}]"),
            "invalid_type",
        ));
    };
    let text_of = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match obj.get("type").and_then(Value::as_str).unwrap_or("message") {
        "message" => {
            let role = obj.get("role").and_then(Value::as_str).unwrap_or("");
            if !matches!(role, "user" | "assistant" | "system" | "developer") {
                return Err((
                    format!(
                        "Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'."
                    ),
                    format!("input[{i}].role"),
                    "invalid_value",
                ));
            }
            Ok(ChatMessage {
                role: role.to_string(),
                content: obj.get("content").cloned().unwrap_or(Value::Null),
                name: None,
                tool_calls: None,
                tool_call_id: None,
            })
        }
        "function_call_output" => Ok(ChatMessage::new("tool", &text_of("output"))),
        "function_call" => Ok(ChatMessage::new(
            "assistant",
            &format!("{}{}", text_of("name"), text_of("arguments")),
        )),
        other => Err((
            format!(
                "Invalid value: '{other}'. Supported values are: 'message', 'function_call', and 'function_call_output'."
            ),
            format!("input[{i}].type"),
            "invalid_value",
        )),
    }
}

/// Checks the model-specific parameters. `Err` = a 400 `(message, param, code)`.
fn check_params(req: &Req, reasoning_model: bool) -> Result<(), (String, String, &'static str)> {
    if let Some(n) = req.max_output_tokens.filter(|n| *n < 16) {
        return Err((
            format!(
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got {n} instead."
            ),
            "max_output_tokens".into(),
            "integer_below_min_value",
        ));
    }
    let r = req.reasoning.as_ref();
    for (name, value) in [
        ("effort", r.and_then(|r| r.effort.as_deref())),
        ("summary", r.and_then(|r| r.summary.as_deref())),
    ] {
        let Some(value) = value else { continue };
        if !reasoning_model {
            return Err((
                format!(
                    "Unsupported parameter: 'reasoning.{name}' is not supported with this model."
                ),
                format!("reasoning.{name}"),
                "unsupported_parameter",
            ));
        }
        let allowed: &[&str] = if name == "effort" {
            &["minimal", "low", "medium", "high"]
        } else {
            &["auto", "concise", "detailed"]
        };
        if !allowed.contains(&value) {
            let list: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
            return Err((
                format!(
                    "Invalid value: '{value}'. Supported values are: {}.",
                    list.join(", ")
                ),
                format!("reasoning.{name}"),
                "invalid_value",
            ));
        }
    }
    if reasoning_model {
        for (name, v) in [("temperature", req.temperature), ("top_p", req.top_p)] {
            if v.is_some_and(|v| (v - 1.0).abs() > f64::EPSILON) {
                return Err((
                    format!("Unsupported parameter: '{name}' is not supported with this model."),
                    name.into(),
                    "unsupported_parameter",
                ));
            }
        }
    }
    Ok(())
}

/// How much reasoning `reasoning.effort` spends, against the deployment's configured
/// `reasoning_tokens` draw, which is `medium`'s.
pub fn effort_scale(effort: Option<&str>) -> f64 {
    match effort {
        Some("minimal") => 0.125,
        Some("low") => 1.0 / 3.0,
        Some("high") => 2.0,
        _ => 1.0,
    }
}

/// `max_output_tokens` covers reasoning and answer: reasoning first, then as many answer
/// tokens as are left (`incomplete` when that cuts the answer), as a chat budget does.
fn apply_budget(g: &mut Generated, budget: Option<u64>) {
    let Some(budget) = budget else { return };
    if g.reasoning >= budget {
        g.reasoning = budget;
        g.pieces.clear();
        g.finish = "length";
        return;
    }
    let room = usize::try_from(budget - g.reasoning).unwrap_or(usize::MAX);
    if g.pieces.len() > room {
        g.pieces.truncate(room);
        if !g.filtered {
            g.finish = "length";
        }
    }
}

/// The fault for this request: the header's, else one of the deployment's seeded draws.
fn pick_fault(
    headers: &HeaderMap,
    d: &DeploymentRt,
    rng: &mut SmallRng,
) -> Result<Option<FaultKind>, String> {
    match faults::from_headers(headers) {
        Ok(Some(f)) => Ok(Some(f)),
        Ok(None) if !d.faults.is_empty() => Ok(faults::pick(&d.faults, rng.random::<f64>())),
        Ok(None) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// The faults answered before any body: 429, 500, 503, the HTML 502.
fn early_fault(
    ctx: &Ctx,
    d: &DeploymentRt,
    surface: Surface,
    api_version: Option<&str>,
    headers: &HeaderMap,
    fault: Option<FaultKind>,
) -> Option<Response> {
    Some(match fault? {
        FaultKind::RateLimit => {
            let ms = header_str(headers, "x-sim-retry-after-ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(d.cfg.fault_retry_after_ms);
            let t = Throttled {
                kind: ThrottleKind::Tokens,
                retry_after: Duration::from_millis(ms.max(1)),
            };
            throttled(ctx, d, surface, api_version, t)
        }
        FaultKind::Internal => ctx.json(StatusCode::INTERNAL_SERVER_ERROR, faults::BODY_500),
        FaultKind::Unavailable => ctx.json(StatusCode::SERVICE_UNAVAILABLE, faults::BODY_503),
        FaultKind::Html502 => ctx.respond(
            StatusCode::BAD_GATEWAY,
            HeaderValue::from_static("text/html"),
            Body::from(faults::BODY_HTML_502),
            &Extra::default(),
        ),
        _ => return None,
    })
}

/// The headers the Responses recordings lack: `azureml-model-session`, `x-ms-rai-invoked`,
/// and on streams the token pair of the rate-limit headers (fixture 91 carries only the
/// request pair; PTU deployments, which send only the token pair, keep it).
fn trim_headers(resp: &mut Response, d: &DeploymentRt, stream: bool) {
    let h = resp.headers_mut();
    h.remove("azureml-model-session");
    h.remove("x-ms-rai-invoked");
    if stream && !super::fleet::is_provisioned(&d.cfg.sku) {
        h.remove("x-ratelimit-remaining-tokens");
        h.remove("x-ratelimit-limit-tokens");
    }
}

async fn handle(
    shared: Arc<Shared>,
    surface: Surface,
    api_version: Option<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let ids = shared.next_ids();
    let mut rng = ids.rng;
    let mut ctx = Ctx::new(shared.clone(), ids.request_id, &headers, "POST", uri.path());
    if let Err(body) = check_auth(&shared.cfg, &headers) {
        return ctx.json(StatusCode::UNAUTHORIZED, body);
    }
    if api_version
        .as_deref()
        .is_some_and(|v| !serves_api_version(v))
    {
        let body = serde_json::json!({"error": {"code": "BadRequest", "message": OLD_API_VERSION}});
        return ctx.json(StatusCode::BAD_REQUEST, body.to_string());
    }
    let req: Req = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("We could not parse the JSON body of your request. ({e})");
            return bad(&ctx, &msg, None, None);
        }
    };
    ctx.stream = req.stream.unwrap_or(false);
    let Some(model) = req.model.as_deref().filter(|m| !m.is_empty()) else {
        return bad(
            &ctx,
            "Missing required parameter: 'model'.",
            Some("model"),
            Some("missing_required_parameter"),
        );
    };
    let Some(d) = shared.deployment(model) else {
        return ctx.json(StatusCode::NOT_FOUND, respond::BODY_DEPLOYMENT_NOT_FOUND);
    };
    ctx.deployment = Some(d.clone());
    let messages = match to_messages(&req) {
        Ok(m) => m,
        Err((msg, param, code)) => return bad(&ctx, &msg, Some(&param), Some(code)),
    };
    let fault = match pick_fault(&headers, &d, &mut rng) {
        Ok(f) => f,
        Err(e) => return bad(&ctx, &e, Some("x-sim-fault"), None),
    };
    let stall = faults::stall_duration(&headers);
    if fault == Some(FaultKind::SlowHeaders) {
        tokio::time::sleep(stall).await;
    }
    if let Some(r) = early_fault(&ctx, &d, surface, api_version.as_deref(), &headers, fault) {
        return r;
    }
    if let Err((msg, param, code)) = check_params(&req, d.info.model.reasoning) {
        let mut r = bad(&ctx, &msg, Some(&param), Some(code));
        trim_headers(&mut r, &d, false);
        return r;
    }
    let prompt_text: String = messages
        .iter()
        .map(|m| m.text().to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    let jailbreak = contains_phrase(&prompt_text, &shared.cfg.jailbreak_phrases);
    if jailbreak && !ctx.stream {
        // Fixture 92: a pretty-printed 400 with a curly apostrophe.
        let msg = "The response was filtered due to the prompt triggering Azure OpenAI’s content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766";
        let mut r = bad(&ctx, msg, Some("prompt"), Some("content_filter"));
        trim_headers(&mut r, &d, false);
        return r;
    }
    let prompt = tokens::count_messages(&messages) as u64;
    if prompt > d.info.context_window {
        let mut r = bad(
            &ctx,
            "Your input exceeds the context window of this model. Please adjust your input and try again.",
            Some("input"),
            Some("context_length_exceeded"),
        );
        trim_headers(&mut r, &d, false);
        return r;
    }
    let cached = d.cached_tokens(&messages, prompt);
    let estimate_out = req
        .max_output_tokens
        .unwrap_or(d.cfg.default_max_tokens_estimate);
    let admission = lock(&d.limiter).admit(shared.now(), prompt, cached, estimate_out);
    let (admitted, estimate) = match admission {
        Ok(a) => a,
        Err(t) => return throttled(&ctx, &d, surface, api_version.as_deref(), t),
    };

    // The answer, drawn as a chat completion would be, then the reasoning the effort asks
    // for, then the budget.
    let mut chat = ChatRequest {
        messages,
        seed: req.extra.get("seed").and_then(Value::as_i64),
        ..Default::default()
    };
    // Structured output: `text.format` is the Responses spelling of `response_format`.
    if let Some(f) = req.extra.get("text").and_then(|t| t.get("format")) {
        chat.extra.insert("response_format".into(), f.clone());
    }
    let output_filtered = contains_phrase(&prompt_text, &shared.cfg.output_filter_phrases);
    let mut generated =
        completion::generate(&d, &chat, &mut rng, output_filtered, &shared.cfg.answers);
    let effort = req.reasoning.as_ref().and_then(|r| r.effort.as_deref());
    generated.reasoning = (generated.reasoning as f64 * effort_scale(effort)).round() as u64;
    apply_budget(&mut generated, req.max_output_tokens);
    if jailbreak {
        // A streamed call the prompt filter blocks is a 200 that ends `response.incomplete`
        // with nothing generated and all-zero usage (azure-wire.md §10).
        generated.pieces.clear();
        generated.reasoning = 0;
        generated.finish = "content_filter";
    }
    let timing = completion::schedule(
        &d.cfg.latency,
        generated.pieces.len(),
        generated.reasoning,
        &mut rng,
    );
    let usage = if jailbreak {
        Usage::default()
    } else {
        Usage {
            prompt,
            cached,
            completion: generated.completion_tokens(),
            reasoning: generated.reasoning,
        }
    };
    correct_ptu_later(&shared, &d, timing.end, estimate, usage);
    let summary_asked = req
        .reasoning
        .as_ref()
        .and_then(|r| r.summary.as_deref())
        .is_some();
    let echo = Echo {
        instructions: req.instructions.clone(),
        max_output_tokens: req.max_output_tokens,
        effort: req
            .reasoning
            .as_ref()
            .and_then(|r| r.effort.clone())
            .or_else(|| d.info.model.reasoning.then(|| "medium".to_string())),
        summary: req.reasoning.as_ref().and_then(|r| r.summary.clone()),
        temperature: req.temperature.unwrap_or(1.0),
        top_p: req.top_p.unwrap_or(1.0),
        store: req.store.unwrap_or(true),
        extra: req.extra,
    };
    let outcome = Outcome {
        generated: &generated,
        usage,
        reasoning_item: d.info.model.reasoning && !jailbreak,
        summary: (summary_asked && generated.reasoning > 0)
            .then(|| responses_out::summary_text(&mut rng)),
        prompt_chars: prompt_text.chars().count(),
    };
    let head = responses_out::Head::new(
        &mut rng,
        shared.created(),
        &d.cfg.name,
        surface == Surface::V1,
        &echo,
    );
    let extra = Extra {
        admitted: Some(admitted),
        service_ms: Some(timing.ttft.as_millis() as u64),
        prompt_tokens: usage.prompt,
        completion_tokens: usage.completion,
        ..Extra::default()
    };
    if ctx.stream {
        let spec = Spec {
            head: &head,
            outcome: &outcome,
            timing: &timing,
            latency: &d.cfg.latency,
            fault,
            stall,
        };
        let plan = responses_out::stream_plan(&spec, &mut rng);
        let entry = ctx.log(StatusCode::OK, &extra);
        let start = tokio::time::Instant::now();
        let body = Body::from_stream(sse::into_stream(plan, start, entry));
        let mut resp = ctx.build(StatusCode::OK, respond::EVENT_STREAM, body, &extra);
        trim_headers(&mut resp, &d, true);
        return resp;
    }

    let bytes = responses_out::body(&head, &outcome, &timing, fault);
    let extra = Extra {
        service_ms: Some(timing.end.as_millis() as u64),
        ..extra
    };
    if !timing.end.is_zero() {
        tokio::time::sleep(timing.end).await;
    }
    let mut resp = super::data_plane::faulted_body(
        &ctx,
        fault,
        bytes,
        responses_out::corrupt_utf8,
        stall,
        &extra,
    );
    trim_headers(&mut resp, &d, false);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_api_versions_serve_responses() {
        for v in [
            "2025-03-01-preview",
            "2025-04-01-preview",
            "preview",
            "latest",
        ] {
            assert!(serves_api_version(v), "{v}");
        }
        for v in ["2024-10-21", "2025-01-01-preview", "x", ""] {
            assert!(!serves_api_version(v), "{v}");
        }
    }

    #[test]
    fn input_as_messages() {
        let req: Req = serde_json::from_value(serde_json::json!({
            "model": "gpt-4o",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": "Hi"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]},
                {"type": "function_call_output", "call_id": "c1", "output": "42"}
            ]
        }))
        .unwrap();
        let m = to_messages(&req).unwrap();
        let roles: Vec<&str> = m.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "tool"]);
        assert_eq!(m[2].text(), "Hello");
        assert_eq!(m[3].text(), "42");
        let req: Req = serde_json::from_value(
            serde_json::json!({"model": "m", "input": [{"role": "bot", "content": "x"}]}),
        )
        .unwrap();
        let (_, param, code) = to_messages(&req).unwrap_err();
        assert_eq!((param.as_str(), code), ("input[0].role", "invalid_value"));
        let req: Req =
            serde_json::from_value(serde_json::json!({"model": "m", "input": 3})).unwrap();
        assert_eq!(to_messages(&req).unwrap_err().2, "invalid_type");
    }
}
