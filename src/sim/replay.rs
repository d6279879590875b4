//! `aoai sim --replay FILE`: serves the responses of a recorded scenario — status, the
//! recorded (allowlisted) headers and every event at its recorded offset — to any client, so
//! an application can be debugged against a captured incident.
//!
//! Chat Completions and Responses API requests are both answered (`/openai/v1/responses`,
//! `/openai/responses`): a Responses request's `instructions` and `input` are read as the
//! system message and the turns, as the scenario keeps them, and a recorded Responses stream
//! is served with its `event:` lines.
//!
//! Which recorded call answers a request: the first not yet served whose deployment and
//! messages (role and text) equal the request's; else the first not yet served with the same messages; else
//! the next call in file order (cycling). The response carries `x-aoai-replay-call: N` (the
//! call's 1-based position in the file).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::domain::call::WireApi;
use crate::domain::scenario::ScenarioCall;
use crate::wire::{ChatMessage, ChatRequest};

struct Replay {
    calls: Vec<ScenarioCall>,
    /// Served flags and the next index for the in-order fallback.
    state: Mutex<(Vec<bool>, usize)>,
}

impl Replay {
    fn pick(&self, deployment: Option<&str>, messages: &[ChatMessage]) -> Option<usize> {
        if self.calls.is_empty() {
            return None;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (served, next) = &mut *st;
        // Role and text: a string and the same text as content parts are the same message.
        let key = |m: &[ChatMessage]| -> Vec<(String, String)> {
            m.iter().map(|m| (m.role.clone(), m.text())).collect()
        };
        let want = key(messages);
        let same_msgs = |c: &ScenarioCall| key(&c.request.body.messages) == want;
        let found = (0..self.calls.len())
            .find(|&i| {
                !served[i]
                    && same_msgs(&self.calls[i])
                    && deployment.is_none_or(|d| d == self.calls[i].request.deployment)
            })
            .or_else(|| (0..self.calls.len()).find(|&i| !served[i] && same_msgs(&self.calls[i])));
        let i = match found {
            Some(i) => i,
            None => {
                let i = *next % self.calls.len();
                *next = i + 1;
                i
            }
        };
        served[i] = true;
        Some(i)
    }
}

/// A running replay server. Dropping it stops the server.
pub struct ReplayHandle {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl ReplayHandle {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ReplayHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts serving `calls` on `127.0.0.1:port` (0 = any free port).
pub async fn start(calls: Vec<ScenarioCall>, port: u16) -> std::io::Result<ReplayHandle> {
    let n = calls.len();
    let replay = Arc::new(Replay {
        calls,
        state: Mutex::new((vec![false; n], 0)),
    });
    let app = Router::new()
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(classic),
        )
        .route("/openai/v1/chat/completions", post(by_body))
        .route("/models/chat/completions", post(by_body))
        .route("/openai/v1/responses", post(responses))
        .route("/openai/responses", post(responses))
        .fallback(not_found)
        .with_state(replay);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        // TCP_NODELAY: SSE is many small writes; with Nagle a chunk written while the
        // previous one is unacknowledged waits for the peer's delayed ACK (up to 40 ms on
        // Linux), which showed as rare multi-ms stalls under load.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(ReplayHandle {
        addr,
        shutdown: Some(tx),
    })
}

/// `aoai sim --replay FILE`: prints `listening on http://127.0.0.1:PORT`, serves until Ctrl+C.
pub async fn serve(port: u16, calls: Vec<ScenarioCall>) -> anyhow::Result<()> {
    use std::io::Write;
    let n = calls.len();
    let handle = start(calls, port).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", handle.base_url())?;
        writeln!(out, "replaying {n} recorded calls")?;
        out.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    drop(handle);
    Ok(())
}

async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        r#"{"error":{"code":"404","message":"Resource not found"}}"#,
    )
}

fn json_response(status: StatusCode, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

async fn classic(
    State(r): State<Arc<Replay>>,
    Path(deployment): Path<String>,
    body: Bytes,
) -> Response {
    respond(&r, Some(&deployment), &body).await
}

async fn by_body(State(r): State<Arc<Replay>>, _headers: HeaderMap, body: Bytes) -> Response {
    respond(&r, None, &body).await
}

/// A Responses API request's conversation in chat form: `instructions` as the system
/// message, then the `input` (a string is one user message; items keep their role).
fn responses_conversation(v: &serde_json::Value) -> Option<(Option<String>, Vec<ChatMessage>)> {
    let obj = v.as_object()?;
    let mut out = Vec::new();
    if let Some(i) = obj.get("instructions").and_then(|i| i.as_str()) {
        out.push(ChatMessage::new("system", i));
    }
    match obj.get("input")? {
        serde_json::Value::String(s) => out.push(ChatMessage::new("user", s)),
        serde_json::Value::Array(items) => {
            for it in items {
                let role = it.get("role").and_then(|r| r.as_str()).unwrap_or("user");
                let mut m = ChatMessage::new(role, "");
                m.content = it.get("content").cloned().unwrap_or_default();
                out.push(m);
            }
        }
        _ => return None,
    }
    let model = obj.get("model").and_then(|m| m.as_str()).map(String::from);
    Some((model, out))
}

async fn responses(State(r): State<Arc<Replay>>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| responses_conversation(&v));
    let Some((model, messages)) = parsed else {
        return json_response(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"code":"invalid_request_error","message":"The request body is not a Responses API request (no `input`)."}}"#,
        );
    };
    serve_call(&r, model.as_deref(), &messages).await
}

