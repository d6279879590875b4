//! A finished call as OpenTelemetry GenAI telemetry, pure: the span (name, times, attributes,
//! one child per HTTP attempt when the call was retried) and the metric points. The exporter
//! (`engine::telemetry`) turns a [`SpanPlan`] into SDK spans; nothing here knows the SDK.
//!
//! Follows the OpenTelemetry GenAI semantic conventions v1.41.0 (gen-ai-spans.md,
//! gen-ai-metrics.md, status Development): `gen_ai.provider.name` replaces the deprecated
//! `gen_ai.system`, so only the former is written. Azure extras go under `azure.*`.

use std::time::{Duration, SystemTime};

use super::call::{ApiPath, CallRecord, ErrorKind, Outcome};
use super::scenario::RecordedRequest;

/// The semantic-conventions version the attribute names follow.
pub const SEMCONV_VERSION: &str = "1.41.0";
/// The schema URL of that version (set on the instrumentation scope).
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.41.0";

/// One attribute value (the OTLP `AnyValue` kinds used here).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    StrList(Vec<String>),
}

pub type Attrs = Vec<(&'static str, AttrValue)>;

/// A span to emit: times are wall clock, taken from the call's own timings.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanPlan {
    pub name: String,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attrs: Attrs,
    /// `Some(description)`: the span's status is Error.
    pub error: Option<String>,
    /// One child per HTTP attempt, only when the call took more than one (a single attempt
    /// is the call span itself).
    pub attempts: Vec<SpanPlan>,
}

/// What the mapping may include beyond the record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapOptions {
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`: the messages and the answer
    /// go on the span (`gen_ai.input.messages`, `gen_ai.output.messages`).
    pub capture_content: bool,
}

/// `gen_ai.provider.name` for a URL shape: Azure OpenAI for its own paths, Azure AI Inference
/// for Foundry model inference, OpenAI for a verbatim OpenAI-compatible base URL.
pub fn provider(api: ApiPath) -> &'static str {
    match api {
        ApiPath::Classic | ApiPath::V1 => "azure.ai.openai",
        ApiPath::Foundry => "azure.ai.inference",
        ApiPath::Openai => "openai",
    }
}

/// `server.address` and `server.port` of an endpoint URL (`https://x.openai.azure.com`).
pub fn server_of(endpoint: &str) -> Option<(String, u16)> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if authority.is_empty() {
        return None;
    }
    let default = if scheme.eq_ignore_ascii_case("http") {
        80
    } else {
        443
    };
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            match port.parse() {
                Ok(p) => Some((host.trim_matches(['[', ']']).to_string(), p)),
                Err(_) => Some((authority.to_string(), default)),
            }
        }
        _ => Some((authority.to_string(), default)),
    }
}

/// `error.type`: the HTTP status when there was one, else the error kind.
pub fn error_type(rec: &CallRecord) -> Option<String> {
    Some(error_type_of(rec.error.as_ref()?, rec.status))
}

/// `error.type` of an error, given the final status of its call.
fn error_type_of(e: &super::call::CallError, status: Option<u16>) -> String {
    if let Some(s) = e.status.or(status).filter(|s| *s >= 400) {
        return s.to_string();
    }
    match &e.kind {
        // The semantic conventions' name for a throttled call is its status.
        ErrorKind::Throttled => "429",
        k => super::stats::kind_name(k),
    }
    .to_string()
}

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64((v.max(0.0)) / 1000.0)
}

fn s(v: impl Into<String>) -> AttrValue {
    AttrValue::Str(v.into())
}

fn int(v: u64) -> AttrValue {
    AttrValue::Int(v.min(i64::MAX as u64) as i64)
}

/// The whole call's duration: all attempts and the waits between them.
pub fn call_duration(rec: &CallRecord) -> Option<Duration> {
    rec.call_ms.or(rec.timing.e2e_ms).map(ms)
}

/// The common attributes of a call: what a metric point carries too.
fn base_attrs(req: &RecordedRequest, rec: &CallRecord) -> Attrs {
    let mut a: Attrs = vec![
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.provider.name", s(provider(req.api))),
        ("gen_ai.request.model", s(req.deployment.clone())),
    ];
    if let Some(m) = &rec.model {
        a.push(("gen_ai.response.model", s(m.clone())));
    }
    if let Some((host, port)) = req.endpoint.as_deref().and_then(server_of) {
        a.push(("server.address", s(host)));
        a.push(("server.port", AttrValue::Int(port as i64)));
    }
    if let Some(t) = error_type(rec) {
        a.push(("error.type", s(t)));
    }
    a
}

