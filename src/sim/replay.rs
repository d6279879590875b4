//! `aoai sim --replay FILE`: serves the responses of a recorded scenario — status, the
//! recorded (allowlisted) headers and every event at its recorded offset — to any client, so
//! an application can be debugged against a captured incident.
//!
//! Which recorded call answers a request: the first not yet served whose deployment and
//! messages equal the request's; else the first not yet served with the same messages; else
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

use crate::domain::scenario::ScenarioCall;
use crate::wire::ChatRequest;

struct Replay {
    calls: Vec<ScenarioCall>,
    /// Served flags and the next index for the in-order fallback.
    state: Mutex<(Vec<bool>, usize)>,
}

impl Replay {
    fn pick(&self, deployment: Option<&str>, body: &ChatRequest) -> Option<usize> {
        if self.calls.is_empty() {
            return None;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (served, next) = &mut *st;
        let same_msgs = |c: &ScenarioCall| c.request.body.messages == body.messages;
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
    let Some(i) = r.pick(deployment.as_deref(), &req) else {
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
    let body = if events.is_empty() {
        // Recorded without events: only the final text is known.
        Body::from(serde_json::json!({"choices":[{"finish_reason":rec.finish_reason,"index":0,"message":{"content":rec.text,"role":"assistant"}}],"model":rec.model,"object":"chat.completion","usage":rec.usage.map(|u| serde_json::json!({"completion_tokens":u.completion_tokens,"prompt_tokens":u.prompt_tokens,"total_tokens":u.total_tokens,"prompt_tokens_details":{"cached_tokens":u.cached_tokens},"completion_tokens_details":{"reasoning_tokens":u.reasoning_tokens}}))}).to_string())
    } else {
        let paced = futures_util::stream::unfold(
            (events.into_iter(), start, stream),
            |(mut it, start, stream)| async move {
                let ev = it.next()?;
                tokio::time::sleep_until(
                    start + Duration::from_secs_f64(ev.t_ms.max(0.0) / 1000.0),
                )
                .await;
                let bytes = if stream {
                    format!("data: {}\n\n", ev.data)
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
