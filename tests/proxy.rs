//! `aoai proxy` on loopback: through the proxy to the in-process simulator (chat stream,
//! Responses, a 429 passed through, injected faults), to a scripted raw upstream where bytes
//! must be exact (identity, a 1 MB delta, a reset mid-stream, a client that hangs up), to an
//! unreachable upstream, and the recorded file (loads, reports, replays, holds no key).

#[path = "common/sim.rs"]
mod common;

use aoai::domain::call::{ErrorKind, Outcome, WireApi};
use aoai::engine::proxy::{self, ProxiedCall, ProxyEvent, ProxyHandle, ProxyOptions};
use aoai::sim::SimConfig;
use common::{V, chat_body, client, within};
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;

const KEY: &str = "sekrit-app-key-4711";

async fn start_proxy(
    upstream: &str,
    inject: &[&str],
    record: Option<std::path::PathBuf>,
) -> (ProxyHandle, UnboundedReceiver<ProxyEvent>) {
    let mut opts = ProxyOptions::new(url::Url::parse(upstream).unwrap());
    opts.inject = inject.iter().map(|s| s.parse().unwrap()).collect();
    opts.record = record;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let h = within(proxy::start(opts, Some(tx)))
        .await
        .expect("proxy starts");
    (h, rx)
}

/// The next finished call (other events skipped).
async fn finished(rx: &mut UnboundedReceiver<ProxyEvent>) -> ProxiedCall {
    within(async {
        loop {
            match rx.recv().await.expect("proxy alive") {
                ProxyEvent::Finished(c) => return *c,
                _ => continue,
            }
        }
    })
    .await
}

fn classic(base: &str, dep: &str) -> String {
    format!("{base}/openai/deployments/{dep}/chat/completions?api-version={V}")
}

#[tokio::test]
async fn a_streamed_chat_call_is_forwarded_and_measured() {
    let sim = common::start(SimConfig::default_fleet()).await;
    let (p, mut rx) = start_proxy(&sim.base_url(), &[], None).await;
    let r = common::post(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(true, true),
        &[("user-agent", "app/1.0")],
    )
    .await;
    assert_eq!(r.status, 200);
    let events = r.events();
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let text: String = events
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    let c = finished(&mut rx).await;
    let rec = &c.record;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    assert_eq!(rec.deployment, "gpt-4o");
    assert_eq!(rec.wire_api, WireApi::Chat);
    assert!(rec.stream);
    assert_eq!(rec.text, text);
    assert!(!text.is_empty());
    assert!(rec.timing.ttft_ms.is_some() && rec.timing.ttfb_ms.is_some());
    assert!(rec.timing.ttft_ms >= rec.timing.ttfb_ms);
    let usage = rec.usage.expect("usage from the usage chunk");
    assert!(usage.completion_tokens > 0 && usage.prompt_tokens > 0);
    assert_eq!(rec.request_id.as_deref(), Some(r.header("apim-request-id")));
    assert_eq!(rec.region.as_deref(), Some(r.header("x-ms-region")));
    assert_eq!(rec.finish_reason.as_deref(), Some("stop"));
    assert!(rec.cost_usd.is_some(), "priced like a client call");
    assert_eq!(c.client.user_agent.as_deref(), Some("app/1.0"));
    assert!(c.client.addr.ip().is_loopback());
    assert_eq!(c.injected, None);
    let sent = sim.requests();
    assert_eq!(sent.len(), 1, "forwarded once");
}

