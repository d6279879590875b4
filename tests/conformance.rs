//! The conformance corpus: real Azure OpenAI responses recorded by other projects' test
//! suites (tests/fixtures/conformance/, each with its source and what its recorder scrubbed),
//! served byte for byte over loopback HTTP to the real client. What the client reads — text,
//! finish reason, usage (cached, reasoning), tool calls, model, status, the service's error
//! message — must equal what the recording says. The expected values were derived from the
//! recorded bodies by a separate script, not by this client.
//!
//! Each chat recording is served three ways: with its recorded headers, without a
//! content-type (recorders and gateways drop it) and with a wrong one, in chunks cut at event
//! boundaries and at arbitrary bytes. The Responses API recordings (9x) are served the same
//! three ways to the client speaking the Responses API (`--wire-api responses`). The same
//! recordings wrapped in a HAR must read back the same through the HAR import (the proxy's
//! reading of a response).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aoai::azure::{Auth, CallSpec, ChatClient, ClientConfig, Endpoint, Secret, Timeouts};
use aoai::domain::call::{ApiPath, CallRecord, Outcome, WireApi};
use aoai::wire::{ChatMessage, ChatRequest};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Deserialize)]
struct Fixture {
    source: Source,
    request: Req,
    response: Resp,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
struct Source {
    repo: String,
    path: String,
    commit: String,
    scrubbed: String,
}

#[derive(Debug, Deserialize)]
struct Req {
    path: String,
    stream: bool,
    body: Option<Value>,
}

#[derive(Debug, Deserialize, Clone)]
struct Resp {
    status: u16,
    headers: serde_json::Map<String, Value>,
    body: String,
}

#[derive(Debug, Deserialize)]
struct Expect {
    status: u16,
    text: String,
    finish_reason: Option<String>,
    usage: Option<ExpectUsage>,
    tool_calls: u32,
    error_message: Option<String>,
    error_code: Option<String>,
    model: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExpectUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    cached_tokens: u64,
    reasoning_tokens: u64,
}

/// How a recording is put on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Serve {
    /// Recorded headers; body cut after every event.
    AsRecorded,
    /// No content-type header; body cut every 7 bytes.
    NoContentType,
    /// `content-type: application/octet-stream`; the whole body in one chunk.
    WrongContentType,
}

fn fixtures() -> Vec<(PathBuf, Fixture)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let f: Fixture = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, f)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn is_chat(f: &Fixture) -> bool {
    f.request.path.contains("/chat/completions")
}

fn is_responses(f: &Fixture) -> bool {
    f.request
        .path
        .split('?')
        .next()
        .unwrap()
        .ends_with("/responses")
}

/// A loopback server that answers every request with `resp`, and keeps the paths it was asked.
async fn serve(resp: Resp, how: Serve) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let resp = resp.clone();
        let seen = seen2.clone();
        async move {
            seen.lock().unwrap().push(
                req.uri()
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            );
            build_response(&resp, how)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, seen)
}

fn build_response(resp: &Resp, how: Serve) -> Response<Body> {
    let bytes = resp.body.clone().into_bytes();
    let pieces: Vec<Vec<u8>> = match how {
        Serve::AsRecorded => {
            let mut out = Vec::new();
            let mut rest = &bytes[..];
            while let Some(i) = rest.windows(2).position(|w| w == b"\n\n") {
                out.push(rest[..i + 2].to_vec());
                rest = &rest[i + 2..];
            }
            if !rest.is_empty() {
                out.push(rest.to_vec());
            }
            out
        }
        Serve::NoContentType => bytes.chunks(7).map(<[u8]>::to_vec).collect(),
        Serve::WrongContentType => vec![bytes],
    };
    let stream =
        futures_util::stream::iter(pieces.into_iter().map(Ok::<_, std::convert::Infallible>));
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = StatusCode::from_u16(resp.status).unwrap();
    for (k, v) in &resp.headers {
        let k = k.to_ascii_lowercase();
        // The body is served decoded and re-framed by this server.
        if matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "content-encoding" | "connection"
        ) {
            continue;
        }
        if k == "content-type" && how != Serve::AsRecorded {
            continue;
        }
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::from_bytes(k.as_bytes()),
            v.as_str().map(HeaderValue::from_str),
        ) {
            r.headers_mut().append(name, value);
        }
    }
    if how == Serve::WrongContentType {
        r.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    r
}

