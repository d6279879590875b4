//! The data-plane client against the in-process simulator over loopback HTTP: both paths,
//! stream and non-stream, usage, every error shape, retry policies, faults and timeouts.

mod common;

use std::time::Duration;

use aoai::azure::{Auth, Secret};
use aoai::domain::call::{ApiPath, CallEvent, ErrorKind, Outcome};
use aoai::domain::cost::PriceTable;
use aoai::domain::ratelimit::ThrottleKind;
use aoai::domain::retry::RetryPolicy;
use aoai::sim::SimConfig;
use aoai::wire::{ChatMessage, ChatRequest};
use common::*;
use pretty_assertions::assert_eq;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn stream_classic_measures_the_call() {
    let sim = sim().await;
    let c = client(&sim);
    let spec = ask("gpt-4o", "Explain rate limits in one paragraph.");
    let (rec, events) = run(&c, &spec).await;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    assert_eq!(rec.status, Some(200));
    assert!(!rec.text.is_empty());
    assert!(matches!(
        rec.finish_reason.as_deref(),
        Some("stop" | "length")
    ));
    let usage = rec.usage.expect("usage chunk requested with include_usage");
    assert_eq!(
        usage.prompt_tokens as usize,
        aoai::tokens::count_messages(&spec.request.messages)
    );
    assert_eq!(
        usage.completion_tokens as usize,
        aoai::tokens::count(&rec.text),
        "completion tokens = tokenizer count of the text"
    );
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    assert!(
        rec.model.as_deref().unwrap().starts_with("gpt-4o-"),
        "model is the model version"
    );
    assert_eq!(rec.region.as_deref(), Some("Sweden Central"));
    let t = rec.timing;
    let (ttfb, ttft, e2e) = (t.ttfb_ms.unwrap(), t.ttft_ms.unwrap(), t.e2e_ms.unwrap());
    assert!(ttfb <= ttft && ttft <= e2e, "{ttfb} <= {ttft} <= {e2e}");
    assert_eq!(rec.call_ms, Some(e2e), "one attempt: the call is its e2e");
    assert!(rec.ratelimit.remaining_requests.is_some() && rec.ratelimit.limit_tokens.is_some());
    // Request id matches what the simulator logged.
    let rid = rec.request_id.clone().unwrap();
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.request_id == rid && r.stream)
    );
    // Cost from the price table, cached tokens priced as cached.
    let expect = PriceTable::builtin()
        .cost_usd(rec.model.as_deref().unwrap(), None, &usage)
        .unwrap();
    assert_eq!(rec.cost_usd, Some(expect));
    // Events: attempt, headers, first token, deltas that add up to the text.
    assert!(matches!(
        events[0],
        CallEvent::AttemptStarted { attempt: 1, .. }
    ));
    assert!(matches!(events[1], CallEvent::Headers { status: 200, .. }));
    assert!(matches!(events[2], CallEvent::FirstToken { .. }));
    let streamed: String = events
        .iter()
        .filter_map(|e| {
            if let CallEvent::Delta(d) = e {
                Some(d.as_str())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(streamed, rec.text);
    assert_eq!(rec.attempts.len(), 1);
    assert!(rec.notes.is_empty(), "{:?}", rec.notes);
}

#[tokio::test]
async fn sequential_streamed_calls_reuse_one_connection() {
    // The client reads each body to its end after `[DONE]`, so the connection goes back to
    // the pool: 20 calls, one after another, one TCP connection.
    let sim = sim().await;
    let client = client(&sim);
    for i in 0..20 {
        let (rec, _) = run(&client, &ask("gpt-4o", &format!("call {i}"))).await;
        assert!(rec.error.is_none(), "{:?}", rec.error);
    }
    assert_eq!(sim.connections(), 1);
}

#[tokio::test]
async fn v1_path_stream_and_non_stream() {
    let sim = sim().await;
    let c = client_for(&sim, ApiPath::V1, Auth::Bearer(Secret::new("entra-token")));
    let (rec, _) = run(&c, &ask("gpt-4o", "hello")).await;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    assert_eq!(rec.api, ApiPath::V1);
    let mut spec = ask("gpt-4o", "hello");
    spec.stream = false;
    let (rec2, _) = run(&c, &spec).await;
    assert_eq!(rec2.outcome, Outcome::Done, "{:?}", rec2.error);
    assert!(!rec2.stream);
    assert_eq!(rec2.text, rec.text, "same seed, same text, stream or not");
    assert_eq!(
        rec2.usage.unwrap().completion_tokens,
        rec.usage.unwrap().completion_tokens
    );
    let paths: Vec<String> = sim.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths.iter().all(|p| p == "/openai/v1/chat/completions"),
        "{paths:?}"
    );
}

#[tokio::test]
async fn seeded_text_is_deterministic() {
    let sim = sim().await;
    let c = client(&sim);
    let (a, _) = run(&c, &ask("gpt-4o", "same")).await;
    let (b, _) = run(&c, &ask("gpt-4o", "same")).await;
    assert_eq!(a.text, b.text);
}

#[tokio::test]
async fn long_prompt_repeated_reports_cached_tokens() {
    let sim = sim().await;
    let c = client(&sim);
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(200);
    let (first, _) = run(&c, &ask("gpt-4o", &long)).await;
    let (second, _) = run(&c, &ask("gpt-4o", &long)).await;
    assert_eq!(first.usage.unwrap().cached_tokens, 0);
    let u = second.usage.unwrap();
    assert!(u.prompt_tokens >= 1024);
    assert!(
        u.cached_tokens >= 1024 && u.cached_tokens % 128 == 0 && u.cached_tokens <= u.prompt_tokens,
        "{u:?}"
    );
    assert!(
        second.cost_usd.unwrap() < first.cost_usd.unwrap() + 1e-12
            || second.usage.unwrap().completion_tokens != first.usage.unwrap().completion_tokens
    );
}

#[tokio::test]
async fn reasoning_model_tokens_and_rejections() {
    let sim = sim().await;
    let c = client(&sim);
    let mut spec = ask("o4-mini", "Think about it.");
    spec.request.max_tokens = None;
    spec.request.max_completion_tokens = Some(2000);
    let (rec, _) = run(&c, &spec).await;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    let u = rec.usage.unwrap();
    assert!(
        u.reasoning_tokens > 0 && u.reasoning_tokens < u.completion_tokens,
        "{u:?}"
    );

    let (bad, _) = run(&c, &ask("o4-mini", "x")).await; // max_tokens set
    let e = bad.error.unwrap();
    assert_eq!(
        (bad.status, e.code.as_deref()),
        (Some(400), Some("unsupported_parameter"))
    );
    assert!(e.message.contains("max_completion_tokens"), "{}", e.message);

    spec.request.temperature = Some(0.2);
    let (bad, _) = run(&c, &spec).await;
    assert_eq!(
        bad.error.unwrap().code.as_deref(),
        Some("unsupported_value")
    );
}

#[tokio::test]
async fn service_errors_come_back_with_code_and_message() {
    let sim = sim().await;
    let c = client(&sim);
    let (rec, _) = run(&c, &ask("no-such-deployment", "hi")).await;
    assert_eq!(rec.outcome, Outcome::Failed);
    let e = rec.error.unwrap();
    assert_eq!(
        (rec.status, e.code.as_deref(), e.kind),
        (Some(404), Some("DeploymentNotFound"), ErrorKind::Http)
    );

    let anon = client_for(&sim, ApiPath::Classic, Auth::None);
    let (rec, _) = run(&anon, &ask("gpt-4o", "hi")).await;
    assert_eq!(rec.status, Some(401));
    assert!(
        rec.error
            .unwrap()
            .message
            .contains("invalid subscription key")
    );

    let huge = "word ".repeat(130_000);
    let (rec, _) = run(&c, &ask("gpt-4o", &huge)).await;
    let e = rec.error.unwrap();
    assert_eq!(
        (rec.status, e.code.as_deref()),
        (Some(400), Some("context_length_exceeded"))
    );

    let phrase = SimConfig::instant().jailbreak_phrases[0].clone();
    let (rec, _) = run(
        &c,
        &ask("gpt-4o", &format!("Please {phrase} and tell me secrets")),
    )
    .await;
    let e = rec.error.unwrap();
    assert_eq!(
        (rec.status, e.code.as_deref()),
        (Some(400), Some("content_filter"))
    );

    let phrase = SimConfig::instant().output_filter_phrases[0].clone();
    let (rec, _) = run(&c, &ask("gpt-4o", &format!("Write about {phrase}"))).await;
    assert_eq!(rec.outcome, Outcome::Done);
    assert_eq!(rec.finish_reason.as_deref(), Some("content_filter"));
}

#[tokio::test]
async fn configured_key_is_enforced() {
    let sim = sim_with(|c| c.api_keys = vec!["right".into()]).await;
    let (rec, _) = run(
        &client_for(&sim, ApiPath::Classic, Auth::ApiKey(Secret::new("wrong"))),
        &ask("gpt-4o", "hi"),
    )
    .await;
    assert_eq!(rec.status, Some(401));
    // A refused key gets key advice, never `az login` — also as a bearer key (`--api openai`).
    for auth in [
        Auth::ApiKey(Secret::new("k-3f9a7")),
        Auth::Bearer(Secret::new("sk-3f9a7")),
    ] {
        for api in [ApiPath::Classic, ApiPath::V1] {
            let (rec, _) = run(&client_for(&sim, api, auth.clone()), &ask("gpt-4o", "hi")).await;
            let msg = rec.error.map(|e| e.message).unwrap_or_default();
            assert!(
                msg.contains("key was refused") && !msg.contains("az login"),
                "{api:?}: {msg}"
            );
            assert!(!msg.contains("3f9a7"), "the key is never shown: {msg}");
        }
    }
    let (rec, _) = run(
        &client_for(&sim, ApiPath::Classic, Auth::ApiKey(Secret::new("right"))),
        &ask("gpt-4o", "hi"),
    )
    .await;
    assert_eq!(rec.status, Some(200));
}

/// Each injected fault ends the call the way a person would want to read it.
#[tokio::test]
async fn faults_become_clear_errors_or_tolerated_quirks() {
    let sim = sim().await;
    let c = client(&sim);
    let cases: &[(&str, Outcome, Option<ErrorKind>)] = &[
        ("500", Outcome::Failed, Some(ErrorKind::Http)),
        ("503", Outcome::Failed, Some(ErrorKind::Http)),
        ("html-502", Outcome::Failed, Some(ErrorKind::Http)),
        ("truncate", Outcome::Failed, Some(ErrorKind::Truncated)),
        ("error-event", Outcome::Failed, Some(ErrorKind::StreamError)),
        ("malformed", Outcome::Failed, Some(ErrorKind::MalformedSse)),
        (
            "invalid-utf8",
            Outcome::Failed,
            Some(ErrorKind::MalformedSse),
        ),
        ("reset", Outcome::Failed, Some(ErrorKind::Connect)),
        ("no-done", Outcome::Done, None),
        ("crlf", Outcome::Done, None),
        ("comments", Outcome::Done, None),
        ("big-delta", Outcome::Done, None),
    ];
    for (fault, outcome, kind) in cases {
        let (rec, _) = run(&c, &with_fault(ask("gpt-4o", "hi"), fault)).await;
        assert_eq!(rec.outcome, *outcome, "fault {fault}: {:?}", rec.error);
        assert_eq!(
            rec.error.as_ref().map(|e| e.kind.clone()),
            kind.clone(),
            "fault {fault}: {:?}",
            rec.error
        );
        match *fault {
            "html-502" => assert!(
                rec.error.unwrap().message.contains("HTML"),
                "HTML body summarised"
            ),
            "truncate" => assert!(!rec.text.is_empty(), "text received before the cut is kept"),
            "no-done" => assert!(
                rec.notes.iter().any(|n| n.contains("[DONE]")),
                "{:?}",
                rec.notes
            ),
            "big-delta" => assert!(
                rec.text.len() >= 1_000_000,
                "1 MB delta kept: {}",
                rec.text.len()
            ),
            "crlf" | "comments" => assert!(!rec.text.is_empty() && rec.usage.is_some()),
            _ => {}
        }
    }
}

#[tokio::test]
async fn retry_none_reports_the_429() {
    let sim = sim().await;
    let (rec, _) = run(&client(&sim), &with_fault(ask("gpt-4o", "hi"), "429")).await;
    assert_eq!(rec.outcome, Outcome::Throttled);
    let e = rec.error.unwrap();
    assert_eq!((e.kind, rec.status), (ErrorKind::Throttled, Some(429)));
    assert!(rec.ratelimit.retry_after_ms.is_some());
    assert_eq!(rec.attempts.len(), 1);
}

#[tokio::test]
async fn retry_honor_waits_as_asked_then_gives_up() {
    let sim = sim_with(|c| {
        c.deployments
            .iter_mut()
            .for_each(|d| d.fault_retry_after_ms = 40)
    })
    .await;
    let mut spec = with_fault(ask("gpt-4o", "hi"), "429");
    spec.retry = RetryPolicy::Honor {
        max_attempts: 3,
        max_wait_ms: 5_000,
    };
    let (rec, events) = run(&client(&sim), &spec).await;
    assert_eq!(rec.outcome, Outcome::Throttled);
    let waits: Vec<u64> = rec.attempts.iter().map(|a| a.waited_ms).collect();
    assert_eq!(waits, vec![40, 40, 0]);
    // The whole call spans the waits; e2e is the last attempt alone.
    let (call, e2e) = (rec.call_ms.unwrap(), rec.timing.e2e_ms.unwrap());
    assert!(call >= 80.0 && call > e2e, "call {call} ms, e2e {e2e} ms");
    assert!(
        rec.attempts
            .iter()
            .all(|a| a.status == Some(429) && a.retry_after_ms == Some(40))
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, CallEvent::Retrying { .. }))
            .count(),
        2
    );
}

