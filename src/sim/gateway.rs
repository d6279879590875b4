//! An Azure API Management gateway in front of the simulated data plane (`[gateway]` in the
//! simulator's TOML), as enterprises deploy one in front of Azure OpenAI: it wants its own
//! subscription key in a named header (`Ocp-Apim-Subscription-Key`), calls the backend with
//! its own credential, and applies a `rate-limit` policy (calls per minute) and an
//! `azure-openai-token-limit` policy (tokens per minute, prompt tokens estimated before the
//! call, as the policy's `estimate-prompt-tokens="true"` does) with the policy's counter
//! headers under the names the policy gives them.
//!
//! Its refusals are API Management's, not Azure OpenAI's: a flat `{"statusCode", "message"}`
//! body. The 401 and rate-limit wordings are API Management's as Microsoft documents them for
//! its own APIM-fronted APIs (Partner Center: `{ "statusCode": 429, "message": "Rate limit is
//! exceeded. Try again in 57 seconds." }` with `Retry-After: 57`); the token-limit policy's
//! text is not in a recording we have, so its wording here ("Token limit is exceeded. Try
//! again in N seconds.") is an assumption, and the client classifies either.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

/// The gateway's policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// The subscription key header.
    pub header: String,
    /// Accepted subscription keys (empty: any non-empty key).
    pub keys: Vec<String>,
    /// `rate-limit` policy: calls per 60 s window.
    pub calls_per_minute: Option<u32>,
    /// `azure-openai-token-limit` policy: estimated prompt tokens per 60 s window.
    pub tokens_per_minute: Option<u64>,
    /// The policy's `remaining-tokens-header-name`.
    pub remaining_tokens_header: Option<String>,
    /// The policy's `tokens-consumed-header-name`.
    pub consumed_tokens_header: Option<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            header: "Ocp-Apim-Subscription-Key".into(),
            keys: Vec::new(),
            calls_per_minute: None,
            tokens_per_minute: None,
            remaining_tokens_header: None,
            consumed_tokens_header: None,
        }
    }
}

const WINDOW: Duration = Duration::from_secs(60);
/// Largest request body the gateway reads to estimate tokens.
const MAX_BODY: usize = 16 << 20;

#[derive(Debug)]
struct Window {
    started: Instant,
    calls: u32,
    tokens: u64,
}

/// The gateway's counters (one consumer: every key shares them).
#[derive(Debug)]
pub struct Gateway {
    cfg: GatewayConfig,
    /// The credential the gateway calls the backend with (its managed identity, here a key
    /// the backend accepts).
    backend_key: String,
    window: Mutex<Window>,
}

impl Gateway {
    pub fn new(cfg: GatewayConfig, backend_key: String) -> Arc<Gateway> {
        Arc::new(Gateway {
            cfg,
            backend_key,
            window: Mutex::new(Window {
                started: Instant::now(),
                calls: 0,
                tokens: 0,
            }),
        })
    }
}

fn apim(status: StatusCode, message: &str, retry_after: Option<u64>) -> Response {
    let body = serde_json::json!({ "statusCode": status.as_u16(), "message": message }).to_string();
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(s) = retry_after {
        h.insert(http::header::RETRY_AFTER, HeaderValue::from(s));
    }
    r
}

/// The prompt's tokens as the token-limit policy estimates them: the request's message
/// texts (or its `input`), counted with o200k.
fn estimate_prompt_tokens(body: &[u8]) -> u64 {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0;
    };
    let mut text = String::new();
    let mut add = |s: &str| {
        text.push_str(s);
        text.push('\n');
    };
    match v.get("messages").or(v.get("input")) {
        Some(serde_json::Value::Array(items)) => {
            for m in items {
                match m.get("content") {
                    Some(serde_json::Value::String(s)) => add(s),
                    Some(other) => add(&other.to_string()),
                    None => add(&m.to_string()),
                }
            }
        }
        Some(serde_json::Value::String(s)) => add(s),
        _ => {}
    }
    crate::tokens::count(&text) as u64
}

/// The gateway in front of every data-plane path.
pub async fn layer(State(gw): State<Arc<Gateway>>, req: Request, next: Next) -> Response {
    if !is_data_plane(req.uri().path()) {
        return next.run(req).await;
    }
    let cfg = &gw.cfg;
    let key = req
        .headers()
        .get(cfg.header.as_str())
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let Some(key) = key else {
        return apim(
            StatusCode::UNAUTHORIZED,
            "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
            None,
        );
    };
    if !cfg.keys.is_empty() && !cfg.keys.contains(&key) {
        return apim(
            StatusCode::UNAUTHORIZED,
            "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.",
            None,
        );
    }
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return apim(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large.",
            None,
        );
    };
    let estimate = estimate_prompt_tokens(&bytes);
    let remaining = {
        let mut w = gw.window.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.duration_since(w.started) >= WINDOW {
            *w = Window {
                started: now,
                calls: 0,
                tokens: 0,
            };
        }
        let retry = (WINDOW
            .saturating_sub(now.duration_since(w.started))
            .as_secs())
        .max(1);
        if cfg.calls_per_minute.is_some_and(|max| w.calls >= max) {
            return apim(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Rate limit is exceeded. Try again in {retry} seconds."),
                Some(retry),
            );
        }
        if let Some(max) = cfg.tokens_per_minute
            && w.tokens + estimate > max
        {
            let mut r = apim(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Token limit is exceeded. Try again in {retry} seconds."),
                Some(retry),
            );
            counter(
                &mut r,
                &cfg.remaining_tokens_header,
                max.saturating_sub(w.tokens),
            );
            return r;
        }
        w.calls += 1;
        w.tokens += estimate;
        cfg.tokens_per_minute
            .map(|max| max.saturating_sub(w.tokens))
    };
    // The backend sees the gateway's credential, not the caller's key.
    parts.headers.remove(cfg.header.as_str());
    if let Ok(v) = HeaderValue::from_str(&gw.backend_key) {
        parts.headers.insert(HeaderName::from_static("api-key"), v);
    }
    let mut resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if let Some(left) = remaining {
        counter(&mut resp, &cfg.remaining_tokens_header, left);
    }
    counter(&mut resp, &cfg.consumed_tokens_header, estimate);
    resp
}

fn counter(r: &mut Response, name: &Option<String>, value: u64) {
    if let Some(n) = name
        .as_deref()
        .and_then(|n| HeaderName::from_bytes(n.as_bytes()).ok())
    {
        r.headers_mut().insert(n, HeaderValue::from(value));
    }
}

fn is_data_plane(path: &str) -> bool {
    path.starts_with("/openai/") || path.starts_with("/models/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_the_prompt_from_messages_or_input() {
        let chat = br#"{"messages":[{"role":"user","content":"What is a PTU?"}]}"#;
        assert!(estimate_prompt_tokens(chat) >= 4);
        let responses = br#"{"input":"What is a PTU?"}"#;
        assert!(estimate_prompt_tokens(responses) >= 4);
        assert_eq!(estimate_prompt_tokens(b"not json"), 0);
    }
}