/// The API path and deployment the recorded request used.
fn route(f: &Fixture) -> (ApiPath, String) {
    let path = f.request.path.split('?').next().unwrap();
    if let Some(rest) = path.split("/openai/deployments/").nth(1) {
        return (
            ApiPath::Classic,
            rest.split('/').next().unwrap().to_string(),
        );
    }
    // Foundry model inference (fixtures 60-65): the resource's `/models` route or a
    // serverless endpoint's own `/chat/completions`; serverless requests name no model.
    if !path.starts_with("/openai/") && path.ends_with("/chat/completions") {
        let model = f
            .request
            .body
            .as_ref()
            .and_then(|b| b.get("model"))
            .and_then(Value::as_str)
            .unwrap_or("serverless");
        return (ApiPath::Foundry, model.to_string());
    }
    assert!(
        path.ends_with("/openai/v1/chat/completions") || is_responses(f),
        "{path}"
    );
    let model = f
        .request
        .body
        .as_ref()
        .and_then(|b| b.get("model"))
        .and_then(Value::as_str)
        .expect("a v1 request names its model");
    let api = if path == "/openai/responses" {
        ApiPath::Classic
    } else if !path.starts_with("/openai/") {
        // api.openai.com (fixture 99): an OpenAI-compatible base URL.
        ApiPath::Openai
    } else {
        ApiPath::V1
    };
    (api, model.to_string())
}

async fn call(f: &Fixture, how: Serve) -> (CallRecord, Vec<String>) {
    let (addr, seen) = serve(f.response.clone(), how).await;
    let (api, deployment) = route(f);
    let recorded_path = f.request.path.split('?').next().unwrap();
    let base = match api {
        ApiPath::V1 => format!("http://{addr}/openai/v1"),
        // The endpoint as the portal shows it: the whole chat URL.
        ApiPath::Foundry => format!("http://{addr}{recorded_path}"),
        ApiPath::Openai => format!(
            "http://{addr}{}",
            recorded_path.strip_suffix("/responses").unwrap_or("")
        ),
        _ => format!("http://{addr}"),
    };
    let mut cfg = ClientConfig::new(
        Endpoint::parse(&base).unwrap(),
        Auth::ApiKey(Secret::new("conformance-key")),
    );
    cfg.api = api;
    if api == ApiPath::Foundry
        && let Some(v) = f.request.path.split("api-version=").nth(1)
    {
        cfg.api_version = v.to_string();
    }
    if is_responses(f) {
        cfg.wire_api = WireApi::Responses;
        if let Some(v) = f.request.path.split("api-version=").nth(1) {
            cfg.api_version = v.to_string();
        }
    }
    cfg.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        first_byte: Duration::from_secs(10),
        idle: Duration::from_secs(10),
    };
    let client = ChatClient::new(cfg).unwrap();
    let mut spec = CallSpec::new(
        deployment,
        ChatRequest {
            messages: vec![ChatMessage::new("user", "conformance")],
            ..Default::default()
        },
    );
    spec.stream = f.request.stream;
    let rec = tokio::time::timeout(
        Duration::from_secs(20),
        client.run(1, &spec, &CancellationToken::new(), &mut |_| {}),
    )
    .await
    .expect("the call ends");
    let seen = seen.lock().unwrap().clone();
    (rec, seen)
}