#[tokio::test]
async fn gpt_4o_mini_throttles_within_a_minute_and_failover_rescues() {
    let sim = sim().await;
    let c = client(&sim);
    let mut throttled = None;
    for _ in 0..20 {
        let (rec, _) = run(&c, &ask("gpt-4o-mini", "hi")).await;
        if rec.outcome == Outcome::Throttled {
            throttled = Some(rec);
            break;
        }
    }
    let rec = throttled.expect("gpt-4o-mini (12 RPM) throttles within 20 quick calls");
    let e = rec.error.unwrap();
    assert!(
        matches!(
            e.throttle,
            Some(ThrottleKind::Requests | ThrottleKind::Tokens)
        ),
        "{e:?}"
    );
    let ra = rec.ratelimit.retry_after_ms.unwrap();
    assert!(ra > 0 && ra <= 60_000, "{ra}");
    assert!(
        e.message
            .contains(&format!("retry after {} second", ra.div_ceil(1000))),
        "message agrees with the header: {} vs {ra}",
        e.message
    );

    let mut spec = ask("gpt-4o-mini", "hi");
    spec.retry = "failover:gpt-4o".parse().unwrap();
    let (rec, _) = run(&c, &spec).await;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    assert_eq!(rec.deployment, "gpt-4o");
    let tried: Vec<(&str, Option<u16>)> = rec
        .attempts
        .iter()
        .map(|a| (a.deployment.as_str(), a.status))
        .collect();
    assert_eq!(
        tried,
        vec![("gpt-4o-mini", Some(429)), ("gpt-4o", Some(200))]
    );
}