/// The span of one recorded call, started at `started` (wall clock). With no duration on the
/// record (a call that never got an answer), `fallback` gives it one.
pub fn call_span(
    req: &RecordedRequest,
    rec: &CallRecord,
    started: SystemTime,
    fallback: Option<Duration>,
    opts: MapOptions,
) -> SpanPlan {
    let duration = call_duration(rec).or(fallback).unwrap_or_default();
    let mut a = base_attrs(req, rec);
    let body = &req.body;
    if let Some(n) = body.max_completion_tokens.or(body.max_tokens) {
        a.push(("gen_ai.request.max_tokens", int(n as u64)));
    }
    if let Some(t) = body.temperature {
        a.push(("gen_ai.request.temperature", AttrValue::Float(t)));
    }
    if let Some(p) = body.top_p {
        a.push(("gen_ai.request.top_p", AttrValue::Float(p)));
    }
    if let Some(seed) = body.seed {
        a.push(("gen_ai.request.seed", AttrValue::Int(seed)));
    }
    for (key, name) in [
        ("presence_penalty", "gen_ai.request.presence_penalty"),
        ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ] {
        if let Some(v) = body.extra.get(key).and_then(serde_json::Value::as_f64) {
            a.push((name, AttrValue::Float(v)));
        }
    }
    if let Some(id) = &rec.response_id {
        a.push(("gen_ai.response.id", s(id.clone())));
    }
    if let Some(f) = &rec.finish_reason {
        a.push((
            "gen_ai.response.finish_reasons",
            AttrValue::StrList(vec![f.clone()]),
        ));
    }
    if let Some(u) = &rec.usage {
        a.push(("gen_ai.usage.input_tokens", int(u.prompt_tokens)));
        a.push(("gen_ai.usage.output_tokens", int(u.completion_tokens)));
        if u.cached_tokens > 0 {
            a.push(("gen_ai.usage.cache_read.input_tokens", int(u.cached_tokens)));
        }
        if u.reasoning_tokens > 0 {
            a.push((
                "gen_ai.usage.reasoning.output_tokens",
                int(u.reasoning_tokens),
            ));
        }
    }
    azure_attrs(&mut a, req, rec);
    if opts.capture_content {
        content_attrs(&mut a, req, rec);
    }
    let error = match rec.outcome {
        Outcome::Done => None,
        _ => Some(
            rec.error
                .as_ref()
                .map_or_else(|| format!("{:?}", rec.outcome), |e| e.to_string()),
        ),
    };
    let attempts = if rec.attempts.len() > 1 {
        attempt_spans(req, rec, started, duration)
    } else {
        vec![]
    };
    SpanPlan {
        name: format!("chat {}", req.deployment),
        start: started,
        end: started + duration,
        attrs: a,
        error,
        attempts,
    }
}

/// The final status, region and request id, as every span carries them.
fn response_attrs(a: &mut Attrs, status: Option<u16>, region: Option<&str>, id: Option<&str>) {
    if let Some(st) = status {
        a.push(("http.response.status_code", AttrValue::Int(st as i64)));
    }
    if let Some(r) = region {
        a.push(("azure.region", s(r)));
    }
    if let Some(id) = id {
        a.push(("azure.request_id", s(id)));
    }
}

/// Azure figures of the call (the final attempt's headers).
fn azure_attrs(a: &mut Attrs, req: &RecordedRequest, rec: &CallRecord) {
    a.push(("azure.api", s(req.api.as_str())));
    a.push(("azure.wire_api", s(rec.wire_api.as_str())));
    a.push(("azure.request.stream", AttrValue::Bool(rec.stream)));
    if let Some(v) = &req.api_version {
        a.push(("azure.api_version", s(v.clone())));
    }
    response_attrs(
        a,
        rec.status,
        rec.region.as_deref(),
        rec.request_id.as_deref(),
    );
    for (name, header) in [
        ("azure.apim_request_id", "apim-request-id"),
        ("azure.client_request_id", "x-ms-client-request-id"),
    ] {
        if let Some((_, v)) = rec
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(header))
        {
            a.push((name, s(v.clone())));
        }
    }
    let rl = &rec.ratelimit;
    for (name, v) in [
        ("azure.ratelimit.remaining_requests", rl.remaining_requests),
        ("azure.ratelimit.remaining_tokens", rl.remaining_tokens),
        ("azure.ratelimit.limit_requests", rl.limit_requests),
        ("azure.ratelimit.limit_tokens", rl.limit_tokens),
        ("azure.retry_after_ms", rl.retry_after_ms),
    ] {
        if let Some(v) = v {
            a.push((name, int(v)));
        }
    }
    if let Some(u) = rl.utilization_pct {
        a.push(("azure.ratelimit.utilization_pct", AttrValue::Float(u)));
    }
    if rl.spilled_over {
        a.push(("azure.spillover", AttrValue::Bool(true)));
    }
    if let Some(k) = rec.error.as_ref().and_then(|e| e.throttle) {
        a.push((
            "azure.throttle.kind",
            s(format!("{k:?}").to_ascii_lowercase()),
        ));
    }
    if let Some(t) = rec.timing.ttfb_ms {
        a.push(("azure.ttfb_ms", AttrValue::Float(t)));
    }
    if let Some(t) = rec.timing.ttft_ms {
        a.push((
            "gen_ai.response.time_to_first_chunk",
            AttrValue::Float(t / 1000.0),
        ));
    }
    if let Some(c) = rec.cost_usd {
        a.push(("azure.cost_usd", AttrValue::Float(c)));
    }
    a.push(("azure.attempts", int(rec.attempts.len().max(1) as u64)));
}

