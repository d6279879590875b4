//! `aoai chat` as a user runs it: against an in-process simulator the test starts, and with
//! no endpoint at all (the embedded simulator).

mod common;

use common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn json_output_has_every_field() {
    let sim = sim().await;
    let base = sim.base_url();
    let out = tokio::task::spawn_blocking(move || {
        aoai()
            .args([
                "chat",
                "--endpoint",
                &base,
                "--api-key",
                "k",
                "-d",
                "gpt-4o",
                "--seed",
                "3",
                "--json",
                "hello",
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
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "exactly one JSON line: {stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    for key in [
        "deployment",
        "status",
        "finish_reason",
        "text",
        "timing",
        "usage",
        "ratelimit",
        "request_id",
        "region",
        "cost_usd",
        "attempts",
        "error",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    for key in ["ttfb_ms", "ttft_ms", "e2e_ms", "tokens_per_s"] {
        assert!(v["timing"].get(key).is_some(), "timing.{key}");
    }
    for key in [
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "total_tokens",
    ] {
        assert!(v["usage"][key].is_u64(), "usage.{key}");
    }
    for key in [
        "remaining_requests",
        "remaining_tokens",
        "limit_requests",
        "limit_tokens",
        "retry_after_ms",
    ] {
        assert!(v["ratelimit"].get(key).is_some(), "ratelimit.{key}");
    }
    assert_eq!(v["status"], 200);
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["attempts"][0]["status"], 200);
    assert!(
        !stdout.contains("\"k\""),
        "the API key never reaches the output"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_exit_non_zero_with_the_error_in_json() {
    let sim = sim().await;
    let base = sim.base_url();
    let out = tokio::task::spawn_blocking(move || {
        aoai()
            .args([
                "chat",
                "--endpoint",
                &base,
                "--api-key",
                "k",
                "-d",
                "nope",
                "--json",
                "hi",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "DeploymentNotFound");
    assert_eq!(v["status"], 404);
}

#[test]
fn text_mode_streams_the_answer_then_figures_on_the_embedded_simulator() {
    let out = aoai()
        .args(["chat", "--max-tokens", "20", "hello there"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.trim().is_empty());
    assert!(
        stderr.contains("gpt-4o") && stderr.contains("simulator"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ttft") && stderr.contains("tokens prompt"),
        "{stderr}"
    );
}

#[test]
fn bad_flags_are_clear() {
    let out = aoai()
        .args(["chat", "--retry", "sometimes", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none, honor"));
    let out = aoai()
        .args([
            "chat",
            "--endpoint",
            "not a url",
            "--api-key",
            "k",
            "-d",
            "x",
            "hi",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a URL"));
    let out = aoai()
        .args([
            "chat",
            "--endpoint",
            "https://x.openai.azure.com",
            "-d",
            "x",
            "hi",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("AZURE_OPENAI_API_KEY"));
}