/// With `live` (the console's Traffic screen), a streamed call is reported as it streams:
/// the request's conversation at the start, the response head with its rate limits and ids,
/// and progress reports whose text adds up to the recorded answer, before the call ends.
#[tokio::test]
async fn a_live_view_is_sent_the_conversation_and_the_text_as_it_streams() {
    let sim = common::start(SimConfig::default_fleet()).await;
    let mut opts = ProxyOptions::new(url::Url::parse(&sim.base_url()).unwrap());
    opts.live = true;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let p = within(proxy::start(opts, Some(tx)))
        .await
        .expect("proxy starts");
    let r = common::post(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(true, true),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let (mut prompt, mut head, mut streamed, mut chunks) = (None, None, String::new(), 0);
    let c = within(async {
        loop {
            match rx.recv().await.expect("proxy alive") {
                ProxyEvent::Started { prompt: p, .. } => prompt = Some(p),
                ProxyEvent::Headers {
                    status,
                    ratelimit,
                    request_id,
                    ..
                } => head = Some((status, ratelimit, request_id)),
                ProxyEvent::Progress {
                    text, chunks: n, ..
                } => {
                    assert!(n >= chunks, "the chunk count only grows");
                    chunks = n;
                    streamed.push_str(&text);
                }
                ProxyEvent::Finished(c) => return *c,
                _ => {}
            }
        }
    })
    .await;
    let prompt = prompt.expect("Started came first");
    assert!(
        prompt.starts_with("user: ") || prompt.contains("\nuser: "),
        "{prompt}"
    );
    let (status, ratelimit, request_id) = head.expect("the head was reported");
    assert_eq!(status, 200);
    assert!(ratelimit.remaining_requests.is_some(), "{ratelimit:?}");
    assert_eq!(request_id.as_deref(), Some(r.header("apim-request-id")));
    assert!(!c.record.text.is_empty());
    assert_eq!(streamed, c.record.text, "progress adds up to the answer");
    assert!(chunks > 0);
}

/// Without a live view (headless `aoai proxy`), no progress is reported and no conversation
/// is copied.
#[tokio::test]
async fn without_a_live_view_no_progress_is_reported() {
    let sim = common::start(SimConfig::default_fleet()).await;
    let (p, mut rx) = start_proxy(&sim.base_url(), &[], None).await;
    let r = common::post(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(true, true),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let mut seen = Vec::new();
    within(async {
        loop {
            match rx.recv().await.expect("proxy alive") {
                ProxyEvent::Finished(_) => return,
                ev => seen.push(ev),
            }
        }
    })
    .await;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, ProxyEvent::Progress { .. })),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, ProxyEvent::Started { prompt, .. } if prompt.is_empty()))
    );
}

#[tokio::test]
async fn a_responses_call_is_read_as_responses() {
    let sim = common::start(SimConfig::default_fleet()).await;
    let (p, mut rx) = start_proxy(&sim.base_url(), &[], None).await;
    let body = json!({"model": "gpt-4o", "input": "Say hello.", "stream": true});
    let r = common::post(&format!("{}/openai/v1/responses", p.base_url()), &body, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("response.completed"));
    let rec = finished(&mut rx).await.record;
    assert_eq!(rec.wire_api, WireApi::Responses);
    assert_eq!(rec.deployment, "gpt-4o", "from the body's model");
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    assert!(rec.timing.ttft_ms.is_some());
    assert!(!rec.text.is_empty());
    assert!(rec.usage.is_some());
    assert_eq!(rec.finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn an_upstream_429_passes_through_with_both_retry_headers() {
    let sim = common::start(SimConfig::default_fleet()).await;
    let (p, mut rx) = start_proxy(&sim.base_url(), &[], None).await;
    let r = common::post(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(false, false),
        &[("x-sim-fault", "429")],
    )
    .await;
    assert_eq!(r.status, 429);
    let after: f64 = r.header("retry-after").parse().unwrap();
    let after_ms: f64 = r.header("retry-after-ms").parse().unwrap();
    assert!(after_ms > 0.0 && after > 0.0);
    let code = r.json()["error"]["code"].as_str().unwrap().to_string();
    let rec = finished(&mut rx).await.record;
    assert_eq!(
        rec.error.as_ref().unwrap().code.as_deref(),
        Some(code.as_str())
    );
    assert_eq!(rec.outcome, Outcome::Throttled);
    assert_eq!(rec.status, Some(429));
    let e = rec.error.expect("the 429 on the record");
    assert_eq!(e.kind, ErrorKind::Throttled);
    assert!(e.throttle.is_some(), "cause classified");
    assert!(rec.ratelimit.retry_after_ms.is_some());
}

#[tokio::test]
async fn an_injected_429_never_reaches_the_upstream() {
    let sim = common::start(SimConfig::default_fleet()).await;
    let (p, mut rx) = start_proxy(&sim.base_url(), &["429:1"], None).await;
    let r = common::post(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(true, true),
        &[],
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), "1");
    assert_eq!(r.header("retry-after-ms"), "1000");
    assert_eq!(r.json()["error"]["code"], "429");
    assert!(sim.requests().is_empty(), "not sent upstream");
    let c = finished(&mut rx).await;
    assert_eq!(c.injected.as_deref(), Some("429"));
    assert_eq!(c.record.outcome, Outcome::Throttled);
    assert!(c.record.notes.iter().any(|n| n.contains("injected")));
}

#[tokio::test]
async fn an_injected_cut_breaks_the_stream_after_its_first_content() {
    let sim = common::start(SimConfig::default_fleet()).await;
    let (p, mut rx) = start_proxy(&sim.base_url(), &["cut-stream:1"], None).await;
    let (status, _, body) = common::post_raw(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(true, true),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.is_err(), "the application sees a broken body");
    let c = finished(&mut rx).await;
    assert_eq!(c.injected.as_deref(), Some("cut-stream"));
    assert_eq!(c.record.error.as_ref().unwrap().kind, ErrorKind::Truncated);
    assert!(!c.record.text.is_empty(), "what arrived is kept");
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_naming_the_cause() {
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = gone.local_addr().unwrap();
    drop(gone);
    let (p, mut rx) = start_proxy(&format!("http://{addr}"), &[], None).await;
    let r = common::post(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(false, false),
        &[],
    )
    .await;
    assert_eq!(r.status, 502);
    let v = r.json();
    assert_eq!(v["error"]["code"], "UpstreamUnreachable");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&addr.to_string()) && msg.contains("could not reach"),
        "{msg}"
    );
    let rec = finished(&mut rx).await.record;
    assert_eq!(rec.outcome, Outcome::Failed);
    assert_eq!(rec.error.unwrap().kind, ErrorKind::Connect);
}

