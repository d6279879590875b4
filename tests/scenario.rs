//! Scenarios end to end: `aoai chat --record` against a simulator the test starts, load and
//! round trip (events and timings preserved), redaction, the report against hand-computed
//! figures, bad files, re-send, and serving a scenario back (`aoai sim --replay`).

mod common;

use std::path::{Path, PathBuf};

use aoai::domain::call::{CallRecord, Outcome, SseEvent, Timings};
use aoai::domain::cost::PriceTable;
use aoai::domain::scenario::{Header, PromptShape, RecordedRequest, ScenarioCall};
use aoai::domain::stream::StreamState;
use aoai::domain::usage::Usage;
use aoai::engine::record::report::ReportBuilder;
use aoai::wire::{ChatMessage, ChatRequest, ChunkIn};
use common::*;
use pretty_assertions::assert_eq;
use serde_json::Value;

const KEY: &str = "sk-SUPER-SECRET-KEY-4242";

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aoai-scenario-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("s.jsonl")
}

async fn record_calls(base: String, file: PathBuf, calls: Vec<Vec<&'static str>>) {
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
            assert!(
                out.status.code().is_some(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn record_then_load_preserves_events_timings_and_redacts() {
    let sim = sim().await;
    let file = tmp("roundtrip");
    record_calls(
        sim.base_url(),
        file.clone(),
        vec![
            vec!["-d", "gpt-4o", "--seed", "1", "first question"],
            vec![
                "-d",
                "gpt-4o",
                "--seed",
                "2",
                "--no-stream",
                "second question",
            ],
            vec!["-d", "gpt-4o", "-H", "x-sim-fault:429", "third question"],
        ],
    )
    .await;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(KEY),
        "the API key must never reach a scenario file"
    );
    assert!(!text.to_ascii_lowercase().contains("\"api-key\""));
    assert_eq!(text.lines().count(), 4, "header + one line per call");

    let loaded = aoai::engine::record::load(&file).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.header.format, "aoai-scenario");
    assert_eq!(loaded.header.profile, None);
    let [streamed, plain, throttled] = &loaded.calls[..] else {
        panic!("3 calls")
    };

    // Streamed: every SSE event kept, in order, with non-decreasing offsets; they rebuild the text.
    let r = &streamed.record;
    assert_eq!(r.outcome, Outcome::Done);
    assert_eq!(r.events.last().unwrap().data, "[DONE]");
    assert!(r.events.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
    let mut st = StreamState::default();
    for e in r.events.iter().filter(|e| e.data != "[DONE]") {
        st.apply(&serde_json::from_str::<ChunkIn>(&e.data).unwrap());
    }
    assert_eq!(st.text, r.text);
    assert_eq!(
        streamed.request.body.messages,
        vec![ChatMessage::new("user", "first question")]
    );
    assert_eq!(
        streamed.prompt_shape.total(),
        r.usage.unwrap().prompt_tokens,
        "prompt shape sums to billed prompt tokens"
    );
    assert!(
        r.headers
            .iter()
            .any(|(k, _)| k == "x-ratelimit-remaining-tokens")
    );
    let first_content = r.timing.ttft_ms.unwrap();
    assert!(
        r.events
            .iter()
            .any(|e| (e.t_ms - first_content).abs() < 1e-6),
        "TTFT is the offset of a recorded event"
    );
    // Non-stream: the whole body is one event.
    assert_eq!(plain.record.events.len(), 1);
    assert!(!plain.request.stream);
    // Throttled: the 429 body and retry headers are there.
    assert_eq!(throttled.record.outcome, Outcome::Throttled);
    assert!(throttled.record.events[0].data.contains("rate limit"));
    assert!(
        throttled
            .record
            .headers
            .iter()
            .any(|(k, _)| k == "retry-after-ms")
    );
    assert_eq!(
        throttled.request.headers,
        vec![("x-sim-fault".to_string(), "429".to_string())]
    );
}

fn hand_call(
    deployment: &str,
    usage: Usage,
    ttft: f64,
    e2e: f64,
    statuses: &[u16],
    budget: Option<u32>,
    shape: PromptShape,
) -> ScenarioCall {
    let prices = PriceTable::builtin();
    ScenarioCall {
        proxied: None,
        started: "2026-11-23T05:00:00.000Z".into(),
        request: RecordedRequest {
            wire_api: Default::default(),
            wire_body: None,
            deployment: deployment.into(),
            api: Default::default(),
            api_version: Some("2024-10-21".into()),
            endpoint: None,
            stream: true,
            retry: "honor".into(),
            headers: vec![],
            body: ChatRequest {
                messages: vec![ChatMessage::new("user", "x")],
                max_tokens: budget,
                ..Default::default()
            },
        },
        prompt_shape: shape,
        record: CallRecord {
            deployment: deployment.into(),
            outcome: if statuses.last() == Some(&200) {
                Outcome::Done
            } else {
                Outcome::Throttled
            },
            status: statuses.last().copied(),
            model: Some("gpt-4o-2024-11-20".into()),
            usage: Some(usage),
            cost_usd: prices.cost_usd("gpt-4o", None, &usage),
            timing: Timings {
                ttft_ms: Some(ttft),
                e2e_ms: Some(e2e),
                ..Default::default()
            },
            attempts: statuses
                .iter()
                .map(|s| aoai::domain::call::Attempt {
                    status: Some(*s),
                    ..Default::default()
                })
                .collect(),
            events: vec![SseEvent {
                t_ms: ttft,
                data: "{}".into(),
            }],
            ..Default::default()
        },
    }
}

fn write_scenario(path: &Path, calls: &[ScenarioCall]) {
    let mut text = serde_json::to_string(&Header::new(
        "2026-11-23T05:00:00Z".into(),
        Some("simulator".into()),
    ))
    .unwrap()
        + "\n";
    for c in calls {
        text.push_str(&serde_json::to_string(c).unwrap());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn usage(p: u64, c: u64, cached: u64) -> Usage {
    Usage {
        prompt_tokens: p,
        completion_tokens: c,
        cached_tokens: cached,
        reasoning_tokens: 0,
        total_tokens: p + c,
    }
}

#[test]
fn report_figures_match_hand_computed_values() {
    let shape = |s, u, a| PromptShape {
        system: s,
        user: u,
        assistant: a,
        tool: 0,
        framing: 10,
    };
    let calls = vec![
        hand_call(
            "gpt-4o",
            usage(1000, 100, 0),
            100.0,
            1000.0,
            &[200],
            Some(500),
            shape(600, 90, 300),
        ),
        hand_call(
            "gpt-4o",
            usage(2000, 50, 1024),
            400.0,
            4000.0,
            &[429, 200],
            Some(100),
            shape(600, 90, 1300),
        ),
        hand_call(
            "gpt-4o",
            usage(500, 200, 0),
            300.0,
            2000.0,
            &[200],
            None,
            shape(400, 90, 0),
        ),
        hand_call(
            "gpt-4o",
            usage(0, 0, 0),
            200.0,
            3000.0,
            &[429, 429, 429],
            None,
            shape(0, 0, 0),
        ),
    ];
    let file = tmp("report");
    write_scenario(&file, &calls);

    let prices = PriceTable::builtin();
    let mut b = ReportBuilder::new(&prices);
    aoai::engine::record::for_each_summary(&file, |c| b.add(c)).unwrap();
    let r = b.finish();
    let t = &r.total;
    assert_eq!((t.calls, t.done, t.throttled), (4, 3, 1));
    assert_eq!(
        (
            t.usage.prompt_tokens,
            t.usage.completion_tokens,
            t.usage.cached_tokens
        ),
        (3500, 350, 1024)
    );
    // gpt-4o: $2.50 in, $1.25 cached, $10 out per 1M.
    let expect_cost = (1000.0 * 2.5 + 100.0 * 10.0) / 1e6
        + (976.0 * 2.5 + 1024.0 * 1.25 + 50.0 * 10.0) / 1e6
        + (500.0 * 2.5 + 200.0 * 10.0) / 1e6;
    assert!(
        (t.cost_usd - expect_cost).abs() < 1e-12,
        "{} vs {expect_cost}",
        t.cost_usd
    );
    // Nearest rank over TTFT {100, 200, 300, 400}: p50 = 2nd = 200, p95 = 4th = 400.
    assert_eq!(
        (t.ttft_ms.p50, t.ttft_ms.p95, t.ttft_ms.max),
        (Some(200.0), Some(400.0), Some(400.0))
    );
    assert_eq!((t.e2e_ms.p50, t.e2e_ms.p95), (Some(2000.0), Some(4000.0)));
    assert_eq!((t.http_429, t.retries), (1 + 3, 1 + 2));
    assert_eq!(
        t.prompt_shape.tokens,
        PromptShape {
            system: 1600,
            user: 270,
            assistant: 1600,
            tool: 0,
            framing: 40
        }
    );
    // Budgets 500 + 100 for completions 100 + 50 → 1 − 150/600 = 75 % reserved but unused.
    assert_eq!(
        (
            t.max_tokens_requested,
            t.completion_tokens_of_budgeted_calls
        ),
        (600, 150)
    );
    assert!((t.over_reservation.unwrap() - 0.75).abs() < 1e-12);
    // Input dollars split by role share: call 1 input = $0.0025, 600/1000 of it is system.
    assert!(t.prompt_shape.system_usd > t.prompt_shape.user_usd);
    assert_eq!(r.calls[1].http_429, 1);

    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--report", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"]["ttft_ms"]["p95"], 400.0);
    assert_eq!(v["calls"].as_array().unwrap().len(), 4);
    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--report"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("assistant history") && text.contains("75% reserved but unused"),
        "{text}"
    );
}

#[test]
fn damaged_and_foreign_files() {
    let calls = vec![
        hand_call(
            "gpt-4o",
            usage(10, 5, 0),
            1.0,
            2.0,
            &[200],
            None,
            PromptShape::default()
        );
        3
    ];
    let file = tmp("damaged");
    write_scenario(&file, &calls);
    // A crash mid-write: the last line is cut short.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.truncate(text.len() - 40);
    std::fs::write(&file, &text).unwrap();
    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--report", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 4: truncated"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"]["calls"], 2, "the rest loads");
    // Appending to a damaged file starts a fresh line (the cut line stays reported, nothing else lost).
    let mut rec = aoai::engine::record::Recorder::open(&file, None).unwrap();
    rec.append(calls[0].clone()).unwrap();
    let loaded = aoai::engine::record::load(&file).unwrap();
    assert_eq!((loaded.calls.len(), loaded.warnings.len()), (3, 1));

    let other = tmp("other");
    std::fs::write(&other, "{\"hello\":1}\n").unwrap();
    let out = aoai()
        .args(["replay", other.to_str().unwrap(), "--report"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an aoai scenario file"));
    std::fs::write(&other, "{\"format\":\"aoai-scenario\",\"version\":9,\"tool\":\"x\",\"created\":\"y\",\"profile\":null}\n").unwrap();
    let out = aoai()
        .args(["replay", other.to_str().unwrap(), "--report"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("newer aoai"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        aoai::engine::record::Recorder::open(&other, None).is_err(),
        "never appends to a file it cannot read"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resend_compares_against_the_recording() {
    let sim = sim().await;
    let file = tmp("resend");
    record_calls(
        sim.base_url(),
        file.clone(),
        vec![vec![
            "-d",
            "gpt-4o",
            "--seed",
            "5",
            "--max-tokens",
            "40",
            "hello",
        ]],
    )
    .await;
    let base = sim.base_url();
    let f = file.clone();
    let again = f.with_file_name("again.jsonl");
    let again2 = again.clone();
    let out = tokio::task::spawn_blocking(move || {
        aoai()
            .args([
                "replay",
                f.to_str().unwrap(),
                "--resend",
                "--endpoint",
                &base,
                "--api-key",
                KEY,
                "--json",
                "--record",
                again2.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &v["calls"][0];
    assert_eq!(
        row["similarity"], 1.0,
        "same seed, same deployment: same answer"
    );
    assert_eq!(row["delta_completion_tokens"], 0);
    assert_eq!(row["delta_prompt_tokens"], 0);
    assert!(row["delta_ttft_ms"].is_number());
    assert_eq!(
        aoai::engine::record::load(&again).unwrap().calls.len(),
        1,
        "the new run is recorded too"
    );

    // Against another deployment the answer and price differ, and the diff says how.
    let base = sim.base_url();
    let f = file.clone();
    let out = tokio::task::spawn_blocking(move || {
        aoai()
            .args([
                "replay",
                f.to_str().unwrap(),
                "--resend",
                "--endpoint",
                &base,
                "--api-key",
                KEY,
                "-d",
                "gpt-4.1-ptu",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("gpt-4o → gpt-4.1-ptu") && text.contains("of words the same"),
        "{text}"
    );
    assert!(
        text.contains("{+") || text.contains("[-"),
        "word diff shown: {text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scenario_served_back_reproduces_the_answers_and_headers() {
    let sim = sim().await;
    let file = tmp("serve");
    record_calls(
        sim.base_url(),
        file.clone(),
        vec![
            vec!["-d", "gpt-4o", "--seed", "9", "one"],
            vec!["-d", "gpt-4o-mini", "--seed", "9", "two"],
        ],
    )
    .await;
    let loaded = aoai::engine::record::load(&file).unwrap();
    let server = bounded(aoai::sim::replay::start(loaded.calls.clone(), 0))
        .await
        .unwrap();
    let sim2 = aoai::sim::Simulator::start(aoai::sim::SimConfig::instant())
        .await
        .unwrap();
    let _ = sim2; // the replay server needs no simulator; this only proves ports don't clash
    let c = client_for_url(&server.base_url());
    // Ask in the other order: requests are matched by deployment and messages.
    for (dep, msg, idx) in [("gpt-4o-mini", "two", 1), ("gpt-4o", "one", 0)] {
        let mut spec = ask(dep, msg);
        spec.request = loaded.calls[idx].request.body.clone();
        let (rec, _) = run(&c, &spec).await;
        let want = &loaded.calls[idx].record;
        assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
        assert_eq!(rec.text, want.text);
        assert_eq!(
            rec.request_id, want.request_id,
            "recorded headers are served"
        );
        assert_eq!(rec.usage, want.usage);
        assert!(rec.timing.ttft_ms.unwrap() + 5.0 >= want.timing.ttft_ms.unwrap() * 0.5);
    }
}

fn client_for_url(url: &str) -> aoai::azure::ChatClient {
    let cfg = aoai::azure::ClientConfig::new(
        aoai::azure::Endpoint::parse(url).unwrap(),
        aoai::azure::Auth::ApiKey(aoai::azure::Secret::new("k")),
    );
    aoai::azure::ChatClient::new(cfg).unwrap()
}

#[test]
fn bundled_scenarios_load_and_report() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for name in ["normal.jsonl", "throttled.jsonl", "long-history.jsonl"] {
        let loaded =
            aoai::engine::record::load(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
        assert!(!loaded.calls.is_empty(), "{name}");
    }
    let throttled = aoai::engine::record::load(&dir.join("throttled.jsonl")).unwrap();
    assert!(
        throttled
            .calls
            .iter()
            .any(|c| c.record.attempts.iter().any(|a| a.status == Some(429)))
    );
    let long = aoai::engine::record::load(&dir.join("long-history.jsonl")).unwrap();
    let shape = long.calls.last().unwrap().prompt_shape;
    assert!(
        shape.assistant > shape.user,
        "long history: assistant turns dominate the prompt"
    );
}

#[test]
fn a_line_cut_inside_its_events_is_reported_not_counted() {
    let mut call = hand_call(
        "gpt-4o",
        usage(10, 5, 0),
        1.0,
        2.0,
        &[200],
        None,
        PromptShape::default(),
    );
    call.record.events = (0..20)
        .map(|i| SseEvent {
            t_ms: i as f64,
            data: format!("{{\"n\":{i}}}"),
        })
        .collect();
    let file = tmp("cut-events");
    write_scenario(&file, &[call.clone(), call]);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.truncate(text.len() - 60); // inside the last call's events
    std::fs::write(&file, &text).unwrap();
    let prices = PriceTable::builtin();
    let mut b = ReportBuilder::new(&prices);
    let (_, warnings) = aoai::engine::record::for_each_summary(&file, |c| b.add(c)).unwrap();
    assert_eq!(b.finish().total.calls, 1);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].message.starts_with("truncated"),
        "{:?}",
        warnings
    );
}

#[test]
fn replay_errors_are_printed_once_and_say_what_is_missing() {
    // The error text once, not `the file is empty: the file is empty`.
    let empty = tmp("empty");
    std::fs::write(&empty, "").unwrap();
    let out = aoai()
        .args(["replay", empty.to_str().unwrap(), "--report"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("aoai: {}: the file is empty\n", empty.display())
    );
    let newer = tmp("newer");
    std::fs::write(&newer, "{\"format\":\"aoai-scenario\",\"version\":9,\"tool\":\"x\",\"created\":\"y\",\"profile\":null}\n").unwrap();
    let out = aoai()
        .args(["replay", newer.to_str().unwrap(), "--report"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("newer aoai").count(), 1, "{err}");
    // --json alone would open the console: say what it needs.
    let out = aoai()
        .args(["replay", empty.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--report") && err.contains("--resend"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resend_exits_3_when_throttled_and_refuses_out_of_range_bodies() {
    let sim = sim().await;
    let file = tmp("resend-429");
    // The recorded x-sim-fault header is re-sent, so the re-run is throttled again.
    record_calls(
        sim.base_url(),
        file.clone(),
        vec![vec!["-d", "gpt-4o", "-H", "x-sim-fault:429", "hello"]],
    )
    .await;
    let resend = |file: PathBuf, base: String| {
        tokio::task::spawn_blocking(move || {
            aoai()
                .args(["replay", file.to_str().unwrap(), "--resend"])
                .args(["--endpoint", &base, "--api-key", KEY])
                .output()
                .unwrap()
        })
    };
    let out = resend(file.clone(), sim.base_url()).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 call re-sent"), "{text}");

    // A recorded body out of range is refused before anything is sent.
    let bad = tmp("resend-range");
    let mut call = hand_call(
        "gpt-4o",
        usage(10, 5, 0),
        1.0,
        2.0,
        &[200],
        None,
        PromptShape::default(),
    );
    call.request.body.temperature = Some(7.0);
    write_scenario(&bad, &[call]);
    let before = sim.requests().len();
    let out = resend(bad.clone(), sim.base_url()).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("call 1: temperature 7 is out of range (allowed: 0..=2)"),
        "{err}"
    );
    assert_eq!(sim.requests().len(), before, "nothing sent");
}

/// Chat recordings re-sent over the Responses API (and back): the same conversation goes out
/// as `instructions` + `input`, the rows name both wire APIs, and without `--wire-api` each
/// call goes out as recorded. The report counts the Responses calls.
#[tokio::test(flavor = "multi_thread")]
async fn resend_crosses_wire_apis_and_the_report_counts_responses_calls() {
    let sim = sim().await;
    let file = tmp("resend-wire");
    record_calls(
        sim.base_url(),
        file.clone(),
        vec![
            vec!["-d", "gpt-4o", "-s", "Be brief.", "What is a PTU?"],
            vec!["-d", "gpt-4o", "--wire-api", "responses", "What is TPM?"],
        ],
    )
    .await;
    let loaded = aoai::engine::record::load(&file).unwrap();
    let wires: Vec<_> = loaded.calls.iter().map(|c| c.request.wire_api).collect();
    assert_eq!(
        wires,
        [
            aoai::domain::call::WireApi::Chat,
            aoai::domain::call::WireApi::Responses
        ]
    );
    let sent = loaded.calls[1].request.wire_body.as_ref().unwrap();
    assert_eq!(sent["input"][0]["content"], "What is TPM?", "{sent}");

    let resend = |file: PathBuf, base: String, extra: Vec<&'static str>| {
        tokio::task::spawn_blocking(move || {
            aoai()
                .args(["replay", file.to_str().unwrap(), "--resend", "--json"])
                .args(["--endpoint", &base, "--api-key", KEY])
                .args(extra)
                .output()
                .unwrap()
        })
    };
    let paths_from =
        |n: usize| -> Vec<String> { sim.requests()[n..].iter().map(|r| r.path.clone()).collect() };
    let before = sim.requests().len();
    let out = resend(
        file.clone(),
        sim.base_url(),
        vec!["--wire-api", "responses"],
    )
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["calls"].as_array().unwrap();
    assert_eq!(rows[0]["recorded"]["wire_api"], "chat");
    assert_eq!(rows[0]["now"]["wire_api"], "responses");
    assert_eq!(rows[0]["now"]["outcome"], "done");
    assert!(rows[0]["now"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(rows[1]["now"]["wire_api"], "responses");
    assert!(
        paths_from(before).iter().all(|p| p.ends_with("/responses")),
        "{:?}",
        paths_from(before)
    );

    // Without --wire-api: each call as recorded (chat, then responses).
    let before = sim.requests().len();
    let out = resend(file.clone(), sim.base_url(), vec![]).await.unwrap();
    assert_eq!(out.status.code(), Some(0));
    let paths = paths_from(before);
    assert!(paths[0].ends_with("/chat/completions"), "{paths:?}");
    assert!(paths[1].ends_with("/responses"), "{paths:?}");

    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--report"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 on the Responses API"), "{text}");
    assert!(text.contains("instructions"), "{text}");
}

/// `aoai replay FILE --export otlp-json -o OUT`: one GenAI span per call in OTLP JSON, the
/// file readable by its owner only; without `-o` the same JSON goes to stdout.
#[test]
fn a_scenario_exports_as_otlp_json() {
    let calls = vec![
        hand_call(
            "gpt-4o",
            usage(10, 5, 0),
            1.0,
            2.0,
            &[200],
            None,
            PromptShape::default()
        );
        3
    ];
    let file = tmp("otlp-export");
    write_scenario(&file, &calls);
    let out_path = tmp("otlp-export-out.json");
    let _ = std::fs::remove_file(&out_path);
    let out = aoai()
        .args([
            "replay",
            file.to_str().unwrap(),
            "--export",
            "otlp-json",
            "-o",
        ])
        .arg(&out_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote 3 spans"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    let spans = &v["resourceSpans"][0]["scopeSpans"][0]["spans"];
    assert_eq!(spans.as_array().map(Vec::len), Some(3), "{v}");
    assert!(
        spans[0]["name"].as_str().unwrap().starts_with("chat "),
        "{v}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner only");
    }
    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--export", "otlp-json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["resourceSpans"].is_array());
    // A bad format is a usage error naming the choices.
    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--export", "yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("otlp-json") && err.contains("har") && err.contains("markdown"),
        "{err}"
    );
}

#[test]
fn a_scenario_exports_as_a_markdown_incident_summary() {
    use aoai::domain::call::{CallError, ErrorKind};
    use aoai::domain::ratelimit::ThrottleKind;
    let shape = PromptShape::default();
    let mut calls = vec![
        hand_call(
            "gpt-4o",
            usage(100, 50, 0),
            200.0,
            1000.0,
            &[200],
            None,
            shape,
        ),
        hand_call(
            "gpt-4o",
            usage(0, 0, 0),
            0.0,
            30.0,
            &[429, 429],
            None,
            shape,
        ),
        hand_call(
            "gpt-4o",
            usage(5000, 60, 0),
            900.0,
            9000.0,
            &[200],
            None,
            shape,
        ),
        hand_call(
            "gpt-4o-ptu",
            usage(120, 40, 0),
            250.0,
            1100.0,
            &[200],
            None,
            shape,
        ),
        hand_call(
            "gpt-4o",
            usage(110, 45, 0),
            210.0,
            1200.0,
            &[200],
            None,
            shape,
        ),
    ];
    for (i, c) in calls.iter_mut().enumerate() {
        c.started = format!("2026-11-23T05:00:0{i}.000Z");
        c.request.body.messages = vec![ChatMessage::new("user", "SECRET PROMPT TEXT")];
        c.record.text = "SECRET ANSWER TEXT".into();
        c.record.region = Some("Sweden Central".into());
        c.record.request_id = Some(format!("req-{}", i + 1));
        c.request.endpoint = Some("https://contoso.openai.azure.com".into());
    }
    {
        let r = &mut calls[1].record;
        r.timing.ttft_ms = None;
        r.usage = None;
        r.cost_usd = None;
        for a in &mut r.attempts {
            a.retry_after_ms = Some(2000);
            a.request_id = Some("req-429".into());
            a.error = Some("429: Requests to the ChatCompletions_Create Operation have exceeded call rate limit".into());
        }
        let mut e = CallError::new(
            ErrorKind::Throttled,
            "exceeded token rate limit of your current tier",
        );
        e.status = Some(429);
        e.throttle = Some(ThrottleKind::Tokens);
        r.error = Some(e);
        r.ratelimit.remaining_tokens = Some(0);
        r.ratelimit.remaining_requests = Some(12);
    }
    calls[3].record.ratelimit.spilled_over = true;
    calls[3].record.headers = vec![("x-ms-spillover-from-gpt-4o-ptu".into(), "true".into())];
    let file = tmp("markdown");
    write_scenario(&file, &calls);
    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--export", "markdown"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(!md.contains("SECRET"), "no prompt or answer text:\n{md}");
    for want in [
        "- **Time range:** 2026-11-23T05:00:00Z → 2026-11-23T05:00:11Z (11.0 s)",
        "- **Calls:** 5 — 4 done, 0 failed, 1 throttled, 0 cancelled · 2 HTTP 429s · 1 retry · 1 spillover",
        "`gpt-4o` (4 calls, model gpt-4o-2024-11-20); `gpt-4o-ptu` (1 call",
        "- **Regions:** Sweden Central (5)",
        "- **Endpoints:** contoso.openai.azure.com (5)",
        "| 3 | 2026-11-23T05:00:02.000Z | gpt-4o | 200 | done | 900 ms | 9.00 s | 5000 | 60 |",
        // The first attempt's cause is in its own message, the last one's on the record.
        "| 2 | 1 | gpt-4o | request rate limit (RPM) | 2.00 s | — | `req-429` |",
        "| 2 | 2 | gpt-4o | token rate limit (TPM) | 2.00 s | 0 tokens / 12 requests | `req-429` |",
        "- call 4: `gpt-4o-ptu` spilled over (x-ms-spillover-from-gpt-4o-ptu: true)",
        // Median e2e of the answered calls is 1.1 s (1000, 1100, 1200, 9000).
        "- Slowest answered calls (e2e): call 3 9.00 s, 8.2× the median",
        "- Prompt tokens over 3× the median (110 tokens): call 3 5000 tokens (45.5×)",
        "- TTFT over 3× the median (210 ms): call 3 900 ms (4.3×)",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    // Well-formed Markdown: three tables; the calls table has a row per call.
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut tables = 0;
    let mut rows = Vec::new();
    for ev in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Table(_)) => {
                tables += 1;
                rows.push(0);
            }
            Event::End(TagEnd::TableRow) => *rows.last_mut().unwrap() += 1,
            _ => {}
        }
    }
    assert_eq!(tables, 3, "{md}");
    assert_eq!(rows, vec![5, 2, 5], "{md}");
}

#[test]
fn what_if_prices_the_recording_on_other_models_against_ptus() {
    let shape = PromptShape::default();
    let mut calls = vec![
        hand_call(
            "gpt-4o",
            usage(1000, 200, 0),
            300.0,
            2000.0,
            &[200],
            None,
            shape
        );
        4
    ];
    for (i, c) in calls.iter_mut().enumerate() {
        c.started = format!("2026-11-23T05:0{i}:00.000Z");
    }
    let file = tmp("what-if");
    write_scenario(&file, &calls);
    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--report", "--json"])
        .args(["--what-if", "gpt-4o,gpt-4o-mini,no-such-model"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = &v["what_if"];
    // 4 calls over 3 minutes.
    let rpm = 4.0 / 3.0;
    assert!(
        (w["workload"]["rpm"].as_f64().unwrap() - rpm).abs() < 1e-9,
        "{w}"
    );
    let m = &w["models"][0];
    let per_request = 1000.0 * 2.5e-6 + 200.0 * 10e-6;
    let close = |a: &Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-6 * b.max(1.0);
    assert!(close(&m["recorded_usd"], 4.0 * per_request), "{m}");
    assert!(close(&m["payg_per_request_usd"], per_request), "{m}");
    assert!(
        close(&m["payg_month_usd"], per_request * rpm * 43_800.0),
        "{m}"
    );
    let t = &m["ptu"];
    assert_eq!(t["estimate"]["ptu"], 15, "the global minimum");
    assert!(close(&t["capacity_rpm"], 15.0 * 2500.0 / 1600.0), "{t}");
    assert!(
        close(&t["reserved_month"]["month_usd"], 15.0 * 260.0),
        "{t}"
    );
    assert!(
        close(&t["reserved_year"]["month_usd"], 15.0 * 2652.0 / 12.0),
        "{t}"
    );
    assert!(close(&t["hourly"]["month_usd"], 15.0 * 730.0), "{t}");
    assert!(
        close(
            &t["reserved_month"]["break_even_rpm"],
            3900.0 / (per_request * 43_800.0)
        ),
        "{t}"
    );
    assert!(t["hourly"]["break_even_rpm"].is_null(), "{t}");
    let mini = 1000.0 * 0.15e-6 + 200.0 * 0.60e-6;
    assert!(close(&w["models"][1]["payg_per_request_usd"], mini), "{w}");
    assert!(w["models"][2]["payg_month_usd"].is_null());
    assert!(
        w["models"][2]["ptu_note"]
            .as_str()
            .unwrap()
            .contains("no-such-model")
    );

    let out = aoai()
        .args([
            "replay",
            file.to_str().unwrap(),
            "--report",
            "--what-if",
            "gpt-4o",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("gpt-4o: the recording would cost $0.018000"),
        "{text}"
    );
    assert!(
        text.contains("1-month res. $3900 a month · break-even 19.8 RPM"),
        "{text}"
    );
    // Without --report, --what-if is a usage error.
    let out = aoai()
        .args(["replay", file.to_str().unwrap(), "--what-if", "gpt-4o"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// A new recording holds prompts and answers: it is created readable by its owner only
/// (jump boxes are shared by several operators).
#[cfg(unix)]
#[test]
fn a_new_recording_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let file = tmp("owner-only");
    let _ = std::fs::remove_file(&file);
    let rec = aoai::engine::record::Recorder::open(&file, None).unwrap();
    drop(rec);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}