#[tokio::test]
async fn timeouts_and_dead_endpoints_end_the_call() {
    let sim = sim().await;
    let mut cfg = client(&sim).config().clone();
    cfg.timeouts.idle = Duration::from_millis(300);
    cfg.timeouts.first_byte = Duration::from_millis(300);
    let c = aoai::azure::ChatClient::new(cfg).unwrap();
    let mut stall = with_fault(ask("gpt-4o", "hi"), "stall");
    stall
        .extra_headers
        .push(("x-sim-stall-ms".into(), "5000".into()));
    let (rec, _) = run(&c, &stall).await;
    assert_eq!(
        rec.error.as_ref().map(|e| e.kind.clone()),
        Some(ErrorKind::Timeout),
        "{:?}",
        rec.error
    );
    assert!(rec.error.unwrap().message.contains("idle"));
    let mut slow = with_fault(ask("gpt-4o", "hi"), "slow-headers");
    slow.extra_headers
        .push(("x-sim-stall-ms".into(), "5000".into()));
    let (rec, _) = run(&c, &slow).await;
    assert_eq!(
        rec.error.as_ref().map(|e| e.kind.clone()),
        Some(ErrorKind::Timeout)
    );
    assert!(rec.error.unwrap().message.contains("first-byte"));

    // A port nobody listens on.
    let port = {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let mut cfg = client(&sim).config().clone();
    cfg.endpoint = aoai::azure::Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let dead = aoai::azure::ChatClient::new(cfg).unwrap();
    let (rec, _) = run(&dead, &ask("gpt-4o", "hi")).await;
    assert_eq!((rec.outcome, rec.status), (Outcome::Failed, None));
    assert_eq!(rec.error.unwrap().kind, ErrorKind::Connect);
}

#[tokio::test]
async fn cancel_mid_stream_keeps_the_partial_answer() {
    let sim = sim().await;
    let c = client(&sim);
    let mut spec = with_fault(ask("gpt-4o", "hi"), "stall");
    spec.extra_headers
        .push(("x-sim-stall-ms".into(), "10000".into()));
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let rec = bounded(c.run(7, &spec, &cancel, &mut |e| {
        if matches!(e, CallEvent::Headers { .. }) {
            trigger.cancel();
        }
    }))
    .await;
    assert_eq!(rec.outcome, Outcome::Cancelled);
    assert_eq!(rec.error.unwrap().kind, ErrorKind::Cancelled);
    assert_eq!(rec.id, 7);
    // What arrived before the cancel is kept: the response, its headers and the TTFB.
    assert_eq!(rec.status, Some(200));
    assert!(rec.request_id.is_some() && !rec.headers.is_empty());
    assert!(rec.timing.ttfb_ms.is_some() && rec.timing.e2e_ms.is_some());
}

#[tokio::test]
async fn cancel_after_some_deltas_keeps_text_timings_and_events() {
    let sim = sim_with(|c| {
        for d in c.deployments.iter_mut() {
            d.latency.tokens_per_s = 200.0;
            d.answer_tokens = [400, 400];
        }
    })
    .await;
    let c = client(&sim);
    let mut spec = ask("gpt-4o", "Write a long essay about rate limits.");
    spec.request.max_tokens = Some(2000);
    spec.capture_events = true;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let mut deltas = 0;
    let mut seen = String::new();
    let rec = bounded(c.run(8, &spec, &cancel, &mut |e| {
        if let CallEvent::Delta(d) = e {
            seen.push_str(&d);
            deltas += 1;
            if deltas == 5 {
                trigger.cancel();
            }
        }
    }))
    .await;
    assert_eq!(rec.outcome, Outcome::Cancelled, "{:?}", rec.error);
    assert_eq!(rec.status, Some(200));
    assert!(!rec.text.is_empty());
    assert_eq!(
        rec.text, seen,
        "the record keeps exactly the text that was shown"
    );
    assert!(rec.finish_reason.is_none());
    let t = rec.timing;
    assert!(
        t.ttfb_ms.is_some() && t.ttft_ms.is_some() && t.e2e_ms.is_some(),
        "{t:?}"
    );
    assert!(t.ttft_ms <= t.e2e_ms);
    // The events that arrived are kept (docs/scenarios.md: every event is recorded).
    assert!(rec.events.len() >= 5, "{} events", rec.events.len());
    assert!(!rec.headers.is_empty() && rec.request_id.is_some());
    assert_eq!(rec.attempts.len(), 1);
    assert_eq!(rec.attempts[0].status, Some(200));
}

#[tokio::test]
async fn multi_turn_history_is_billed_as_prompt() {
    let sim = sim().await;
    let c = client(&sim);
    let mut req = ChatRequest {
        seed: Some(1),
        max_tokens: Some(30),
        ..Default::default()
    };
    req.messages = vec![
        ChatMessage::new("system", "You are terse."),
        ChatMessage::new("user", "one"),
        ChatMessage::new("assistant", "two"),
        ChatMessage::new("user", "three"),
    ];
    let spec = aoai::azure::CallSpec::new("gpt-4o", req.clone());
    let (rec, _) = run(&c, &spec).await;
    assert_eq!(
        rec.usage.unwrap().prompt_tokens as usize,
        aoai::tokens::count_messages(&req.messages)
    );
    assert!(rec.usage.unwrap().completion_tokens <= 30);
}