#[test]
fn credentials_never_go_to_a_plain_http_upstream_off_loopback() {
    let bad = url::Url::parse("http://example.com").unwrap();
    assert!(proxy::check_upstream(&bad).is_err());
    for ok in [
        "https://x.openai.azure.com",
        "http://127.0.0.1:9",
        "http://localhost:1",
    ] {
        assert!(
            proxy::check_upstream(&url::Url::parse(ok).unwrap()).is_ok(),
            "{ok}"
        );
    }
}

/// A raw HTTP/1.1 upstream for one connection: it reads the request head and body, sends
/// `head` and the `chunks` (chunked encoding, one write each), then either closes (`reset`:
/// without the terminating chunk) or waits for the peer to hang up. Reports the request it
/// got and whether the peer closed.
async fn scripted(
    chunks: Vec<Vec<u8>>,
    end: End,
) -> (String, tokio::task::JoinHandle<(String, bool)>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            req.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&req).to_string();
            if let Some(h) = text.find("\r\n\r\n") {
                let len = text[..h]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if req.len() >= h + 4 + len {
                    break;
                }
            }
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\napim-request-id: req-77\r\nx-ms-region: Sweden Central\r\ntransfer-encoding: chunked\r\n\r\n";
        s.write_all(head.as_bytes()).await.unwrap();
        for c in &chunks {
            s.write_all(format!("{:x}\r\n", c.len()).as_bytes())
                .await
                .unwrap();
            s.write_all(c).await.unwrap();
            s.write_all(b"\r\n").await.unwrap();
            s.flush().await.unwrap();
        }
        let closed = match end {
            End::Complete => {
                s.write_all(b"0\r\n\r\n").await.unwrap();
                false
            }
            End::Reset => false,
            End::Hold => {
                // Wait for the proxy to drop the upstream request.
                let mut b = [0u8; 16];
                matches!(s.read(&mut b).await, Ok(0) | Err(_))
            }
        };
        (String::from_utf8_lossy(&req).into_owned(), closed)
    });
    (base, task)
}

#[derive(Clone, Copy)]
enum End {
    Complete,
    Reset,
    Hold,
}

fn sse(content: &str) -> Vec<u8> {
    let chunk = json!({"choices":[{"delta":{"content":content},"index":0}],"id":"c1","model":"gpt-4o-2024-08-06"});
    format!("data: {chunk}\n\n").into_bytes()
}

