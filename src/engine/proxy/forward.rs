//! The request handler: forward as is, stream the answer back chunk by chunk while the tap
//! reads it, answer injected faults and unreachable upstreams here, Azure-shaped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::call::Call;
use super::inject::{Fault, INJECTED_RETRY_AFTER_S, answer_body};
use super::measure::Head;
use super::request::RequestMeta;
use super::{ClientInfo, ProxyEvent, Shared};
use crate::domain::call::{CallError, ErrorKind};
use crate::domain::ratelimit::RateLimit;

/// The largest request body forwarded (the service's own limit is far below).
const MAX_REQUEST: usize = 64 << 20;

/// Headers of one hop only (RFC 9110 §7.6.1), never forwarded either way; `host` and
/// `content-length` are set anew by each hop. `accept-encoding` is dropped so the answer
/// comes uncompressed and the tap can read it.
fn hop_by_hop(name: &str) -> bool {
    const HOP: [&str; 11] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    ];
    HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// The path and query as records show them: only `api-version` of the query is kept, so a
/// key passed in the URL (`?api-key=`) cannot reach a record.
fn shown_path(path: &str, query: Option<&str>) -> String {
    let kept: Vec<(String, String)> = query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "api-version")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    if kept.is_empty() {
        return path.to_string();
    }
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{path}?{q}")
}

/// An Azure-shaped error answered by the proxy itself.
fn error_response(status: u16, code: &str, message: &str, extra: &[(&str, String)]) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    for (k, v) in extra {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(*k), HeaderValue::from_str(v)) {
            h.insert(k, v);
        }
    }
    r
}

/// Whether the request carries `key` as its `api-key` or `Authorization: Bearer` (compared
/// in constant time).
fn presents(headers: &http::HeaderMap, key: &str) -> bool {
    let same = |v: &str| {
        let (a, b) = (v.trim().as_bytes(), key.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    };
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    header("api-key").is_some_and(same)
        || header("authorization")
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .is_some_and(same)
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = req.into_parts();
    if let Some(key) = &shared.proxy_key
        && !presents(&parts.headers, key.expose())
    {
        return error_response(
            401,
            "ProxyKeyRequired",
            "aoai proxy: this proxy lends its profile's credential only to callers with its local key: send AOAI_PROXY_KEY as the api-key (or a Bearer token)",
            &[],
        );
    }
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let client = ClientInfo {
        addr,
        user_agent: parts
            .headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    };
    let body = match axum::body::to_bytes(body, MAX_REQUEST).await {
        Ok(b) => b,
        Err(e) => {
            let msg = format!("aoai proxy could not read the request body: {e}");
            return error_response(400, "BadRequest", &msg, &[]);
        }
    };
    let meta = RequestMeta::read(&path, query.as_deref(), &body);
    let plan = shared.injector.plan();
    let request_headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .filter(|(k, _)| crate::domain::scenario::REQUEST_HEADER_ALLOWLIST.contains(&k.as_str()))
        .collect();
    let shown = shown_path(&path, query.as_deref());
    shared.emit(ProxyEvent::Started {
        id,
        client: client.clone(),
        method: parts.method.to_string(),
        path: shown.clone(),
        deployment: meta.deployment.clone(),
        api: meta.api,
        wire_api: meta.wire_api,
        stream: meta.stream,
        injected: plan.label(),
        prompt: if shared.live {
            meta.prompt_text()
        } else {
            String::new()
        },
    });
    let operation = meta.operation;
    let mut call = Call::new(
        shared.clone(),
        id,
        meta,
        client,
        parts.method.to_string(),
        shown,
        request_headers,
        plan.label(),
    );

    if let Some(fault) = plan.answer {
        return injected_answer(call, fault, operation);
    }

    let url = match &query {
        Some(q) => format!("{}{path}?{q}", shared.base),
        None => format!("{}{path}", shared.base),
    };
    let mut rb = shared.http.request(parts.method.clone(), &url);
    // `--auth profile`: the application's credentials stay here; the profile's go instead.
    let replace_auth = shared.auth.is_some();
    let profile_header = shared.auth.as_ref().and_then(|a| a.header_name());
    for (k, v) in &parts.headers {
        let credential = crate::domain::call::is_credential_header(k.as_str())
            || profile_header.as_ref() == Some(k);
        if !hop_by_hop(k.as_str()) && k != "accept-encoding" && !(replace_auth && credential) {
            rb = rb.header(k, v);
        }
    }
    if let Some(auth) = &shared.auth {
        match auth
            .header_for(crate::azure::identity::SCOPE_DATA_PLANE)
            .await
        {
            Ok(Some((name, value))) => {
                let mut v =
                    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""));
                v.set_sensitive(true);
                rb = rb.header(name, v);
            }
            Ok(None) => {}
            Err(e) => {
                let message = format!("aoai proxy could not get the profile's credential: {e}");
                let mut err = CallError::new(ErrorKind::Connect, message.clone());
                err.code = Some("ProxyCredentialUnavailable".into());
                call.end(Some(err));
                return error_response(502, "ProxyCredentialUnavailable", &message, &[]);
            }
        }
    }
    rb = rb.body(body);
    call.sent = std::time::Instant::now();
    let resp = match tokio::time::timeout(shared.first_byte_timeout, rb.send()).await {
        Ok(Ok(r)) => r,
        Err(_) => {
            let message = format!(
                "aoai proxy: no response headers from the upstream {} within {:.1} s (first-byte timeout)",
                shared.endpoint,
                shared.first_byte_timeout.as_secs_f64()
            );
            let mut err = CallError::new(ErrorKind::Timeout, message.clone());
            err.code = Some("UpstreamTimeout".into());
            call.end(Some(err));
            return error_response(504, "UpstreamTimeout", &message, &[]);
        }
        Ok(Err(e)) => {
            let cause = root_cause(&e);
            let message = format!(
                "aoai proxy could not reach the upstream {}: {cause}",
                shared.endpoint
            );
            let mut err = CallError::new(ErrorKind::Connect, message.clone());
            err.code = Some("UpstreamUnreachable".into());
            call.end(Some(err));
            return error_response(502, "UpstreamUnreachable", &message, &[]);
        }
    };
    let at = call.sent.elapsed();
    let status = resp.status().as_u16();
    let h = resp.headers();
    let pairs: Vec<(String, String)> = h
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    call.headers(Head::read(
        status,
        at,
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ));
    let mut out_headers = HeaderMap::new();
    for (k, v) in h {
        if !hop_by_hop(k.as_str()) {
            out_headers.append(k.clone(), v.clone());
        }
    }
    if let Some(label) = &call.injected
        && let Ok(v) = HeaderValue::from_str(label)
    {
        out_headers.insert("x-aoai-proxy-injected", v);
    }
    let relay = relay(
        call,
        resp.bytes_stream(),
        plan.slow_first,
        plan.cut,
        shared.idle_timeout,
    );
    let mut r = Response::new(Body::from_stream(relay));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    *r.headers_mut() = out_headers;
    r
}