/// `gen_ai.system_instructions`, `gen_ai.input.messages`, `gen_ai.output.messages` as JSON
/// strings in the conventions' parts form. Only on opt-in.
fn content_attrs(a: &mut Attrs, req: &RecordedRequest, rec: &CallRecord) {
    let text_part = |t: &str| serde_json::json!([{ "type": "text", "content": t }]);
    let (system, rest): (Vec<_>, Vec<_>) = req
        .body
        .messages
        .iter()
        .partition(|m| m.role == "system" || m.role == "developer");
    if !system.is_empty() {
        let parts: Vec<_> = system
            .iter()
            .map(|m| serde_json::json!({ "type": "text", "content": m.text() }))
            .collect();
        a.push((
            "gen_ai.system_instructions",
            s(serde_json::Value::Array(parts).to_string()),
        ));
    }
    let input: Vec<_> = rest
        .iter()
        .map(|m| serde_json::json!({ "role": m.role, "parts": text_part(&m.text()) }))
        .collect();
    a.push((
        "gen_ai.input.messages",
        s(serde_json::Value::Array(input).to_string()),
    ));
    if rec.outcome == Outcome::Done || !rec.text.is_empty() {
        let out = serde_json::json!([{
            "role": "assistant",
            "parts": text_part(&rec.text),
            "finish_reason": rec.finish_reason.clone().unwrap_or_default(),
        }]);
        a.push(("gen_ai.output.messages", s(out.to_string())));
    }
}

/// Child spans, one per HTTP attempt, laid out in time: each attempt lasts its own `ms`
/// (older records: the time left, shared equally), then the wait before the next.
fn attempt_spans(
    req: &RecordedRequest,
    rec: &CallRecord,
    started: SystemTime,
    total: Duration,
) -> Vec<SpanPlan> {
    let n = rec.attempts.len();
    let waits: f64 = rec.attempts.iter().map(|a| a.waited_ms as f64).sum();
    let known: f64 = rec.attempts.iter().filter_map(|a| a.ms).sum();
    let unknown = rec.attempts.iter().filter(|a| a.ms.is_none()).count();
    let total_ms = total.as_secs_f64() * 1000.0;
    let share = if unknown > 0 {
        ((total_ms - waits - known) / unknown as f64).max(0.0)
    } else {
        0.0
    };
    let mut at = 0.0;
    let mut out = Vec::with_capacity(n);
    for (i, a) in rec.attempts.iter().enumerate() {
        let len = a.ms.unwrap_or(share);
        let mut attrs: Attrs = vec![
            ("http.request.method", s("POST")),
            ("http.request.resend_count", int(i as u64)),
            ("gen_ai.request.model", s(a.deployment.clone())),
        ];
        if let Some((host, port)) = req.endpoint.as_deref().and_then(server_of) {
            attrs.push(("server.address", s(host)));
            attrs.push(("server.port", AttrValue::Int(port as i64)));
        }
        if let Some(st) = a.status {
            attrs.push(("http.response.status_code", AttrValue::Int(st as i64)));
        }
        if let Some(r) = a.retry_after_ms {
            attrs.push(("azure.retry_after_ms", int(r)));
        }
        if a.waited_ms > 0 {
            attrs.push(("azure.retry.waited_ms", int(a.waited_ms)));
        }
        if let Some(id) = &a.request_id {
            attrs.push(("azure.request_id", s(id.clone())));
        }
        let failed = a.status.is_none_or(|st| st >= 400);
        let error = (failed && (i + 1 < n || rec.outcome != Outcome::Done)).then(|| {
            a.error.clone().unwrap_or_else(|| match a.status {
                Some(st) => format!("HTTP {st}"),
                None => "no response".into(),
            })
        });
        if failed {
            let t = a.status.map_or("connect".to_string(), |s| s.to_string());
            attrs.push(("error.type", s(t)));
        }
        out.push(SpanPlan {
            name: "POST".into(),
            start: started + ms(at),
            end: started + ms(at + len),
            attrs,
            error,
            attempts: vec![],
        });
        at += len + a.waited_ms as f64;
    }
    out
}