#[tokio::test]
async fn bytes_pass_unchanged_a_1mb_delta_too_and_the_key_goes_upstream_only() {
    let big = "x".repeat(1 << 20);
    let mut body = sse("Hello");
    body.extend(sse(&big));
    body.extend(b"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\",\"index\":0}],\"id\":\"c1\"}\n\n");
    body.extend(b"data: {\"choices\":[],\"id\":\"c1\",\"usage\":{\"completion_tokens\":3,\"prompt_tokens\":5,\"total_tokens\":8}}\n\ndata: [DONE]\n\n");
    // Cut anywhere, across event boundaries.
    let chunks: Vec<Vec<u8>> = body.chunks(100_003).map(<[u8]>::to_vec).collect();
    let (base, up) = scripted(chunks, End::Complete).await;
    let (p, mut rx) = start_proxy(&base, &[], None).await;
    let resp = within(
        client()
            .post(classic(&p.base_url(), "gpt-4o"))
            .header("api-key", KEY)
            .header("connection", "keep-alive")
            .json(&chat_body(true, true))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(resp.headers()["apim-request-id"], "req-77");
    let got = within(resp.bytes()).await.unwrap();
    assert_eq!(got.len(), body.len());
    assert!(got[..] == body[..], "bytes identical");
    let (req, _) = within(up).await.unwrap();
    assert!(
        req.contains(&format!("api-key: {KEY}")),
        "the key passes through"
    );
    assert!(req.starts_with("POST /openai/deployments/gpt-4o/chat/completions?api-version="));
    let c = finished(&mut rx).await;
    let rec = &c.record;
    assert_eq!(rec.text.len(), 5 + (1 << 20));
    assert_eq!(rec.outcome, Outcome::Done);
    assert_eq!(rec.usage.unwrap().total_tokens, 8);
    assert_eq!(rec.request_id.as_deref(), Some("req-77"));
    assert_eq!(rec.region.as_deref(), Some("Sweden Central"));
    let shown = serde_json::to_string(&proxy_json(&c)).unwrap();
    assert!(!shown.contains(KEY), "the key is in no record");
}

fn proxy_json(c: &ProxiedCall) -> serde_json::Value {
    json!({"record": c.record, "path": c.path, "ua": c.client.user_agent})
}

#[tokio::test]
async fn an_upstream_reset_mid_stream_reaches_the_client_and_records_truncated() {
    let (base, up) = scripted(vec![sse("Hel"), sse("lo")], End::Reset).await;
    let (p, mut rx) = start_proxy(&base, &[], None).await;
    let (status, _, body) = common::post_raw(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(true, true),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.is_err(), "the client sees the failure");
    within(up).await.unwrap();
    let rec = finished(&mut rx).await.record;
    assert_eq!(rec.outcome, Outcome::Failed);
    assert_eq!(rec.error.unwrap().kind, ErrorKind::Truncated);
    assert_eq!(rec.text, "Hello");
}

#[tokio::test]
async fn a_client_that_hangs_up_cancels_the_upstream_request() {
    let (base, up) = scripted(vec![sse("Hel")], End::Hold).await;
    let (p, mut rx) = start_proxy(&base, &[], None).await;
    let resp = within(
        client()
            .post(classic(&p.base_url(), "gpt-4o"))
            .header("api-key", KEY)
            .json(&chat_body(true, true))
            .send(),
    )
    .await
    .unwrap();
    let mut stream = resp.bytes_stream();
    let first = within(stream.next()).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("Hel"));
    drop(stream);
    let rec = finished(&mut rx).await.record;
    assert_eq!(rec.outcome, Outcome::Cancelled);
    assert_eq!(rec.text, "Hel", "what arrived is kept");
    let (_, upstream_closed) = within(up).await.unwrap();
    assert!(upstream_closed, "the upstream request was dropped");
}

