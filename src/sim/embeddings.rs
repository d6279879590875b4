//! The embeddings API: classic `/openai/deployments/{d}/embeddings?api-version=…` and v1
//! `/openai/v1/embeddings` (deployment as body `model`). Auth, faults, rate limits and 429s
//! come from the chat handlers' machinery; prompt tokens are counted exactly (cl100k, the
//! embeddings models' vocabulary); vectors are deterministic unit vectors of the model's size
//! (or `dimensions`). A chat model refuses with Azure's 400 `OperationNotSupported`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode, Uri};

use super::data_plane::{admit, header_str, throttled_op};
use super::faults::{self, FaultKind};
use super::fleet::fnv;
use super::limits::{ThrottleKind, Throttled};
use super::respond::{self, Ctx, Extra, JSON, Surface};
use super::state::{Shared, lock};
use crate::domain::embeddings::{is_embeddings_model, native_dimensions, takes_dimensions};
use crate::wire::embeddings::{
    Embedding, EmbeddingVector, EmbeddingsInput, EmbeddingsRequest, EmbeddingsResponse,
    EmbeddingsUsage,
};

const OPERATION: &str = "Embeddings_Create";

type Q = Query<HashMap<String, String>>;

pub async fn classic(
    State(shared): State<Arc<Shared>>,
    Path(deployment): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let api_version = q.get("api-version").cloned();
    if api_version.is_none() {
        return super::data_plane::no_api_version(shared, &headers, &uri);
    }
    embed(
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

pub async fn v1(
    State(shared): State<Arc<Shared>>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let api_version = q.get("api-version").cloned();
    embed(shared, Surface::V1, None, api_version, headers, uri, body).await
}

async fn embed(
    shared: Arc<Shared>,
    surface: Surface,
    path_deployment: Option<String>,
    api_version: Option<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let ids = shared.next_ids();
    let mut rng = ids.rng;
    let mut ctx = Ctx::new(shared.clone(), ids.request_id, &headers, "POST", uri.path());
    let (req, d) = match admit(
        &mut ctx,
        &headers,
        path_deployment.as_deref(),
        &body,
        |r: &EmbeddingsRequest| (r.model.as_deref(), false),
    ) {
        Ok(admitted) => admitted,
        Err(resp) => return *resp,
    };
    let model = d.cfg.model.clone();
    if !is_embeddings_model(&model) {
        let body = respond::operation_not_supported_body("embeddings", &model);
        return ctx.json(StatusCode::BAD_REQUEST, body);
    }
    let dims = match check_dimensions(&model, req.dimensions) {
        Ok(n) => n,
        Err(body) => return ctx.json(StatusCode::BAD_REQUEST, body),
    };
    let texts = match token_counts(&req.input) {
        Some(t) => t,
        None => {
            let body = respond::invalid_request_body(
                "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
                None,
                None,
            );
            return ctx.json(StatusCode::BAD_REQUEST, body);
        }
    };
    let limit = d.info.context_window;
    if let Some(n) = texts.iter().map(|(_, n)| *n).find(|n| *n > limit) {
        let body = respond::invalid_request_body(
            &format!(
                "This model's maximum context length is {limit} tokens, however you requested {n} tokens ({n} in your prompt; 0 for the completion). Please reduce your prompt; or completion length."
            ),
            None,
            None,
        );
        return ctx.json(StatusCode::BAD_REQUEST, body);
    }

    match faults::from_headers(&headers) {
        Ok(Some(FaultKind::RateLimit)) => {
            let ms = header_str(&headers, "x-sim-retry-after-ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(d.cfg.fault_retry_after_ms);
            let t = Throttled {
                kind: ThrottleKind::Tokens,
                retry_after: Duration::from_millis(ms.max(1)),
            };
            return throttled_op(&ctx, &d, surface, api_version.as_deref(), t, OPERATION);
        }
        Ok(Some(FaultKind::Internal)) => {
            return ctx.json(StatusCode::INTERNAL_SERVER_ERROR, faults::BODY_500);
        }
        Ok(Some(FaultKind::Unavailable)) => {
            return ctx.json(StatusCode::SERVICE_UNAVAILABLE, faults::BODY_503);
        }
        Ok(_) => {}
        Err(e) => {
            let body = respond::invalid_request_body(&e.to_string(), Some("x-sim-fault"), None);
            return ctx.json(StatusCode::BAD_REQUEST, body);
        }
    }

    let prompt: u64 = texts.iter().map(|(_, n)| *n).sum();
    // The guard must be gone before a 429 is built: its headers read the limiter too.
    let admission = lock(&d.limiter).admit(shared.now(), prompt, 0, 0);
    let admitted = match admission {
        Ok((a, _)) => a,
        Err(t) => return throttled_op(&ctx, &d, surface, api_version.as_deref(), t, OPERATION),
    };
    let base64 = req.encoding_format.as_deref() == Some("base64");
    let data = texts
        .iter()
        .enumerate()
        .map(|(i, (key, _))| {
            let v = unit_vector(&model, key, dims);
            Embedding {
                embedding: if base64 {
                    EmbeddingVector::Base64(EmbeddingVector::base64_of(&v))
                } else {
                    EmbeddingVector::Floats(v)
                },
                index: i as u32,
                object: "embedding".into(),
            }
        })
        .collect();
    let answer = EmbeddingsResponse {
        data,
        model,
        object: "list".into(),
        usage: EmbeddingsUsage {
            prompt_tokens: prompt,
            total_tokens: prompt,
        },
    };
    let service = latency(&d.cfg.latency, &mut rng);
    if !service.is_zero() {
        tokio::time::sleep(service).await;
    }
    let extra = Extra {
        admitted: Some(admitted),
        service_ms: Some(service.as_millis() as u64),
        prompt_tokens: prompt,
        ..Extra::default()
    };
    let bytes = serde_json::to_vec(&answer).unwrap_or_default();
    ctx.respond(StatusCode::OK, JSON, Body::from(bytes), &extra)
}

/// The vector size: `dimensions` when the model takes it (1 ..= native), else the native one.
fn check_dimensions(model: &str, asked: Option<u32>) -> Result<usize, String> {
    let native = native_dimensions(model).unwrap_or(1536);
    match asked {
        None => Ok(native as usize),
        Some(_) if !takes_dimensions(model) => Err(respond::invalid_request_body(
            "This model does not support specifying dimensions.",
            None,
            None,
        )),
        Some(n) if n == 0 || n > native => Err(respond::invalid_request_body(
            &format!("Invalid value for 'dimensions' = {n}. Must be between 1 and {native}."),
            Some("dimensions"),
            None,
        )),
        Some(n) => Ok(n as usize),
    }
}

/// Each input's identity (what its vector is seeded by) and its token count; `None` for an
/// empty input or an empty text.
fn token_counts(input: &EmbeddingsInput) -> Option<Vec<(String, u64)>> {
    let out: Vec<(String, u64)> = match input {
        EmbeddingsInput::Text(t) => vec![(t.clone(), crate::tokens::count_cl100k(t) as u64)],
        EmbeddingsInput::Texts(ts) => ts
            .iter()
            .map(|t| (t.clone(), crate::tokens::count_cl100k(t) as u64))
            .collect(),
        EmbeddingsInput::Tokens(ids) => vec![(format!("{ids:?}"), ids.len() as u64)],
        EmbeddingsInput::TokenLists(ls) => ls
            .iter()
            .map(|ids| (format!("{ids:?}"), ids.len() as u64))
            .collect(),
    };
    (!out.is_empty() && out.iter().all(|(_, n)| *n > 0)).then_some(out)
}

/// A deterministic unit vector for `text` on `model`: the same text always embeds the same.
pub(super) fn unit_vector(model: &str, text: &str, dims: usize) -> Vec<f32> {
    let mut state = fnv(format!("{model}\u{0}{text}").as_bytes()) | 1;
    let mut v: Vec<f64> = (0..dims)
        .map(|_| {
            // xorshift64*: uniform in [-1, 1).
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let x = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
            (x as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect();
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for x in &mut v {
        *x /= norm;
    }
    v.into_iter().map(|x| x as f32).collect()
}

/// Service time of one embeddings call: the deployment's time to first token, jittered.
fn latency(cfg: &super::config::LatencyConfig, rng: &mut rand::rngs::SmallRng) -> Duration {
    use rand::Rng;
    if cfg.ttft_ms == 0 {
        return Duration::ZERO;
    }
    let jitter = 1.0 + cfg.jitter * (rng.random::<f64>() * 2.0 - 1.0);
    Duration::from_secs_f64((cfg.ttft_ms as f64 * jitter).max(0.0) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_length_deterministic_and_differ_by_text() {
        let a = unit_vector("text-embedding-3-small", "hello", 1536);
        assert_eq!(a.len(), 1536);
        let norm: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
        assert_eq!(a, unit_vector("text-embedding-3-small", "hello", 1536));
        assert_ne!(a, unit_vector("text-embedding-3-small", "world", 1536));
    }

    #[test]
    fn dimensions_follow_the_model() {
        assert_eq!(check_dimensions("text-embedding-3-large", None), Ok(3072));
        assert_eq!(
            check_dimensions("text-embedding-3-small", Some(256)),
            Ok(256)
        );
        assert!(check_dimensions("text-embedding-3-small", Some(4096)).is_err());
        assert!(check_dimensions("text-embedding-ada-002", Some(256)).is_err());
    }
}
