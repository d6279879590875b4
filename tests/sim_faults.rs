//! Loopback tests of every `x-sim-fault` kind's bytes.

#[path = "common/sim.rs"]
mod support;

use aoai::sim::SimConfig;
use serde_json::Value;
use support::*;

async fn fault(kind: &str, stream: bool) -> Resp {
    let sim = start(SimConfig::instant()).await;
    post(
        &classic_url(&sim, "gpt-4o"),
        &chat_body(stream, true),
        &[("x-sim-fault", kind), ("x-sim-stall-ms", "300")],
    )
    .await
}

fn is_json(e: &str) -> bool {
    serde_json::from_str::<Value>(e).is_ok()
}

#[tokio::test]
async fn truncate_stops_without_finish_or_done() {
    let r = fault("truncate", true).await;
    assert_eq!(r.status, 200);
    let ev = r.events();
    assert_eq!(ev.len(), 2 + 3, "annotation, role, 3 deltas: {ev:?}");
    assert!(
        ev.iter()
            .all(|e| is_json(e) && !e.contains("finish_reason\":\""))
    );
    assert!(!r.text().contains("[DONE]"));
}

#[tokio::test]
async fn no_done_has_finish_and_usage() {
    let ev = fault("no-done", true).await.events();
    assert!(ev[ev.len() - 2].contains(r#""finish_reason":"stop""#));
    assert!(
        ev[ev.len() - 1].contains(r#""choices":[],"#) && ev[ev.len() - 1].contains(r#""usage":{"#)
    );
    assert!(!ev.iter().any(|e| e == "[DONE]"));
}

#[tokio::test]
async fn error_event_mid_stream() {
    let ev = fault("error-event", true).await.events();
    let last = ev.last().unwrap();
    let v: Value = serde_json::from_str(last).unwrap();
    assert_eq!(v["error"]["code"], "server_error");
    assert!(ev[2].contains("\"delta\":{\"content\""));
    assert!(!ev.iter().any(|e| e == "[DONE]"));
}

#[tokio::test]
async fn malformed_line_then_continues() {
    let ev = fault("malformed", true).await.events();
    let bad: Vec<&String> = ev
        .iter()
        .filter(|e| *e != "[DONE]" && !is_json(e))
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(ev.last().unwrap(), "[DONE]");
}

#[tokio::test]
async fn crlf_line_endings() {
    let r = fault("crlf", true).await;
    let text = r.text();
    assert!(text.ends_with("data: [DONE]\r\n\r\n"));
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
    assert!(
        text.split("\r\n\r\n")
            .filter(|s| !s.is_empty())
            .all(|e| e.starts_with("data: "))
    );
}

#[tokio::test]
async fn comments_and_no_space_after_data() {
    let text = fault("comments", true).await.text();
    assert!(text.starts_with(": keep-alive\n\ndata:{"));
    assert!(text.matches(": keep-alive\n\n").count() >= 2);
    assert!(!text.contains("data: "));
    assert!(text.ends_with("data:[DONE]\n\n"));
}

#[tokio::test]
async fn big_delta_is_a_megabyte() {
    let r = fault("big-delta", true).await;
    let ev = r.events();
    let big = ev
        .iter()
        .find(|e| e.len() > 1_000_000)
        .expect("one huge event");
    let v: Value = serde_json::from_str(big).unwrap();
    assert!(v["choices"][0]["delta"]["content"].as_str().unwrap().len() >= 1_048_576);
    assert_eq!(ev.last().unwrap(), "[DONE]");
}

#[tokio::test]
async fn invalid_utf8_in_one_line() {
    let r = fault("invalid-utf8", true).await;
    assert!(std::str::from_utf8(&r.body).is_err());
    let bad = r
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty() && std::str::from_utf8(l).is_err())
        .count();
    assert_eq!(bad, 1);
    assert!(r.body.ends_with(b"data: [DONE]\n\n"));
}

#[tokio::test]
async fn reset_aborts_the_body() {
    let sim = start(SimConfig::instant()).await;
    let (status, _, body) = post_raw(
        &classic_url(&sim, "gpt-4o"),
        &chat_body(true, false),
        &[("x-sim-fault", "reset")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.is_err(), "body read must fail");
    let (_, _, body) = post_raw(
        &classic_url(&sim, "gpt-4o"),
        &chat_body(false, false),
        &[("x-sim-fault", "reset")],
    )
    .await;
    assert!(body.is_err());
}

#[tokio::test]
async fn stall_after_role_chunk() {
    let sim = start(SimConfig::instant()).await;
    let resp = within(
        client()
            .post(classic_url(&sim, "gpt-4o"))
            .header("api-key", "x")
            .header("x-sim-fault", "stall")
            .header("x-sim-stall-ms", "300")
            .json(&chat_body(true, false))
            .send(),
    )
    .await
    .unwrap();
    let mut resp = resp;
    let first = within(resp.chunk()).await.unwrap().unwrap();
    let first = String::from_utf8(first.to_vec()).unwrap();
    assert!(first.contains(r#""role":"assistant""#));
    assert!(
        !first.contains(r#""delta":{"content":"S"#) && first.matches("data: ").count() == 2,
        "{first}"
    );
    let mut rest = Vec::new();
    while let Some(c) = within(resp.chunk()).await.unwrap() {
        rest.extend_from_slice(&c);
    }
    assert!(
        String::from_utf8(rest)
            .unwrap()
            .ends_with("data: [DONE]\n\n")
    );
    let log = sim.requests();
    assert!(log[0].first_token_at.unwrap() > log[0].received_at);
}

#[tokio::test]
async fn slow_headers_still_answers() {
    let r = fault("slow-headers", false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["object"], "chat.completion");
}

#[tokio::test]
async fn http_level_faults() {
    let r = fault("500", true).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["error"]["code"], "InternalServerError");
    assert!(r.headers.contains_key("apim-request-id"));
    let r = fault("503", false).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"]["code"], "ServiceUnavailable");
    let r = fault("html-502", true).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.header("content-type"), "text/html");
    assert!(r.text().contains("<h1>502 Bad Gateway</h1>"));
    let r = fault("explode", true).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["param"], "x-sim-fault");
}

#[tokio::test]
async fn non_stream_body_faults() {
    let r = fault("truncate", false).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    let r = fault("invalid-utf8", false).await;
    assert!(std::str::from_utf8(&r.body).is_err());
}

#[tokio::test]
async fn configured_probabilities_apply() {
    let mut cfg = SimConfig::instant();
    cfg.deployments[0].faults.insert("503".into(), 1.0);
    let sim = start(cfg).await;
    for _ in 0..3 {
        let r = post(&classic_url(&sim, "gpt-4o"), &chat_body(false, false), &[]).await;
        assert_eq!(r.status, 503);
    }
    // The header overrides the configured draw.
    let r = post(
        &classic_url(&sim, "gpt-4o"),
        &chat_body(false, false),
        &[("x-sim-fault", "500")],
    )
    .await;
    assert_eq!(r.status, 500);
}