/// Every difference between what the client read and what the recording says.
fn mismatches(f: &Fixture, rec: &CallRecord) -> Vec<String> {
    let e = &f.expect;
    let mut out = Vec::new();
    let mut check = |what: &str, got: String, want: String| {
        if got != want {
            out.push(format!("{what}: got {got}, recording says {want}"));
        }
    };
    check(
        "status",
        format!("{:?}", rec.status),
        format!("{:?}", Some(e.status)),
    );
    check("text", format!("{:?}", rec.text), format!("{:?}", e.text));
    // A Responses recording's `expect.finish_reason` holds the response's status; the record
    // says it in chat's terms.
    let incomplete_for = |reason: &str| {
        let b = &f.response.body;
        b.contains(&format!("\"reason\":\"{reason}\""))
            || b.contains(&format!("\"reason\": \"{reason}\""))
    };
    let want_finish = match (is_responses(f), e.finish_reason.as_deref()) {
        (true, Some("completed")) if e.tool_calls > 0 => Some("tool_calls".to_string()),
        (true, Some("completed")) => Some("stop".to_string()),
        (true, Some("incomplete")) if incomplete_for("max_output_tokens") => {
            Some("length".to_string())
        }
        (true, Some("incomplete")) if incomplete_for("content_filter") => {
            Some("content_filter".to_string())
        }
        (_, other) => other.map(str::to_string),
    };
    check(
        "finish_reason",
        format!("{:?}", rec.finish_reason),
        format!("{want_finish:?}"),
    );
    check(
        "tool_calls",
        rec.tool_calls.to_string(),
        e.tool_calls.to_string(),
    );
    let got_usage = rec.usage.map(|u| {
        (
            u.prompt_tokens,
            u.completion_tokens,
            u.cached_tokens,
            u.reasoning_tokens,
        )
    });
    let want_usage = e.usage.as_ref().map(|u| {
        (
            u.prompt_tokens,
            u.completion_tokens,
            u.cached_tokens,
            u.reasoning_tokens,
        )
    });
    check(
        "usage (prompt, completion, cached, reasoning)",
        format!("{got_usage:?}"),
        format!("{want_usage:?}"),
    );
    if (200..300).contains(&e.status) {
        check(
            "model",
            format!("{:?}", rec.model),
            format!("{:?}", e.model),
        );
        check(
            "outcome",
            format!("{:?} {:?}", rec.outcome, rec.error),
            format!("{:?} None", Outcome::Done),
        );
    } else {
        let err = rec.error.as_ref();
        let msg = err.map(|e| e.message.clone()).unwrap_or_default();
        let want = e.error_message.clone().unwrap_or_default();
        if !msg.contains(&want) {
            check("error message", format!("{msg:?}"), format!("{want:?}"));
        }
        check(
            "error code",
            format!("{:?}", err.and_then(|e| e.code.clone())),
            format!("{:?}", e.error_code),
        );
        check(
            "outcome",
            format!("{:?}", rec.outcome),
            format!("{:?}", Outcome::Failed),
        );
    }
    if e.usage.is_none() && (200..300).contains(&e.status) && f.request.stream {
        // No usage chunk: the record says so instead of inventing counts.
        if !rec.notes.iter().any(|n| n.contains("no usage")) {
            out.push(format!("no note about the missing usage: {:?}", rec.notes));
        }
    }
    out
}

#[test]
fn the_corpus_is_documented_and_large_enough() {
    let all = fixtures();
    let chat: Vec<_> = all.iter().filter(|(_, f)| is_chat(f)).collect();
    assert!(chat.len() >= 20, "{} chat recordings", chat.len());
    for (p, f) in &all {
        let s = &f.source;
        assert!(
            s.repo.contains('/') && !s.path.is_empty() && !s.scrubbed.is_empty(),
            "{}: source incomplete",
            p.display()
        );
        assert!(
            s.commit.len() == 40 && s.commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{}: commit {:?}",
            p.display(),
            s.commit
        );
        // No credential in a fixture: recorders scrub them, and so must we.
        let text = std::fs::read_to_string(p).unwrap().to_ascii_lowercase();
        for h in [
            "\"api-key\"",
            "\"authorization\"",
            "\"ocp-apim-subscription-key\"",
        ] {
            assert!(!text.contains(h), "{}: keeps {h}", p.display());
        }
    }
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance/README.md");
    let readme = std::fs::read_to_string(readme).unwrap();
    for (p, _) in &all {
        let name = p.file_name().unwrap().to_str().unwrap();
        let stem = name.trim_end_matches(".json");
        assert!(
            readme.contains(stem) || readme.contains(&stem[..2]),
            "README.md does not list {name}"
        );
    }
}