/// One metric record per call: the histograms of gen-ai-metrics.md.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPlan {
    pub attrs: Attrs,
    /// `gen_ai.client.operation.duration`, seconds.
    pub duration_s: Option<f64>,
    /// `gen_ai.client.operation.time_to_first_chunk`, seconds (streamed calls only).
    pub time_to_first_chunk_s: Option<f64>,
    /// `gen_ai.client.token.usage` with `gen_ai.token.type` = input / output.
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

pub fn call_metrics(req: &RecordedRequest, rec: &CallRecord) -> MetricPlan {
    MetricPlan {
        attrs: base_attrs(req, rec),
        duration_s: call_duration(rec).map(|d| d.as_secs_f64()),
        time_to_first_chunk_s: rec
            .stream
            .then_some(rec.timing.ttft_ms)
            .flatten()
            .map(|t| t / 1000.0),
        input_tokens: rec.usage.map(|u| u.prompt_tokens),
        output_tokens: rec.usage.map(|u| u.completion_tokens),
    }
}

/// An embeddings call (`aoai embed`, the console's probe) as its span and metric record:
/// `embeddings {model}`, operation `embeddings`, input tokens, the vector length
/// (`gen_ai.embeddings.dimension.count`) and the Azure figures an embeddings answer carries.
pub fn embeddings_plan(
    endpoint: Option<&str>,
    spec: &super::embeddings::EmbedSpec,
    rec: &super::embeddings::EmbedRecord,
    started: SystemTime,
) -> (SpanPlan, MetricPlan) {
    let mut base: Attrs = vec![
        ("gen_ai.operation.name", s("embeddings")),
        ("gen_ai.provider.name", s(provider(rec.api))),
        ("gen_ai.request.model", s(spec.deployment.clone())),
    ];
    if let Some(m) = &rec.model {
        base.push(("gen_ai.response.model", s(m.clone())));
    }
    if let Some((host, port)) = endpoint.and_then(server_of) {
        base.push(("server.address", s(host)));
        base.push(("server.port", AttrValue::Int(port as i64)));
    }
    if let Some(e) = &rec.error {
        base.push(("error.type", s(error_type_of(e, rec.status))));
    }
    let mut a = base.clone();
    a.push((
        "gen_ai.request.encoding_formats",
        AttrValue::StrList(vec!["float".into()]),
    ));
    if let Some(n) = rec.prompt_tokens {
        a.push(("gen_ai.usage.input_tokens", int(n)));
    }
    if let Some(d) = rec.dimensions {
        a.push(("gen_ai.embeddings.dimension.count", int(d as u64)));
    }
    a.push(("azure.api", s(rec.api.as_str())));
    a.push(("azure.embeddings.inputs", int(spec.inputs.len() as u64)));
    response_attrs(
        &mut a,
        rec.status,
        rec.region.as_deref(),
        rec.request_id.as_deref(),
    );
    if let Some(v) = rec.ratelimit.remaining_tokens {
        a.push(("azure.ratelimit.remaining_tokens", int(v)));
    }
    if let Some(v) = rec.ratelimit.retry_after_ms {
        a.push(("azure.retry_after_ms", int(v)));
    }
    if let Some(t) = rec.ttfb_ms {
        a.push(("azure.ttfb_ms", AttrValue::Float(t)));
    }
    if let Some(c) = rec.cost_usd {
        a.push(("azure.cost_usd", AttrValue::Float(c)));
    }
    let duration = rec.e2e_ms.map(ms).unwrap_or_default();
    let span = SpanPlan {
        name: format!("embeddings {}", spec.deployment),
        start: started,
        end: started + duration,
        attrs: a,
        error: rec.error.as_ref().map(|e| e.to_string()),
        attempts: vec![],
    };
    let metrics = MetricPlan {
        attrs: base,
        duration_s: rec.e2e_ms.map(|v| v / 1000.0),
        time_to_first_chunk_s: None,
        input_tokens: rec.prompt_tokens,
        output_tokens: None,
    };
    (span, metrics)
}

#[cfg(test)]
#[path = "telemetry_tests.rs"]
mod tests;
