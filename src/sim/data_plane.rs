//! Data-plane handlers: classic `/openai/deployments/{d}/chat/completions`, v1
//! `/openai/v1/chat/completions` + `/openai/v1/models`, Foundry `/models/chat/completions`
//! (the Responses API is `responses.rs`, which shares auth, admission and throttling from here).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};

use super::completion::{self, Head, StreamSpec};
use super::config::{ContentFilterMode, SimConfig};
use super::faults::{self, FaultKind};
use super::limits::{ThrottleKind, Throttled};
use super::respond::{self, Ctx, Extra, JSON, Surface};
use super::sse::{self, ChunkWriter, Framing, Usage};
use super::state::{DeploymentRt, Shared, lock};
use crate::tokens;
use crate::wire::ChatRequest;

type Q = Query<HashMap<String, String>>;

pub async fn classic_chat(
    State(shared): State<Arc<Shared>>,
    Path(deployment): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let api_version = q.get("api-version").cloned();
    if api_version.is_none() {
        return no_api_version(shared, &headers, &uri);
    }
    chat(
        shared,
        Surface::Classic,
        Some(deployment),
        api_version,
        headers,
        uri,
        body,
    )
    .await
}

/// The checks every data-plane call (chat, embeddings) passes before its own: credentials
/// (401), the classic path's deployment (404), the body (400), then on the v1 and Foundry
/// paths the body's `model` (400 missing, 400 `unknown_model` as
/// tests/fixtures/conformance/18 shows; the Foundry path is assumed to do the same).
/// `model_of` reads the body's `model` and whether it asks for a stream. `Err` is the answer
/// (boxed: a response is large).
pub(super) fn admit<T: serde::de::DeserializeOwned>(
    ctx: &mut Ctx,
    headers: &HeaderMap,
    path_deployment: Option<&str>,
    body: &[u8],
    model_of: impl Fn(&T) -> (Option<&str>, bool),
) -> Result<(T, Arc<DeploymentRt>), Box<Response>> {
    let shared = ctx.shared.clone();
    if let Err(body) = check_auth(&shared.cfg, headers) {
        return Err(Box::new(ctx.json(StatusCode::UNAUTHORIZED, body)));
    }
    if let Some(name) = path_deployment {
        match shared.deployment(name) {
            Some(d) => ctx.deployment = Some(d),
            None => return Err(Box::new(ctx.deployment_not_found())),
        }
    }
    let req: T = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("We could not parse the JSON body of your request. ({e})");
            let body = respond::invalid_request_body(&msg, None, None);
            return Err(Box::new(ctx.json(StatusCode::BAD_REQUEST, body)));
        }
    };
    let (model, stream) = model_of(&req);
    ctx.stream = stream;
    if ctx.deployment.is_none() {
        let Some(model) = model else {
            let body = respond::invalid_request_body(
                "Missing required parameter: 'model'.",
                Some("model"),
                Some("missing_required_parameter"),
            );
            return Err(Box::new(ctx.json(StatusCode::BAD_REQUEST, body)));
        };
        match shared.deployment(model) {
            Some(d) => ctx.deployment = Some(d),
            None => return Err(Box::new(ctx.unknown_model(model))),
        }
    }
    match ctx.deployment.clone() {
        Some(d) => Ok((req, d)),
        None => Err(Box::new(ctx.deployment_not_found())),
    }
}

/// A classic-path call without `api-version`: Azure's 404 "Resource not found".
pub(super) fn no_api_version(shared: Arc<Shared>, headers: &HeaderMap, uri: &Uri) -> Response {
    let ids = shared.next_ids();
    let ctx = Ctx::new(shared, ids.request_id, headers, "POST", uri.path());
    ctx.json(StatusCode::NOT_FOUND, respond::BODY_RESOURCE_NOT_FOUND)
}

pub async fn v1_chat(
    State(shared): State<Arc<Shared>>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let api_version = q.get("api-version").cloned();
    chat(shared, Surface::V1, None, api_version, headers, uri, body).await
}

pub async fn foundry_chat(
    State(shared): State<Arc<Shared>>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let api_version = q.get("api-version").cloned();
    chat(
        shared,
        Surface::Foundry,
        None,
        api_version,
        headers,
        uri,
        body,
    )
    .await
}

