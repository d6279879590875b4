//! A fake Entra ID: the token endpoints `azure_identity` talks to, served by the simulator on
//! 127.0.0.1 — App Service managed identity (`GET /msi/token`, `IDENTITY_ENDPOINT` +
//! `IDENTITY_HEADER`), IMDS (`GET /metadata/identity/oauth2/token`) and the v2 client
//! credentials flow (`POST /{tenant}/oauth2/v2.0/token`). Tokens are JWT-shaped
//! (`header.payload.signature`, base64url) and signed with a per-seed simulator secret, so the
//! simulator can check the audience and expiry of tokens it issued itself. Real Entra tokens
//! cannot be verified here; with `entra.require = false` (default) other bearers follow the
//! `bearer_tokens` rules.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::fleet;
use super::state::Shared;

pub const AUD_DATA_PLANE: &str = "https://cognitiveservices.azure.com";
pub const AUD_ARM: &str = "https://management.azure.com/";
const ISSUER: &str = "https://sts.aoai-sim.invalid/";
/// The tenant put in issued tokens (`tid`), as Entra ID does.
pub const SIM_TENANT: &str = "22222222-2222-2222-2222-222222222222";

/// Why a bearer was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProblem {
    /// Not a token this simulator issued.
    Foreign,
    BadSignature,
    Expired,
    Audience(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub aud: String,
    pub iss: String,
    pub exp: u64,
    pub iat: u64,
    pub oid: String,
    #[serde(default)]
    pub tid: String,
}

/// The signing secret of a simulator with this seed.
pub fn secret_for(seed: u64) -> String {
    format!("aoai-sim-{seed:x}")
}

fn sign(secret: &str, signed: &str) -> String {
    let a = fleet::fnv(format!("{secret}.{signed}").as_bytes());
    let b = fleet::fnv(format!("{signed}.{secret}.{a:x}").as_bytes());
    b64(format!("{a:016x}{b:016x}").as_bytes())
}

/// A token for `aud` expiring at `exp` (unix seconds).
pub fn mint(secret: &str, aud: &str, iat: u64, exp: u64, oid: &str) -> String {
    let header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"aoai-sim"}"#);
    let claims = Claims {
        aud: aud.to_string(),
        iss: ISSUER.to_string(),
        exp,
        iat,
        oid: oid.to_string(),
        tid: SIM_TENANT.to_string(),
    };
    let payload = b64(serde_json::to_string(&claims)
        .unwrap_or_default()
        .as_bytes());
    let signed = format!("{header}.{payload}");
    let sig = sign(secret, &signed);
    format!("{signed}.{sig}")
}

/// Checks a bearer against `want_aud` (trailing `/` ignored) at `now` (unix seconds).
pub fn verify(secret: &str, token: &str, want_aud: &str, now: u64) -> Result<Claims, TokenProblem> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenProblem::Foreign);
    };
    let claims: Claims = unb64(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenProblem::Foreign)?;
    if claims.iss != ISSUER {
        return Err(TokenProblem::Foreign);
    }
    if sign(secret, &format!("{h}.{p}")) != sig {
        return Err(TokenProblem::BadSignature);
    }
    if claims.exp <= now {
        return Err(TokenProblem::Expired);
    }
    let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
    if norm(&claims.aud) != norm(want_aud) {
        return Err(TokenProblem::Audience(claims.aud.clone()));
    }
    Ok(claims)
}

/// Unix time now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `resource` or `scope` → audience: `https://x/.default` → `https://x`.
fn audience(resource: &str) -> String {
    let r = resource.trim();
    r.strip_suffix("/.default").unwrap_or(r).to_string()
}

fn issue(shared: &Shared, resource: &str) -> (String, u64) {
    let now = unix_now();
    let exp = now + shared.cfg.entra.token_lifetime_s;
    let mut aud = audience(resource);
    if aud.trim_end_matches('/') == AUD_ARM.trim_end_matches('/') {
        aud = AUD_ARM.to_string();
    }
    let token = mint(
        &secret_for(shared.cfg.seed),
        &aud,
        now,
        exp,
        &shared.cfg.entra.principal,
    );
    (token, exp)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

fn msi_response(shared: &Shared, q: &HashMap<String, String>) -> Response {
    if !shared.cfg.entra.managed_identity {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found",
        );
    }
    let Some(resource) = q.get("resource") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let (token, exp) = issue(shared, resource);
    (
        [(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        json!({
            "access_token": token,
            "expires_on": exp.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": shared.cfg.entra.principal,
        })
        .to_string(),
    )
        .into_response()
}

/// App Service managed identity (`IDENTITY_ENDPOINT`, header `x-identity-header`).
pub async fn app_service_token(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ok = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == shared.cfg.entra.identity_header);
    if !ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "x-identity-header is missing or wrong",
        );
    }
    msi_response(&shared, &q)
}

/// IMDS (`Metadata: true`).
pub async fn imds_token(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if headers.get("metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        );
    }
    msi_response(&shared, &q)
}

/// Client-credentials flow (`grant_type=client_credentials`, `client_secret`, `scope`).
pub async fn aad_token(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.get("client_secret") != Some(&shared.cfg.entra.client_secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        );
    }
    let Some(scope) = form.get("scope") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter: 'scope'.",
        );
    };
    let (token, _) = issue(&shared, scope);
    let life = shared.cfg.entra.token_lifetime_s;
    (
        [(http::header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json!({"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": token})
            .to_string(),
    )
        .into_response()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (chunk.get(1).copied().unwrap_or(0) as u32) << 8
            | chunk.get(2).copied().unwrap_or(0) as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips() {
        for s in ["", "a", "ab", "abc", "abcd", "{\"aud\":\"x\"}"] {
            assert_eq!(unb64(&b64(s.as_bytes())).unwrap(), s.as_bytes());
        }
    }

    #[test]
    fn verify_checks_signature_expiry_and_audience() {
        let sec = secret_for(1);
        let t = mint(&sec, AUD_DATA_PLANE, 100, 200, "p");
        assert!(verify(&sec, &t, "https://cognitiveservices.azure.com/", 150).is_ok());
        assert_eq!(
            verify(&sec, &t, AUD_DATA_PLANE, 200),
            Err(TokenProblem::Expired)
        );
        assert_eq!(
            verify(&sec, &t, AUD_ARM, 150),
            Err(TokenProblem::Audience(AUD_DATA_PLANE.into()))
        );
        assert_eq!(
            verify(&secret_for(2), &t, AUD_DATA_PLANE, 150),
            Err(TokenProblem::BadSignature)
        );
        assert_eq!(
            verify(&sec, "simulator", AUD_DATA_PLANE, 150),
            Err(TokenProblem::Foreign)
        );
    }
}