/// The answer to a call the proxy fails on purpose; nothing is sent upstream.
fn injected_answer(mut call: Call, fault: Fault, operation: &str) -> Response {
    let (status, body) = answer_body(fault, operation);
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut headers = vec![
        ("apim-request-id", request_id.clone()),
        ("x-aoai-proxy-injected", fault.to_string()),
    ];
    if status == 429 {
        headers.push(("retry-after", INJECTED_RETRY_AFTER_S.to_string()));
        headers.push((
            "retry-after-ms",
            (INJECTED_RETRY_AFTER_S * 1000).to_string(),
        ));
    }
    let ratelimit = RateLimit::from_headers(headers.iter().map(|(k, v)| (*k, v.as_str())));
    let mut kept: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    kept.push(("content-type".into(), "application/json".into()));
    call.headers(Head {
        status,
        at: call.sent.elapsed(),
        ratelimit,
        request_id: Some(request_id),
        region: None,
        headers: kept,
    });
    call.feed(body.as_bytes());
    call.end(None);
    let err = serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default();
    error_response(
        status,
        err["error"]["code"].as_str().unwrap_or(""),
        err["error"]["message"].as_str().unwrap_or(""),
        &headers,
    )
}

struct Relay<S> {
    call: Call,
    upstream: S,
    slow_first: Option<Duration>,
    cut: bool,
    idle: Duration,
    done: bool,
    /// The error to end the body with after the cut chunk.
    fail_next: Option<String>,
}

/// The body as it passes: each upstream chunk is handed on as it came (no copy, no
/// buffering) and read by the tap. Dropped early — the application hung up — the call
/// ends cancelled and the upstream request is dropped with it.
fn relay<S>(
    call: Call,
    upstream: S,
    slow_first: Option<Duration>,
    cut: bool,
    idle: Duration,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: Stream<Item = Result<Bytes, reqwest::Error>> + Send + Unpin + 'static,
{
    let state = Relay {
        call,
        upstream,
        slow_first,
        cut,
        idle,
        done: false,
        fail_next: None,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if let Some(m) = st.fail_next.take() {
            return Some((Err(std::io::Error::other(m)), st));
        }
        if st.done {
            return None;
        }
        let Ok(next) = tokio::time::timeout(st.idle, st.upstream.next()).await else {
            let message = format!(
                "the upstream went silent mid-body for {:.1} s (idle timeout)",
                st.idle.as_secs_f64()
            );
            st.call
                .end(Some(CallError::new(ErrorKind::Timeout, message.clone())));
            st.done = true;
            return Some((Err(std::io::Error::other(message)), st));
        };
        if let Some(d) = st.slow_first.take() {
            tokio::time::sleep(d).await;
        }
        match next {
            Some(Ok(bytes)) => {
                st.call.feed(&bytes);
                if st.cut && st.call.has_content() {
                    // Hand on what carried the first content, then break off.
                    st.cut = false;
                    st.done = true;
                    st.fail_next = Some("stream cut by aoai proxy (injected)".into());
                    let mut err = CallError::new(
                        ErrorKind::Truncated,
                        "the proxy cut the stream off after its first content (injected)",
                    );
                    err.code = Some("cut-stream".into());
                    st.call.end(Some(err));
                    return Some((Ok(bytes), st));
                }
                Some((Ok(bytes), st))
            }
            Some(Err(e)) => {
                let message = format!(
                    "the upstream connection broke mid-stream: {}",
                    root_cause(&e)
                );
                st.call
                    .end(Some(CallError::new(ErrorKind::Truncated, message.clone())));
                st.done = true;
                Some((Err(std::io::Error::other(message)), st))
            }
            None => {
                st.call.end(None);
                None
            }
        }
    })
}