/// `GET /openai/v1/models`: the deployments, in the OpenAI list shape.
pub async fn v1_models(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let ids = shared.next_ids();
    let ctx = Ctx::new(shared.clone(), ids.request_id, &headers, "GET", uri.path());
    if let Err(body) = check_auth(&shared.cfg, &headers) {
        return ctx.json(StatusCode::UNAUTHORIZED, body);
    }
    let created = shared.created();
    let data: Vec<String> = shared
        .order
        .iter()
        .map(|name| {
            format!(
                r#"{{"created":{created},"id":{},"object":"model","owned_by":"system"}}"#,
                serde_json::to_string(name).unwrap_or_default()
            )
        })
        .collect();
    ctx.json(
        StatusCode::OK,
        format!(r#"{{"data":[{}],"object":"list"}}"#, data.join(",")),
    )
}

pub async fn not_found(
    State(shared): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let ids = shared.next_ids();
    let ctx = Ctx::new(
        shared,
        ids.request_id,
        &headers,
        method.as_str(),
        uri.path(),
    );
    ctx.json(StatusCode::NOT_FOUND, respond::BODY_RESOURCE_NOT_FOUND)
}

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `api-key` and/or `Authorization: Bearer` (both together too). `Err(body)` = 401.
pub fn check_auth(cfg: &SimConfig, headers: &HeaderMap) -> Result<(), &'static str> {
    let key = header_str(headers, "api-key");
    let bearer = header_str(headers, "authorization")
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(k) = key {
        return if cfg.api_keys.is_empty() || cfg.api_keys.iter().any(|a| a == k) {
            Ok(())
        } else {
            Err(respond::BODY_401_KEY)
        };
    }
    match bearer {
        None => Err(respond::BODY_401_KEY),
        // A token from the simulator's own Entra endpoints: audience and expiry checked.
        Some(b) => match super::entra::verify(
            &super::entra::secret_for(cfg.seed),
            b,
            super::entra::AUD_DATA_PLANE,
            super::entra::unix_now(),
        ) {
            Ok(_) => Ok(()),
            Err(super::entra::TokenProblem::Foreign) if !cfg.entra.require => {
                check_plain_bearer(cfg, b)
            }
            Err(_) => Err(respond::BODY_401_BEARER),
        },
    }
}

fn check_plain_bearer(cfg: &SimConfig, b: &str) -> Result<(), &'static str> {
    let open = cfg.api_keys.is_empty() && cfg.bearer_tokens.is_empty();
    if open || cfg.bearer_tokens.iter().any(|t| t == b) || cfg.api_keys.iter().any(|k| k == b) {
        Ok(())
    } else {
        Err(respond::BODY_401_BEARER)
    }
}

pub(super) fn contains_phrase(haystack_lower: &str, phrases: &[String]) -> bool {
    phrases
        .iter()
        .any(|p| !p.is_empty() && haystack_lower.contains(&p.to_lowercase()))
}