#[tokio::test]
async fn the_recording_loads_reports_replays_and_holds_no_key() {
    let dir = std::env::temp_dir().join(format!("aoai-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("captured.jsonl");
    let _ = std::fs::remove_file(&file);
    let sim = common::start(SimConfig::default_fleet()).await;
    let (p, mut rx) = start_proxy(&sim.base_url(), &[], Some(file.clone())).await;
    let auth = format!("Bearer {KEY}");
    let extra = [("api-key", KEY), ("authorization", auth.as_str())];
    let r = common::post(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(true, true),
        &extra,
    )
    .await;
    assert_eq!(r.status, 200);
    let body = json!({"model": "gpt-4o", "input": "Say hello.", "stream": false});
    let r2 = common::post(
        &format!("{}/openai/v1/responses", p.base_url()),
        &body,
        &extra,
    )
    .await;
    assert_eq!(r2.status, 200);
    // Both calls finished and written (the writer's news and the calls' interleave).
    within(async {
        let (mut done, mut written) = (0, false);
        while done < 2 || !written {
            match rx.recv().await.expect("proxy alive") {
                ProxyEvent::Finished(_) => done += 1,
                ProxyEvent::Record(aoai::engine::record::writer::RecordMsg::Written {
                    count: 2,
                    ..
                }) => written = true,
                _ => {}
            }
        }
    })
    .await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(KEY), "no key in the file");
    let loaded = aoai::engine::record::load(&file).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.calls.len(), 2);
    let first = &loaded.calls[0];
    let px = first.proxied.as_ref().expect("marked as proxied");
    assert!(px.client.starts_with("127.0.0.1:"));
    assert_eq!(first.request.deployment, "gpt-4o");
    assert!(
        !first.record.events.is_empty(),
        "events captured for replay"
    );
    assert_eq!(loaded.calls[1].request.wire_api, WireApi::Responses);
    assert!(loaded.calls[1].request.wire_body.is_some());

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args(["replay", file.to_str().unwrap(), "--report"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).is_empty());

    // `aoai sim --replay` serves the captured answers back.
    let replay = within(aoai::sim::replay::start(loaded.calls.clone(), 0))
        .await
        .unwrap();
    let again = common::post(
        &classic(&replay.base_url(), "gpt-4o"),
        &chat_body(true, true),
        &[],
    )
    .await;
    assert_eq!(again.status, 200);
    let replayed: String = again
        .events()
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(replayed, first.record.text);
}