async fn run_corpus(how: Serve) {
    let (ran, failures) = run_some(how, is_chat).await;
    assert!(ran >= 20, "{ran} recordings ran");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Serves every recording `pick` keeps; returns how many ran and what did not match.
async fn run_some(how: Serve, pick: fn(&Fixture) -> bool) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (p, f) in fixtures() {
        if !pick(&f) {
            continue;
        }
        ran += 1;
        let (rec, seen) = call(&f, how).await;
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let (api, _) = route(&f);
        let recorded_route = f.request.path.split('?').next().unwrap().replace("//", "/");
        if !seen
            .iter()
            .any(|s| s.split('?').next() == Some(recorded_route.as_str()))
        {
            failures.push(format!(
                "{name}: client asked {seen:?}, the recording was of {recorded_route} ({api:?})"
            ));
        }
        for m in mismatches(&f, &rec) {
            failures.push(format!("{name} [{how:?}]: {m}"));
        }
        if is_responses(&f) && rec.wire_api != WireApi::Responses {
            failures.push(format!("{name}: the record says {:?}", rec.wire_api));
        }
    }
    (ran, failures)
}

#[tokio::test]
async fn responses_recordings_in_every_serving() {
    for how in [
        Serve::AsRecorded,
        Serve::NoContentType,
        Serve::WrongContentType,
    ] {
        let (ran, failures) = run_some(how, is_responses).await;
        assert_eq!(ran, 9, "the 9x recordings");
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }
}

#[tokio::test]
async fn recordings_as_recorded() {
    run_corpus(Serve::AsRecorded).await;
}

#[tokio::test]
async fn recordings_without_a_content_type() {
    run_corpus(Serve::NoContentType).await;
}

#[tokio::test]
async fn recordings_with_a_wrong_content_type() {
    run_corpus(Serve::WrongContentType).await;
}

/// A stream from a server we did not write (another simulator, a gateway): no content-type,
/// a new id on every chunk, `model_name` for `model`, `finish_reason` inside the delta, no
/// usage chunk, and a bare `[DONE]` with no `data: ` prefix and no newline at the very end.
#[tokio::test]
async fn a_third_party_stream_with_every_quirk() {
    let body = concat!(
        "data: {\"id\":\"c1\",\"model_name\":\"sim-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
        "data: {\"id\":\"c2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n",
        "data: {\"id\":\"c3\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\",\"finish_reason\":\"stop\"}}]}\n\n",
        "[DONE]"
    );
    let f = Fixture {
        source: Source {
            repo: "-/-".into(),
            path: "-".into(),
            commit: "0".repeat(40),
            scrubbed: "-".into(),
        },
        request: Req {
            path: "/openai/deployments/third/chat/completions".into(),
            stream: true,
            body: None,
        },
        response: Resp {
            status: 200,
            headers: serde_json::Map::new(),
            body: body.into(),
        },
        expect: Expect {
            status: 200,
            text: "Hello!".into(),
            finish_reason: Some("stop".into()),
            usage: None,
            tool_calls: 0,
            error_message: None,
            error_code: None,
            model: Some("sim-4o".into()),
        },
    };
    for how in [
        Serve::AsRecorded,
        Serve::NoContentType,
        Serve::WrongContentType,
    ] {
        let (rec, _) = call(&f, how).await;
        assert_eq!(mismatches(&f, &rec), Vec::<String>::new(), "{how:?}");
        assert!(
            !rec.notes.iter().any(|n| n.contains("[DONE]")),
            "the bare [DONE] was seen: {:?}",
            rec.notes
        );
        assert_eq!(rec.usage, None, "no usage invented");
    }
}

/// The top-level keys of each event of a stream body, in order, with the keys of choice 0.
fn shapes(body: &str) -> Vec<(Vec<String>, Vec<String>)> {
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| {
            let v: Value = serde_json::from_str(d).unwrap();
            let keys = v.as_object().unwrap().keys().cloned().collect();
            let choice = v["choices"]
                .get(0)
                .and_then(Value::as_object)
                .map(|c| c.keys().cloned().collect())
                .unwrap_or_default();
            (keys, choice)
        })
        .collect()
}