async fn chat(
    shared: Arc<Shared>,
    surface: Surface,
    path_deployment: Option<String>,
    api_version: Option<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let mut ids = shared.next_ids();
    // Foundry model inference answers with 32-hex completion ids, not `chatcmpl-`
    // (tests/fixtures/conformance/60 and 65).
    if surface == Surface::Foundry {
        ids.completion_id = foundry_id(&ids.request_id);
    }
    let mut rng = ids.rng;
    let mut ctx = Ctx::new(shared.clone(), ids.request_id, &headers, "POST", uri.path());
    let (req, mut d) = match admit(
        &mut ctx,
        &headers,
        path_deployment.as_deref(),
        &body,
        |r: &ChatRequest| (r.model.as_deref(), r.is_stream()),
    ) {
        Ok(admitted) => admitted,
        Err(resp) => return *resp,
    };
    if crate::domain::embeddings::is_embeddings_model(&d.cfg.model) {
        let body = respond::operation_not_supported_body("chatCompletion", &d.cfg.model);
        return ctx.json(StatusCode::BAD_REQUEST, body);
    }

    // Fault: header first, then the deployment's seeded probabilities.
    let fault = match faults::from_headers(&headers) {
        Ok(Some(f)) => Some(f),
        Ok(None) if !d.faults.is_empty() => {
            use rand::Rng;
            faults::pick(&d.faults, rng.random::<f64>())
        }
        Ok(None) => None,
        Err(e) => {
            let body = respond::invalid_request_body(&e.to_string(), Some("x-sim-fault"), None);
            return ctx.json(StatusCode::BAD_REQUEST, body);
        }
    };
    let stall = faults::stall_duration(&headers);
    if fault == Some(FaultKind::SlowHeaders) {
        tokio::time::sleep(stall).await;
    }
    match fault {
        Some(FaultKind::RateLimit) => {
            let ms = header_str(&headers, "x-sim-retry-after-ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(d.cfg.fault_retry_after_ms);
            let t = Throttled {
                kind: ThrottleKind::Tokens,
                retry_after: Duration::from_millis(ms.max(1)),
            };
            return throttled(&ctx, &d, surface, api_version.as_deref(), t);
        }
        Some(FaultKind::Internal) => {
            return ctx.json(StatusCode::INTERNAL_SERVER_ERROR, faults::BODY_500);
        }
        Some(FaultKind::Unavailable) => {
            return ctx.json(StatusCode::SERVICE_UNAVAILABLE, faults::BODY_503);
        }
        Some(FaultKind::Html502) => {
            let html = HeaderValue::from_static("text/html");
            return ctx.respond(
                StatusCode::BAD_GATEWAY,
                html,
                Body::from(faults::BODY_HTML_502),
                &Extra::default(),
            );
        }
        _ => {}
    }

    // Model-specific validation (reasoning models).
    if d.info.model.reasoning {
        if req.max_tokens.is_some() {
            return ctx.model_error(respond::unsupported_max_tokens_body());
        }
        if let Some(t) = req.temperature.filter(|t| (*t - 1.0).abs() > f64::EPSILON) {
            return ctx.model_error(respond::unsupported_temperature_body(t));
        }
    }
    let prompt_text: String = req
        .messages
        .iter()
        .map(|m| m.text().to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    if contains_phrase(&prompt_text, &shared.cfg.jailbreak_phrases) {
        return ctx.json(
            StatusCode::BAD_REQUEST,
            respond::BODY_CONTENT_FILTER_JAILBREAK,
        );
    }
    let prompt = tokens::count_messages(&req.messages) as u64;
    if prompt > d.info.context_window {
        return ctx.model_error(respond::context_length_body(d.info.context_window, prompt));
    }
    let cached = d.cached_tokens(&req.messages, prompt);
    let estimate_out = req
        .output_budget()
        .map_or(d.cfg.default_max_tokens_estimate, u64::from);
    let now = shared.now();
    let admission = lock(&d.limiter).admit(now, prompt, cached, estimate_out);
    let (admitted, estimate, spilled_over) = match admission {
        Ok((a, e)) => (a, e, false),
        // A provisioned deployment with a spillover deployment hands the call over instead
        // of refusing it (docs/simulator.md, `spillover`).
        Err(t) => match spill_over(&shared, &d, now, prompt, cached, estimate_out) {
            Some((to, a, e)) => {
                ctx.deployment = Some(to.clone());
                d = to;
                (a, e, true)
            }
            None => return throttled(&ctx, &d, surface, api_version.as_deref(), t),
        },
    };

    let output_filtered = contains_phrase(&prompt_text, &shared.cfg.output_filter_phrases);
    let generated = completion::generate(&d, &req, &mut rng, output_filtered, &shared.cfg.answers);
    let timing = completion::schedule(
        &d.cfg.latency,
        generated.pieces.len(),
        generated.reasoning,
        &mut rng,
    );
    let usage = Usage {
        prompt,
        cached,
        completion: generated.completion_tokens(),
        reasoning: generated.reasoning,
    };
    correct_ptu_later(&shared, &d, timing.end, estimate, usage);
    let extra = Extra {
        admitted: Some(admitted),
        service_ms: Some(timing.ttft.as_millis() as u64),
        prompt_tokens: usage.prompt,
        completion_tokens: usage.completion,
        spilled_over,
        ..Extra::default()
    };
    let model = d.model_version();
    let created = shared.created();
    if ctx.stream {
        let framing = match fault {
            Some(FaultKind::Crlf) => Framing {
                data_prefix: "data: ",
                eol: "\r\n",
            },
            Some(FaultKind::Comments) => Framing {
                data_prefix: "data:",
                eol: "\n",
            },
            _ => Framing::STANDARD,
        };
        let writer = ChunkWriter::new(
            framing,
            created,
            &ids.completion_id,
            &model,
            &d.fingerprint,
            req.include_usage(),
            shared.cfg.chunk_filter_results,
        );
        let async_filter = d.cfg.content_filter == ContentFilterMode::Async;
        let writer = if async_filter {
            writer.asynchronous()
        } else {
            writer
        };
        let plan = completion::stream_plan(&StreamSpec {
            writer: &writer,
            generated: &generated,
            timing: &timing,
            usage,
            include_usage: req.include_usage(),
            annotation: shared.cfg.annotation_chunk,
            async_filter,
            fault,
            stall,
        });
        let entry = ctx.log(StatusCode::OK, &extra);
        let start = tokio::time::Instant::now();
        let body = Body::from_stream(sse::into_stream(plan, start, entry));
        let mut resp = ctx.build(StatusCode::OK, respond::EVENT_STREAM, body, &extra);
        let h = resp.headers_mut();
        h.insert("x-accel-buffering", HeaderValue::from_static("no"));
        h.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
        return resp;
    }

    // Non-streamed.
    let mut content = generated.pieces.concat();
    if fault == Some(FaultKind::BigDelta) {
        content.push_str(completion::big_delta());
    }
    let head = Head {
        created,
        id: &ids.completion_id,
        model: &model,
        fingerprint: &d.fingerprint,
    };
    let bytes = completion::completion_body(&head, &content, &generated, &usage);
    let extra = Extra {
        service_ms: Some(timing.end.as_millis() as u64),
        ..extra
    };
    if !timing.end.is_zero() {
        tokio::time::sleep(timing.end).await;
    }
    faulted_body(&ctx, fault, bytes, completion::corrupt_utf8, stall, &extra)
}

/// A whole (non-stream) 200 body with its fault applied, for chat and the Responses API
/// alike: corrupted where `corrupt` puts invalid UTF-8, cut in half, or its first half then
/// a reset or a stall before the rest.
pub(super) fn faulted_body(
    ctx: &Ctx,
    fault: Option<FaultKind>,
    mut bytes: Vec<u8>,
    corrupt: fn(&mut Vec<u8>),
    stall: Duration,
    extra: &Extra,
) -> Response {
    match fault {
        Some(FaultKind::InvalidUtf8) => corrupt(&mut bytes),
        Some(FaultKind::Truncate | FaultKind::Malformed) => bytes.truncate(bytes.len() / 2),
        Some(FaultKind::Reset | FaultKind::Stall) => {
            let rest = bytes.split_off(bytes.len() / 2);
            let mut plan = sse::Plan::default();
            plan.at(Duration::ZERO).extend_from_slice(&bytes);
            if fault == Some(FaultKind::Reset) {
                plan.mark_reset();
            } else {
                plan.at(stall).extend_from_slice(&rest);
            }
            let entry = ctx.log(StatusCode::OK, extra);
            let body =
                Body::from_stream(sse::into_stream(plan, tokio::time::Instant::now(), entry));
            return ctx.build(StatusCode::OK, JSON, body, extra);
        }
        _ => {}
    }
    ctx.respond(StatusCode::OK, JSON, Body::from(bytes), extra)
}

/// The spillover deployment of a provisioned `d`, when it has one that admits the call.
fn spill_over(
    shared: &Shared,
    d: &DeploymentRt,
    now: Duration,
    prompt: u64,
    cached: u64,
    estimate_out: u64,
) -> Option<(Arc<DeploymentRt>, super::limits::Admitted, u64)> {
    let to = shared.deployment(d.cfg.spillover.as_deref()?)?;
    let (a, e) = lock(&to.limiter)
        .admit(now, prompt, cached, estimate_out)
        .ok()?;
    Some((to, a, e))
}

/// PTU buckets swap the admission estimate for the real cost when the call completes.
pub(super) fn correct_ptu_later(
    shared: &Arc<Shared>,
    d: &Arc<DeploymentRt>,
    after: Duration,
    estimate: u64,
    usage: Usage,
) {
    if !super::fleet::is_provisioned(&d.cfg.sku) {
        return;
    }
    let correct = {
        let shared = shared.clone();
        let d = d.clone();
        move || {
            let now = shared.now();
            lock(&d.limiter).complete(now, estimate, usage.prompt, usage.cached, usage.completion);
        }
    };
    if after.is_zero() {
        correct();
    } else {
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            correct();
        });
    }
}

pub(super) fn throttled(
    ctx: &Ctx,
    d: &DeploymentRt,
    surface: Surface,
    api_version: Option<&str>,
    t: Throttled,
) -> Response {
    throttled_op(ctx, d, surface, api_version, t, "ChatCompletions_Create")
}

/// A 429 naming `operation` (`ChatCompletions_Create`, `Embeddings_Create`).
pub(super) fn throttled_op(
    ctx: &Ctx,
    d: &DeploymentRt,
    surface: Surface,
    api_version: Option<&str>,
    t: Throttled,
    operation: &str,
) -> Response {
    let body = respond::rate_limit_body(
        &ctx.shared.cfg,
        operation,
        &t,
        surface,
        api_version,
        &d.cfg.name,
        &d.cfg.model,
    );
    let extra = Extra {
        throttled: Some(t),
        ..Extra::default()
    };
    ctx.respond(
        StatusCode::TOO_MANY_REQUESTS,
        JSON,
        Body::from(body),
        &extra,
    )
}

/// A 32-hex completion id derived from the request id (deterministic when it is).
fn foundry_id(request_id: &str) -> String {
    let hex: String = request_id.chars().filter(char::is_ascii_hexdigit).collect();
    format!("{hex:0>32}")
}