async fn respond(r: &Arc<Replay>, deployment: Option<&str>, body: &[u8]) -> Response {
    let req: ChatRequest = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(_) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                r#"{"error":{"code":"invalid_request_error","message":"The request body is not a chat completions request."}}"#,
            );
        }
    };
    let deployment = deployment.map(str::to_string).or(req.model.clone());
    serve_call(r, deployment.as_deref(), &req.messages).await
}

async fn serve_call(
    r: &Arc<Replay>,
    deployment: Option<&str>,
    messages: &[ChatMessage],
) -> Response {
    let Some(i) = r.pick(deployment, messages) else {
        return json_response(
            StatusCode::NOT_FOUND,
            r#"{"error":{"code":"404","message":"The scenario has no calls to replay."}}"#,
        );
    };
    let start = Instant::now();
    let call = &r.calls[i];
    let rec = &call.record;
    // Headers at the recorded time to first byte.
    if let Some(ttfb) = rec.timing.ttfb_ms {
        tokio::time::sleep_until(start + Duration::from_secs_f64(ttfb.max(0.0) / 1000.0)).await;
    }
    let status = rec
        .status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let stream = rec
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.starts_with("text/event-stream"));
    let events = rec.events.clone();
    // A Responses stream names each event's type on an `event:` line, as Azure sends it.
    let named = call.request.wire_api == WireApi::Responses;
    let body = if events.is_empty() && named {
        // Recorded without events: only the final text is known (a Responses body).
        let usage = rec.usage.map(|u| serde_json::json!({"input_tokens":u.prompt_tokens,"input_tokens_details":{"cached_tokens":u.cached_tokens},"output_tokens":u.completion_tokens,"output_tokens_details":{"reasoning_tokens":u.reasoning_tokens},"total_tokens":u.total_tokens}));
        Body::from(serde_json::json!({"object":"response","status":"completed","model":rec.model,"output":[{"type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":rec.text,"annotations":[]}]}],"usage":usage}).to_string())
    } else if events.is_empty() {
        // Recorded without events: only the final text is known.
        Body::from(serde_json::json!({"choices":[{"finish_reason":rec.finish_reason,"index":0,"message":{"content":rec.text,"role":"assistant"}}],"model":rec.model,"object":"chat.completion","usage":rec.usage.map(|u| serde_json::json!({"completion_tokens":u.completion_tokens,"prompt_tokens":u.prompt_tokens,"total_tokens":u.total_tokens,"prompt_tokens_details":{"cached_tokens":u.cached_tokens},"completion_tokens_details":{"reasoning_tokens":u.reasoning_tokens}}))}).to_string())
    } else {
        let paced = futures_util::stream::unfold(
            (events.into_iter(), start, stream),
            move |(mut it, start, stream)| async move {
                let ev = it.next()?;
                tokio::time::sleep_until(
                    start + Duration::from_secs_f64(ev.t_ms.max(0.0) / 1000.0),
                )
                .await;
                let kind = named
                    .then(|| serde_json::from_str::<serde_json::Value>(&ev.data).ok())
                    .flatten()
                    .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(String::from));
                let bytes = if stream {
                    match kind {
                        Some(k) => format!("event: {k}\ndata: {}\n\n", ev.data),
                        None => format!("data: {}\n\n", ev.data),
                    }
                } else {
                    ev.data
                };
                Some((
                    Ok::<_, std::convert::Infallible>(Bytes::from(bytes)),
                    (it, start, stream),
                ))
            },
        );
        Body::from_stream(paced)
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    for sh in call.safe_headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(sh.name().as_bytes()),
            HeaderValue::from_str(sh.value()),
        ) {
            h.append(name, value);
        }
    }
    if !h.contains_key("content-type") {
        h.insert(
            "content-type",
            HeaderValue::from_static(if stream {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
    }
    h.insert("x-aoai-replay-call", HeaderValue::from(i + 1));
    resp
}