/// The simulator is fitted to the same recordings: its stream has the recorded shape, chunk
/// kind by chunk kind (annotation without `usage`, `obfuscation` on every other chunk,
/// `usage: null` until the usage chunk), and the same framing.
#[tokio::test]
async fn the_simulator_streams_the_recorded_shape() {
    let recorded = fixtures()
        .into_iter()
        .find(|(p, _)| p.to_string_lossy().contains("02-stream-include-usage-v1"))
        .unwrap()
        .1;
    let want = shapes(&recorded.response.body);
    let sim = common::sim().await;
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21",
            sim.base_url()
        ))
        .header("api-key", "k")
        .json(&serde_json::json!({
            "messages": [{"role": "user", "content": "What is 4200 + 42?"}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": 12
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        recorded.response.headers["content-type"].as_str().unwrap()
    );
    let body = resp.text().await.unwrap();
    assert!(body.ends_with("data: [DONE]\n\n"));
    let got = shapes(&body);
    // Same kinds in the same order: annotation, role, content…, finish, usage.
    let kinds = |s: &[(Vec<String>, Vec<String>)]| {
        let mut k: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for e in s {
            if k.last() != Some(e) {
                k.push(e.clone());
            }
        }
        k
    };
    assert_eq!(kinds(&got), kinds(&want), "\n{body}");
    // `obfuscation` varies from chunk to chunk, as recorded.
    let obf: std::collections::HashSet<String> = body
        .split("\"obfuscation\":\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect();
    assert!(obf.len() > 2, "{obf:?}");
}

/// A non-streamed body from the simulator has the keys of the recorded ones, at every level
/// the client reads.
#[tokio::test]
async fn the_simulator_answers_the_recorded_completion_shape() {
    let recorded = fixtures()
        .into_iter()
        .find(|(p, _)| p.to_string_lossy().contains("23-nonstream-finish-length"))
        .unwrap()
        .1;
    let want: Value = serde_json::from_str(&recorded.response.body).unwrap();
    let sim = common::sim().await;
    let got: Value = reqwest::Client::new()
        .post(format!(
            "{}/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21",
            sim.base_url()
        ))
        .header("api-key", "k")
        .json(&serde_json::json!({
            "messages": [{"role": "user", "content": "List all U.S. states."}],
            "max_tokens": 10
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    for pointer in ["", "/choices/0", "/choices/0/message", "/usage"] {
        assert_eq!(
            keys(got.pointer(pointer).unwrap()),
            keys(want.pointer(pointer).unwrap()),
            "keys at {pointer:?}"
        );
    }
}

fn fixture(name: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|(p, _)| p.to_string_lossy().contains(name))
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .1
}

/// The 2026 rate-limit headers as the client reads them from the recordings (05, 11): reset
/// times and renewal periods in seconds, `x-ms-is-spilled-over: false`.
#[tokio::test]
async fn the_client_reads_the_2026_rate_limit_headers() {
    for (name, reset_req, reset_tok) in [
        ("05-stream-2026-gpt41-mini", 500.0, 7.0),
        ("11-stream-gpt52-latency-checkpoint", 0.0, 0.0),
    ] {
        let f = fixture(name);
        let (rec, _) = call(&f, Serve::AsRecorded).await;
        let rl = &rec.ratelimit;
        assert_eq!(rl.reset_requests_s, Some(reset_req), "{name}");
        assert_eq!(rl.reset_tokens_s, Some(reset_tok), "{name}");
        assert_eq!(rl.renewal_period_requests_s, Some(60.0), "{name}");
        assert_eq!(rl.renewal_period_tokens_s, Some(60.0), "{name}");
        assert!(!rl.spilled_over, "{name}");
        let json = serde_json::to_value(&rec).unwrap();
        assert_eq!(json["ratelimit"]["reset_requests_s"], reset_req, "{name}");
        assert_eq!(json["ratelimit"]["spilled_over"], false, "{name}");
    }
    // 2024 (04) sent none of them: absent, not zero.
    let (rec, _) = call(&fixture("04-stream-2024-legacy-shape"), Serve::AsRecorded).await;
    assert_eq!(rec.ratelimit.reset_requests_s, None);
    assert_eq!(rec.ratelimit.reset_tokens_s, None);
}

/// The asynchronous filter's verdict arrives after the finish chunk (13): the record keeps
/// it — here the custom blocklist hit that did not cut the text.
#[tokio::test]
async fn the_client_keeps_the_async_filter_verdict_of_recording_13() {
    let f = fixture("13-stream-async-content-filter");
    for how in [Serve::AsRecorded, Serve::NoContentType] {
        let (rec, _) = call(&f, how).await;
        assert!(
            mismatches(&f, &rec).is_empty(),
            "{:?}",
            mismatches(&f, &rec)
        );
        let v = rec.async_filter.clone().expect("an async verdict");
        assert_eq!(v.annotations, 2);
        assert_eq!(v.checked_to, 992);
        assert_eq!(v.filtered, ["custom_blocklists:TestBlocklistNoBanana"]);
        assert_eq!(
            v.summary(),
            "filtered (async): custom_blocklists:TestBlocklistNoBanana"
        );
        assert_eq!(rec.finish_reason.as_deref(), Some("stop"));
    }
    // Synchronous streams have none.
    let (rec, _) = call(&fixture("02-stream-include-usage-v1"), Serve::AsRecorded).await;
    assert_eq!(rec.async_filter, None);
    assert!(
        serde_json::to_value(&rec)
            .unwrap()
            .get("async_filter")
            .is_none()
    );
}

/// Both recorded shapes of a missing deployment get the same plain explanation.
#[tokio::test]
async fn the_client_names_the_missing_deployment_on_both_paths() {
    for (name, deployment) in [
        (
            "18-stream-400-unknown-model-v1",
            "this-model-does-not-exist-12345",
        ),
        ("19-nonstream-404-deployment-not-found", "gpt-5-nano"),
    ] {
        let f = fixture(name);
        let (rec, _) = call(&f, Serve::AsRecorded).await;
        let e = rec.error.expect("an error");
        assert!(
            e.message.starts_with(&format!(
                "no deployment named `{deployment}` on this resource"
            )),
            "{name}: {e}"
        );
        assert!(
            e.message
                .contains(f.expect.error_message.as_deref().unwrap()),
            "{name}: Azure's words are kept: {e}"
        );
    }
}

/// The simulator's unknown-deployment answers are the recorded ones, byte for byte, with the
/// recorded content-type (none on the classic 404).
#[tokio::test]
async fn the_simulator_answers_unknown_deployments_as_recorded() {
    let sim = common::sim().await;
    let http = reqwest::Client::new();
    for (name, path, model) in [
        (
            "19-nonstream-404-deployment-not-found",
            "/openai/deployments/gpt-5-nano/chat/completions?api-version=2024-02-01",
            None,
        ),
        (
            "18-stream-400-unknown-model-v1",
            "/openai/v1/chat/completions",
            Some("this-model-does-not-exist-12345"),
        ),
    ] {
        let f = fixture(name);
        let mut body = serde_json::json!({
            "messages": [{"role": "user", "content": "hi"}],
            "stream": f.request.stream,
        });
        if let Some(m) = model {
            body["model"] = m.into();
        }
        let resp = common::bounded(
            http.post(format!("{}{path}", sim.base_url()))
                .header("api-key", "k")
                .json(&body)
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(resp.status().as_u16(), f.response.status, "{name}");
        assert_eq!(
            resp.headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string()),
            f.response
                .headers
                .get("content-type")
                .and_then(Value::as_str)
                .map(str::to_string),
            "{name}"
        );
        assert!(resp.headers().contains_key("apim-request-id"), "{name}");
        let text = common::bounded(resp.text()).await.unwrap();
        assert_eq!(text, f.response.body, "{name}");
    }
}

/// With `content_filter = "async"`, the simulator's stream has the chunk kinds of recording
/// 13 in its order: annotation, role, content…, finish, two verdicts, usage.
#[tokio::test]
async fn the_simulator_streams_the_recorded_async_filter_shape() {
    let recorded = fixture("13-stream-async-content-filter");
    let sim = common::sim_with(|c| {
        for d in &mut c.deployments {
            d.content_filter = aoai::sim::config::ContentFilterMode::Async;
        }
    })
    .await;
    let body = common::bounded(async {
        reqwest::Client::new()
            .post(format!(
                "{}/openai/deployments/gpt-4o-mini/chat/completions?api-version=2025-01-01-preview",
                sim.base_url()
            ))
            .header("api-key", "k")
            .json(&serde_json::json!({
                "messages": [{"role": "user", "content": "What fruit is yellow?"}],
                "stream": true,
                "stream_options": {"include_usage": true},
                "max_tokens": 12
            }))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    })
    .await;
    // Keys compared without `obfuscation`: the 2025-04 recording predates it.
    let strip = |s: Vec<(Vec<String>, Vec<String>)>| {
        let mut k: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for (top, choice) in s {
            let e = (
                top.into_iter().filter(|k| k != "obfuscation").collect(),
                choice,
            );
            if k.last() != Some(&e) {
                k.push(e);
            }
        }
        k
    };
    let want = strip(shapes(&recorded.response.body));
    let got = strip(shapes(&body));
    // The recording's verdict chunks share one shape, so the run of two reads as one kind.
    assert_eq!(got, want, "\n{body}");
    assert!(body.ends_with("data: [DONE]\n\n"));
}

/// Recording 99 (a gpt-5 stream with reasoning-summary deltas): the summary is kept apart
/// from the answer and timed apart; TTFT is the first answer delta, after the summary.
#[tokio::test]
async fn the_client_times_the_reasoning_summary_of_recording_99_apart() {
    let f = fixture("99-responses-openai-stream-reasoning-summary");
    let (rec, _) = call(&f, Serve::AsRecorded).await;
    assert!(
        mismatches(&f, &rec).is_empty(),
        "{:?}",
        mismatches(&f, &rec)
    );
    let summary = rec.reasoning_summary.clone().expect("a reasoning summary");
    assert!(!summary.is_empty());
    assert!(
        !rec.text.contains(&summary[..summary.len().min(20)]),
        "not in the answer"
    );
    let (s, t) = (
        rec.timing.first_summary_ms.expect("timed"),
        rec.timing.ttft_ms.expect("ttft"),
    );
    assert!(s <= t, "summary at {s} ms, first answer token at {t} ms");
    assert!(rec.usage.unwrap().reasoning_tokens > 0);
}

/// Every chat and Responses recording, wrapped in a HAR entry as devtools or mitmproxy would
/// write it, reads back (through the HAR import, i.e. the proxy's tap) to what the recording
/// says: status, text, finish reason, tool calls, usage, model, errors.
#[test]
fn recordings_read_from_a_har() {
    let picked: Vec<_> = fixtures()
        .into_iter()
        .filter(|(_, f)| is_chat(f) || is_responses(f))
        .collect();
    let entries: Vec<Value> = picked
        .iter()
        .map(|(_, f)| {
            let mut body = f.request.body.clone().unwrap_or_else(|| serde_json::json!({}));
            if f.request.stream {
                body["stream"] = Value::Bool(true);
            }
            let headers: Vec<Value> = f
                .response
                .headers
                .iter()
                .map(|(k, v)| {
                    serde_json::json!({"name": k, "value": v.as_str().map_or(v.to_string(), String::from)})
                })
                .collect();
            serde_json::json!({
                "startedDateTime": "2026-03-31T13:12:42.000Z", "time": 120.0,
                "request": {"method": "POST",
                    "url": format!("https://contoso.openai.azure.com{}", f.request.path),
                    "httpVersion": "HTTP/1.1", "cookies": [], "queryString": [], "headersSize": -1,
                    "headers": [{"name": "api-key", "value": "sk-HAR-CONFORMANCE"}],
                    "postData": {"mimeType": "application/json", "text": body.to_string()}},
                "response": {"status": f.response.status, "statusText": "", "httpVersion": "HTTP/1.1",
                    "cookies": [], "headers": headers, "redirectURL": "", "headersSize": -1, "bodySize": -1,
                    "content": {"size": f.response.body.len(), "text": f.response.body}},
                "cache": {}, "timings": {"send": 0.5, "wait": 40.0, "receive": 79.5}
            })
        })
        .collect();
    let har = serde_json::json!({"log": {"version": "1.2",
        "creator": {"name": "conformance", "version": "1"}, "entries": entries}});
    let loaded = aoai::engine::har::import::read_har(har.to_string().as_bytes()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.calls.len(), picked.len());
    let mut failures = Vec::new();
    for ((p, f), c) in picked.iter().zip(&loaded.calls) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        for m in mismatches(f, &c.record) {
            failures.push(format!("{name} [HAR]: {m}"));
        }
    }
    assert!(picked.len() >= 25, "{} recordings", picked.len());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(
        !serde_json::to_string(&loaded.calls)
            .unwrap()
            .contains("sk-HAR-CONFORMANCE")
    );
}
