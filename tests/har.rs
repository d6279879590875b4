//! HAR 1.2 both ways (docs/exports.md): a recorded scenario exported and read back keeps
//! request, status, allowlisted headers, body and timings, and HAR → scenario → HAR is the
//! same document; a HAR written by a real third-party recorder (mitmproxy, in reverse-proxy
//! mode in front of the simulator) reads as calls without the application's key; a
//! devtools-style HAR with the oddities real ones have reads leniently.

mod common;
#[path = "common/mitm.rs"]
mod mitm;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aoai::domain::call::{Outcome, WireApi};
use aoai::engine::capture;
use common::*;
use mitm::{Kill, free_port, mitmdump_or_skip};
use serde_json::Value;

const KEY: &str = "sk-HAR-CANARY-KEY-7731";

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aoai-har-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn export(file: &Path, format: &str) -> String {
    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--export", format])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn record(base: String, file: PathBuf, calls: Vec<Vec<&'static str>>) {
    tokio::task::spawn_blocking(move || {
        for extra in calls {
            let mut args = vec![
                "chat",
                "--endpoint",
                &base,
                "--api-key",
                KEY,
                "--record",
                file.to_str().unwrap(),
                "--json",
            ];
            args.extend(extra);
            let out = aoai().args(&args).output().unwrap();
            assert!(out.status.code().is_some());
        }
    })
    .await
    .unwrap();
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-6,
        (None, None) => true,
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scenario_round_trips_through_har() {
    let sim = sim().await;
    let d = dir("roundtrip");
    let file = d.join("s.jsonl");
    record(
        sim.base_url(),
        file.clone(),
        vec![
            vec!["-d", "gpt-4o", "--seed", "1", "first question"],
            vec!["-d", "gpt-4o", "--seed", "2", "--no-stream", "second"],
            vec!["-d", "gpt-4o", "-H", "x-sim-fault:429", "third"],
            vec!["-d", "gpt-4o", "--wire-api", "responses", "fourth"],
        ],
    )
    .await;
    let original = aoai::engine::record::load(&file).unwrap();
    assert_eq!(original.calls.len(), 4);

    let har_text = export(&file, "har");
    assert!(!har_text.contains(KEY), "no key in a HAR export");
    let har_path = d.join("s.har");
    std::fs::write(&har_path, &har_text).unwrap();
    let doc: Value = serde_json::from_str(&har_text).unwrap();
    assert_eq!(doc["log"]["version"], "1.2");
    let e0 = &doc["log"]["entries"][0];
    assert!(
        e0["request"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"),
        "{e0}"
    );
    assert_eq!(
        e0["response"]["content"]["text"]
            .as_str()
            .unwrap()
            .matches("data: ")
            .count(),
        original.calls[0].record.events.len()
    );
    let ttfb = original.calls[0].record.timing.ttfb_ms.unwrap();
    assert!((e0["timings"]["wait"].as_f64().unwrap() - ttfb).abs() < 1e-9);

    let back = capture::load(&har_path).unwrap();
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    assert_eq!(back.calls.len(), 4);
    for (i, (a, b)) in original.calls.iter().zip(&back.calls).enumerate() {
        let (ra, rb) = (&a.record, &b.record);
        assert_eq!(a.started, b.started, "call {i}");
        assert_eq!(a.request.deployment, b.request.deployment, "call {i}");
        assert_eq!(a.request.api, b.request.api, "call {i}");
        // A classic Responses call goes out with the preview api-version its URL names; the
        // HAR keeps that one, not the configured one.
        if a.request.wire_api == WireApi::Chat {
            assert_eq!(a.request.api_version, b.request.api_version, "call {i}");
        }
        assert_eq!(a.request.wire_api, b.request.wire_api, "call {i}");
        assert_eq!(a.request.body.messages, b.request.body.messages, "call {i}");
        assert_eq!(a.request.wire_body, b.request.wire_body, "call {i}");
        assert_eq!(a.prompt_shape, b.prompt_shape, "call {i}");
        assert_eq!((ra.status, ra.outcome), (rb.status, rb.outcome), "call {i}");
        assert_eq!(a.safe_headers(), b.safe_headers(), "call {i}");
        assert_eq!(ra.text, rb.text, "call {i}");
        assert_eq!(ra.usage, rb.usage, "call {i}");
        assert_eq!(ra.request_id, rb.request_id, "call {i}");
        assert_eq!(
            ra.ratelimit.retry_after_ms, rb.ratelimit.retry_after_ms,
            "call {i}"
        );
        assert_eq!(ra.events.len(), rb.events.len(), "call {i}");
        for (x, y) in ra.events.iter().zip(&rb.events) {
            assert_eq!(x.data, y.data, "call {i}");
            assert!(
                (x.t_ms - y.t_ms).abs() < 1e-6,
                "call {i}: {} vs {}",
                x.t_ms,
                y.t_ms
            );
        }
        assert!(close(ra.timing.ttfb_ms, rb.timing.ttfb_ms), "call {i}");
        assert!(close(ra.timing.e2e_ms, rb.timing.e2e_ms), "call {i}");
        // A whole body's first token is when it arrived (the client reads it a little later;
        // a HAR keeps the arrival).
        let ttft = if ra.stream || ra.events.is_empty() {
            ra.timing.ttft_ms
        } else {
            Some(ra.events[0].t_ms)
        };
        assert!(
            close(ttft, rb.timing.ttft_ms),
            "call {i}: {:?} {:?}",
            ra.timing,
            rb.timing
        );
    }
    assert_eq!(back.calls[2].record.outcome, Outcome::Throttled);
    assert_eq!(back.calls[3].record.wire_api, WireApi::Responses);

    // HAR → scenario → HAR: the same document.
    let again: Value = serde_json::from_str(&export(&har_path, "har")).unwrap();
    assert_eq!(again["log"]["entries"], doc["log"]["entries"]);

    // The report reads the HAR as it reads the scenario.
    let report = |f: &Path| {
        let out = aoai()
            .args(["replay", f.to_str().unwrap(), "--report", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["total"].clone()
    };
    assert_eq!(report(&file), report(&har_path));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mitmproxy_har_of_an_application_reads_as_calls_without_its_key() {
    let Some(mitm) = mitmdump_or_skip() else {
        return;
    };
    let sim = sim().await;
    let d = dir("mitm");
    let har_path = d.join("app.har");
    let port = free_port();
    let mut proc = Kill(
        Command::new(&mitm)
            .args(["--mode", &format!("reverse:{}", sim.base_url())])
            .args(["--listen-host", "127.0.0.1", "-p", &port.to_string(), "-q"])
            .args(["--set", &format!("hardump={}", har_path.display())])
            .env("HOME", &d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mitmdump starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    // mitmdump takes a moment to listen.
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "mitmdump did not listen"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let chat = format!("{base}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
    let mut answers = Vec::new();
    for (body, fault) in [
        (
            r#"{"messages":[{"role":"user","content":"stream please"}],"stream":true,"stream_options":{"include_usage":true},"seed":3}"#,
            None,
        ),
        (
            r#"{"messages":[{"role":"user","content":"whole please"}],"seed":4}"#,
            None,
        ),
        (
            r#"{"messages":[{"role":"user","content":"throttle me"}]}"#,
            Some("429"),
        ),
    ] {
        let mut rb = http
            .post(&chat)
            .header("api-key", KEY)
            .header("authorization", format!("Bearer {KEY}"))
            .header("cookie", format!("session={KEY}"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(f) = fault {
            rb = rb.header("x-sim-fault", f);
        }
        let r = bounded(rb.send()).await.unwrap();
        answers.push((r.status().as_u16(), bounded(r.text()).await.unwrap()));
    }
    let r = bounded(
        http.post(format!(
            "{base}/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
        ))
        .header("api-key", KEY)
        .header("content-type", "application/json")
        .body(r#"{"input":"x"}"#)
        .send(),
    )
    .await
    .unwrap();
    let _ = bounded(r.text()).await;
    // mitmdump writes the HAR when it stops.
    unsafe {
        libc::kill(proc.0.id() as i32, libc::SIGINT);
    }
    let start = Instant::now();
    while proc.0.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "mitmdump did not stop"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let raw = std::fs::read_to_string(&har_path).expect("mitmdump wrote the HAR");
    assert!(
        raw.contains(KEY),
        "mitmproxy keeps the key: the import must drop it"
    );

    let loaded = capture::load(&har_path).unwrap();
    assert_eq!(loaded.calls.len(), 3, "{:?}", loaded.warnings);
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.to_string().contains("1 entries are not")),
        "{:?}",
        loaded.warnings
    );
    let scenario = serde_json::to_string(&loaded.calls).unwrap();
    assert!(
        !scenario.contains(KEY),
        "the key never reaches the calls read from a HAR"
    );
    let stream = &loaded.calls[0].record;
    assert_eq!((stream.status, stream.outcome), (Some(200), Outcome::Done));
    assert!(stream.stream);
    let usage = stream.usage.expect("the stream's usage chunk was read");
    assert!(usage.completion_tokens > 0);
    let streamed: String = answers[0]
        .1
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(stream.text, streamed, "the text the application received");
    assert!(stream.timing.ttft_ms.is_none(), "a HAR has no event times");
    assert!(stream.notes.iter().any(|n| n.contains("TTFT unknown")));
    assert!(stream.timing.ttfb_ms.unwrap() <= stream.timing.e2e_ms.unwrap());
    let whole = &loaded.calls[1].record;
    assert_eq!(whole.outcome, Outcome::Done);
    let whole_answer: Value = serde_json::from_str(&answers[1].1).unwrap();
    assert_eq!(
        whole.text,
        whole_answer["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
    );
    let throttled = &loaded.calls[2].record;
    assert_eq!(answers[2].0, 429);
    assert_eq!(
        (throttled.status, throttled.outcome),
        (Some(429), Outcome::Throttled)
    );
    assert!(throttled.ratelimit.retry_after_ms.is_some());
    assert!(throttled.request_id.is_some());
    // In reverse-proxy mode mitmproxy records the upstream's URL.
    assert_eq!(
        loaded.calls[0].request.endpoint.as_deref(),
        Some(sim.base_url().trim_end_matches('/'))
    );

    for format in ["har", "otlp-json"] {
        assert!(!export(&har_path, format).contains(KEY), "{format}");
    }
    // Re-send the application's calls (to the embedded simulator).
    let out = aoai()
        .args(["replay", har_path.to_str().unwrap(), "--resend", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v["calls"].as_array().map(Vec::len), Some(3), "{v}");
    assert_eq!(v["calls"][0]["now"]["status"], 200, "{v}");
}

/// A HAR as browser devtools write one, with what real ones have: an offset time, a base64
/// body, fields left out, a failed request, credentials in headers, cookies and the query.
fn devtools_har() -> String {
    use base64::Engine;
    let sse = "data: {\"choices\":[],\"prompt_filter_results\":[]}\n\n\
        data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-11-20\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n\
        data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-11-20\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n\
        data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-11-20\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},\"finish_reason\":\"stop\"}]}\n\n\
        data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-11-20\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n\
        data: [DONE]\n\n";
    let b64 = base64::engine::general_purpose::STANDARD.encode(sse);
    serde_json::json!({"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
      "pages": [],
      "entries": [
        {"startedDateTime": "2026-11-30T10:00:00.250+02:00", "time": 812.5,
         "request": {"method": "POST",
            "url": format!("https://u:{KEY}@contoso.openai.azure.com/openai/deployments/chat4o/chat/completions?api-version=2024-10-21&api-key={KEY}"),
            "httpVersion": "h2",
            "headers": [{"name": "api-key", "value": KEY}, {"name": "Authorization", "value": format!("Bearer {KEY}")},
                        {"name": "Cookie", "value": format!("a={KEY}")}, {"name": "x-ms-client-request-id", "value": "c-1"},
                        {"name": "user-agent", "value": "Mozilla/5.0"}],
            "queryString": [{"name": "api-key", "value": KEY}],
            "cookies": [{"name": "a", "value": KEY}],
            "headersSize": -1, "bodySize": 60,
            "postData": {"mimeType": "application/json", "text": "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true}"}},
         "response": {"status": 200, "statusText": "", "httpVersion": "h2",
            "headers": [{"name": "Content-Type", "value": "text/event-stream"}, {"name": "apim-request-id", "value": "req-77"},
                        {"name": "x-ms-region", "value": "Sweden Central"}, {"name": "set-cookie", "value": format!("s={KEY}")},
                        {"name": "x-ratelimit-remaining-tokens", "value": "9000"}],
            "cookies": [], "content": {"size": 600, "mimeType": "text/event-stream", "text": b64, "encoding": "base64"},
            "redirectURL": "", "headersSize": -1, "bodySize": -1},
         "timings": {"blocked": 1.5, "dns": -1, "ssl": -1, "connect": -1, "send": 0.5, "wait": 300.0, "receive": 510.5}},
        {"startedDateTime": "2026-11-30T08:00:01.000Z", "time": 0,
         "request": {"method": "POST", "url": "https://contoso.openai.azure.com/openai/v1/chat/completions",
            "headers": [], "postData": {"mimeType": "application/json", "text": "{\"model\":\"chat4o\",\"messages\":[{\"role\":\"user\",\"content\":\"again\"}]}"}},
         "response": {"status": 0, "headers": [], "content": {"size": 0}},
         "timings": {"send": 0, "wait": 0, "receive": 0}},
        {"startedDateTime": "2026-11-30T08:00:02.000Z", "time": 5,
         "request": {"method": "GET", "url": "https://contoso.example/app.js", "headers": []},
         "response": {"status": 200, "headers": [], "content": {"size": 1, "text": "x"}},
         "timings": {"send": 0, "wait": 1, "receive": 1}},
        {"startedDateTime": "2026-11-30T08:00:03.000Z", "request": "not an object"}
      ]}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_devtools_har_reads_leniently_and_serves_back() {
    let d = dir("devtools");
    let path = d.join("devtools.har");
    std::fs::write(&path, devtools_har()).unwrap();
    let loaded = capture::load(&path).unwrap();
    let text = serde_json::to_string(&loaded.calls).unwrap();
    assert!(!text.contains(KEY), "{text}");
    assert_eq!(loaded.calls.len(), 2, "{:?}", loaded.warnings);
    let w: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    assert!(w.iter().any(|w| w.starts_with("entry 4: ")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("1 entries are not")), "{w:?}");

    let c = &loaded.calls[0];
    assert_eq!(c.started, "2026-11-30T08:00:00.250Z");
    assert_eq!(c.request.deployment, "chat4o");
    assert_eq!(
        c.request.endpoint.as_deref(),
        Some("https://contoso.openai.azure.com")
    );
    assert_eq!(
        c.request.headers,
        vec![("x-ms-client-request-id".to_string(), "c-1".to_string())]
    );
    assert_eq!(
        c.proxied.as_ref().unwrap().path,
        "/openai/deployments/chat4o/chat/completions?api-version=2024-10-21"
    );
    let r = &c.record;
    assert_eq!((r.outcome, r.text.as_str()), (Outcome::Done, "Hello there"));
    assert_eq!(r.model.as_deref(), Some("gpt-4o-2024-11-20"));
    assert_eq!(
        r.usage.map(|u| (u.prompt_tokens, u.completion_tokens)),
        Some((9, 2))
    );
    assert!(r.cost_usd.is_some());
    assert_eq!(r.request_id.as_deref(), Some("req-77"));
    assert_eq!(r.region.as_deref(), Some("Sweden Central"));
    assert_eq!(r.ratelimit.remaining_tokens, Some(9000));
    assert!(close(r.timing.ttfb_ms, Some(302.0)), "{:?}", r.timing);
    assert!(close(r.timing.e2e_ms, Some(812.5)), "{:?}", r.timing);
    assert_eq!(r.timing.ttft_ms, None);
    assert_eq!(r.events.len(), 6);
    assert!(r.events.windows(2).all(|p| p[0].t_ms < p[1].t_ms));
    let failed = &loaded.calls[1].record;
    assert_eq!((failed.outcome, failed.status), (Outcome::Failed, None));

    // Served back by `sim --replay`: the application's answer, from its recorded headers.
    let server = bounded(aoai::sim::replay::start(loaded.calls.clone(), 0))
        .await
        .unwrap();
    let cfg = aoai::azure::ClientConfig::new(
        aoai::azure::Endpoint::parse(&server.base_url()).unwrap(),
        aoai::azure::Auth::ApiKey(aoai::azure::Secret::new("k")),
    );
    let client = aoai::azure::ChatClient::new(cfg).unwrap();
    let mut spec = ask("chat4o", "Hi");
    spec.request = c.request.body.clone();
    let (rec, _) = run(&client, &spec).await;
    assert_eq!(
        (rec.outcome, rec.text.as_str()),
        (Outcome::Done, "Hello there"),
        "{:?}",
        rec.error
    );
    assert_eq!(rec.request_id.as_deref(), Some("req-77"));

    // Not a HAR, a HAR of another version: clear errors.
    let bad = d.join("bad.har");
    std::fs::write(&bad, r#"{"log": {"version": "9.0", "entries": []}}"#).unwrap();
    let e = capture::load(&bad).unwrap_err().to_string();
    assert!(e.contains("HAR version 9.0"), "{e}");
    std::fs::write(&bad, r#"{"log": {"version": "1.2", "entries": {}}}"#).unwrap();
    let e = capture::load(&bad).unwrap_err().to_string();
    assert!(e.contains("`log.entries` is not a list"), "{e}");
    std::fs::write(&bad, "{\n  \"nothing\": 1\n}\n").unwrap();
    let e = capture::load(&bad).unwrap_err().to_string();
    assert!(e.contains("not an aoai scenario"), "{e}");
}