/// The official `openai` Python SDK through `aoai proxy` (tests/python/test_proxy_sdk.py).
/// A missing package is reported loudly and skipped outside CI; under CI=true it fails.
#[test]
fn the_official_python_sdk_runs_through_the_proxy() {
    use std::process::Command;
    let have_openai = Command::new("python3")
        .args(["-c", "import openai"])
        .status()
        .is_ok_and(|s| s.success());
    if !have_openai {
        let msg = "python3 with the `openai` package is needed (pip install openai)";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/python/test_proxy_sdk.py"
        ))
        .env("AOAI_BIN", env!("CARGO_BIN_EXE_aoai"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "test_proxy_sdk.py failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[tokio::test]
async fn a_slow_first_token_is_injected_and_the_call_still_completes() {
    let sim = common::start(SimConfig::default_fleet()).await;
    let (p, mut rx) = start_proxy(&sim.base_url(), &["slow-first-token:50ms"], None).await;
    let r = common::post(
        &classic(&p.base_url(), "gpt-4o"),
        &chat_body(true, true),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-aoai-proxy-injected"), "slow-first-token:50ms");
    assert_eq!(r.events().last().map(String::as_str), Some("[DONE]"));
    let c = finished(&mut rx).await;
    assert_eq!(c.injected.as_deref(), Some("slow-first-token:50ms"));
    assert_eq!(c.record.outcome, Outcome::Done);
    assert_eq!(sim.requests().len(), 1, "forwarded, only delayed");
}

#[test]
fn the_cli_refuses_a_bad_inject_spec_and_an_insecure_upstream() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args(["proxy", "--port", "0", "--inject", "404:0.1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--inject `404:0.1`"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args(["proxy", "--port", "0", "--upstream", "http://example.com"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("credentials would travel unencrypted"),
        "{err}"
    );
}

/// A config file (in a scratch dir `name`) with profile `p` on `endpoint`, its key from
/// `AOAI_TEST_PROXY_KEY`.
fn key_profile(name: &str, endpoint: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aoai-proxy-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.p]\nendpoint = \"{endpoint}\"\nauth = {{ type = \"key\", key_env = \"AOAI_TEST_PROXY_KEY\" }}\n"
        ),
    )
    .unwrap();
    config
}

type Lines = std::io::Lines<std::io::BufReader<std::process::ChildStdout>>;

/// `aoai proxy --port 0 --profile p --auth AUTH --config CONFIG` with `env`: the child, its
/// base URL and the rest of its output lines.
fn profile_proxy(
    config: &std::path::Path,
    auth: &str,
    env: &[(&str, &str)],
) -> (std::process::Child, String, Lines) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args([
            "proxy",
            "--port",
            "0",
            "--profile",
            "p",
            "--auth",
            auth,
            "--config",
        ])
        .arg(config)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.strip_prefix("listening on ").unwrap().to_string();
    (child, base, lines)
}

/// `aoai proxy --profile P --auth profile`: the application sends a dummy key, the proxy
/// sends the profile's instead (here a key from `key_env`); without `--auth profile` the
/// dummy key reaches the service and is refused. The profile's key is never printed.
#[tokio::test(flavor = "multi_thread")]
async fn auth_profile_replaces_the_applications_dummy_key() {
    let mut cfg = SimConfig::default_fleet();
    cfg.api_keys = vec!["profile-key-8813".into()];
    let sim = common::start(cfg).await;
    let config = key_profile("auth", &sim.base_url());
    let start = |auth: &str| {
        profile_proxy(
            &config,
            auth,
            &[("AOAI_TEST_PROXY_KEY", "profile-key-8813")],
        )
    };
    let (mut child, base, mut lines) = start("profile");
    let r = common::post(&classic(&base, "gpt-4o"), &chat_body(false, false), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let line = tokio::task::spawn_blocking(move || lines.next().unwrap().unwrap())
        .await
        .unwrap();
    assert!(line.contains(" 200 "), "{line}");
    assert!(!line.contains("profile-key-8813"), "{line}");
    let _ = child.kill();
    let (mut child, base, _) = start("app");
    let r = common::post(&classic(&base, "gpt-4o"), &chat_body(false, false), &[]).await;
    assert_eq!(
        r.status, 401,
        "the application's dummy key went through as it was"
    );
    let _ = child.kill();
    // --auth profile without a profile says what it needs.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args(["proxy", "--port", "0", "--auth", "profile"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--auth profile needs --profile P"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--auth profile --proxy-key` (from `AOAI_PROXY_KEY`): only a caller presenting the local
/// key — as its `api-key` or Bearer token — gets the profile's credential; anyone else on
/// the machine gets a 401 from the proxy, and the service is never called for them.
#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_key_guards_the_profiles_credential() {
    let mut cfg = SimConfig::default_fleet();
    cfg.api_keys = vec!["profile-key-4471".into()];
    let sim = common::start(cfg).await;
    let config = key_profile("key", &sim.base_url());
    // Its output stays open: the proxy prints a line per call.
    let (mut child, base, _lines) = profile_proxy(
        &config,
        "profile",
        &[
            ("AOAI_TEST_PROXY_KEY", "profile-key-4471"),
            ("AOAI_PROXY_KEY", "local-secret-93"),
        ],
    );
    let url = classic(&base, "gpt-4o");
    let body = chat_body(false, false);
    // Only the headers given (the common helper adds a dummy api-key of its own).
    let send = |headers: Vec<(&'static str, &'static str)>| {
        let (url, body) = (url.clone(), body.clone());
        async move {
            let mut rb = reqwest::Client::new().post(&url).json(&body);
            for (k, v) in headers {
                rb = rb.header(k, v);
            }
            let r = tokio::time::timeout(std::time::Duration::from_secs(20), rb.send())
                .await
                .unwrap()
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    let (status, text) = send(vec![("api-key", "local-secret-93")]).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = send(vec![("authorization", "Bearer local-secret-93")]).await;
    assert_eq!(status, 200, "{text}");
    for wrong in [
        vec![],
        vec![("api-key", "guess")],
        vec![("api-key", "local-secret-9")],
    ] {
        let (status, text) = send(wrong.clone()).await;
        assert_eq!(status, 401, "{wrong:?}: {text}");
        assert!(text.contains("ProxyKeyRequired"), "{text}");
    }
    let _ = child.kill();
    let _ = child.wait();
    // Only with --auth profile: with the application's own key it would go upstream.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args(["proxy", "--port", "0", "--auth", "app"])
        .env("AOAI_PROXY_KEY", "x")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --auth profile"));
}
