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
    // The 2026 headers (issue 13), added beside the old keys.
    assert!(v["ratelimit"]["reset_requests_s"].is_number(), "{v}");
    assert!(v["ratelimit"]["reset_tokens_s"].is_number(), "{v}");
    assert_eq!(v["ratelimit"]["spilled_over"], false);
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
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("no deployment named `nope` on this resource ("),
        "{msg}"
    );
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

/// `aoai chat` against `base` with the flags given; the output.
async fn chat(base: &str, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = ["chat", "--endpoint", base, "--api-key", "k"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    bounded(tokio::task::spawn_blocking(move || {
        aoai().args(&args).output().unwrap()
    }))
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_range_parameters_are_refused_before_sending() {
    let sim = sim().await;
    for (flag, value, says) in [
        (
            "--temperature",
            "5",
            "temperature 5 is out of range (allowed: 0..=2)",
        ),
        (
            "--temperature",
            "-1",
            "temperature -1 is out of range (allowed: 0..=2)",
        ),
        (
            "--top-p",
            "1.5",
            "top_p 1.5 is out of range (allowed: 0..=1)",
        ),
        (
            "--max-tokens",
            "0",
            "max_tokens 0 is out of range (allowed: >= 1)",
        ),
        (
            "--presence-penalty",
            "3",
            "presence_penalty 3 is out of range (allowed: -2..=2)",
        ),
        (
            "--frequency-penalty",
            "-2.5",
            "frequency_penalty -2.5 is out of range (allowed: -2..=2)",
        ),
        ("--temperature", "warm", "is not a number (allowed: 0..=2)"),
    ] {
        let out = chat(&sim.base_url(), &["-d", "gpt-4o", flag, value, "hi"]).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(says), "{flag} {value}: {err}");
        assert!(out.stdout.is_empty());
    }
    assert!(sim.requests().is_empty(), "nothing was sent");
    // The edges are allowed.
    let out = chat(
        &sim.base_url(),
        &[
            "-d",
            "gpt-4o",
            "--temperature",
            "2",
            "--top-p",
            "0",
            "--presence-penalty",
            "-2",
            "--max-tokens",
            "1",
            "--json",
            "hi",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn max_tokens_is_sent_as_max_completion_tokens_unless_told() {
    // The simulator, like Azure, refuses `max_tokens` on a reasoning model.
    let sim = sim().await;
    let out = chat(
        &sim.base_url(),
        &["-d", "o4-mini", "--max-tokens", "50", "--json", "hi"],
    )
    .await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    let out = chat(
        &sim.base_url(),
        &[
            "-d",
            "o4-mini",
            "--max-tokens",
            "50",
            "--max-tokens-field",
            "max_tokens",
            "--json",
            "hi",
        ],
    )
    .await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'max_tokens'"),
        "{v}"
    );
    // The old spelling still works, as the same flag.
    let out = chat(
        &sim.base_url(),
        &[
            "-d",
            "o4-mini",
            "--max-completion-tokens",
            "50",
            "--json",
            "hi",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let help = aoai().args(["chat", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("max_completion_tokens") && help.contains("--max-tokens-field"),
        "{help}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_on_key_auth_gives_key_advice_not_az_login() {
    let sim = sim_with(|c| c.api_keys = vec!["right".into()]).await;
    let v1 = format!("{}/openai/v1", sim.base_url());
    for (base, extra) in [
        (sim.base_url(), vec![]),
        (v1.clone(), vec!["--api", "openai"]),
        (sim.base_url(), vec!["--api", "v1"]),
    ] {
        let mut a = vec!["-d", "gpt-4o"];
        a.extend(extra.iter());
        a.push("hi");
        let out = chat(&base, &a).await;
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("az login"), "{extra:?}: {err}");
        assert!(err.contains("key"), "{extra:?}: {err}");
        assert!(!err.contains("wrong-key-value"), "secrets never printed");
    }
}

/// A slow stream (20 tokens/s, 400 tokens): SIGINT arrives mid-answer.
async fn slow_sim() -> aoai::sim::SimHandle {
    sim_with(|c| {
        for d in &mut c.deployments {
            d.latency.tokens_per_s = 20.0;
            d.answer_tokens = [400, 400];
        }
    })
    .await
}

fn sigint(pid: u32) {
    // SAFETY: plain kill(2) on our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGINT);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_keeps_what_arrived_and_exits_130() {
    use std::io::Read;
    let sim = slow_sim().await;
    let dir = std::env::temp_dir().join(format!("aoai-chat-sigint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("s.jsonl");
    let base = sim.base_url();
    let f = file.clone();
    let (stdout, stderr, code) = bounded(tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("aoai"))
            .args([
                "chat",
                "--endpoint",
                &base,
                "--api-key",
                "k",
                "-d",
                "gpt-4o",
            ])
            .args(["--record", f.to_str().unwrap(), "tell me a long story"])
            .env_remove("AZURE_OPENAI_ENDPOINT")
            .env_remove("AOAI_CONFIG")
            .env_remove("AOAI_PROFILE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        // Some of the answer has arrived: then Ctrl+C.
        let mut first = vec![0u8; 16];
        out.read_exact(&mut first).unwrap();
        sigint(child.id());
        let mut rest = Vec::new();
        out.read_to_end(&mut rest).unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        first.extend(rest);
        (
            String::from_utf8_lossy(&first).to_string(),
            err,
            status.code(),
        )
    }))
    .await
    .unwrap();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stdout.len() >= 16, "what arrived is printed: {stdout}");
    assert!(
        stderr.contains("· 200 · cancelled"),
        "figures kept: {stderr}"
    );
    assert!(
        stderr.contains("ttfb") && !stderr.contains("ttfb —"),
        "{stderr}"
    );
    // The recorded line keeps status, text and events.
    let loaded = aoai::engine::record::load(&file).unwrap();
    let call = &loaded.calls[0];
    assert_eq!(call.record.status, Some(200));
    assert!(!call.record.text.is_empty());
    assert!(
        stdout.starts_with(call.record.text.trim_end())
            || call.record.text.starts_with(stdout.trim_end())
    );
    assert!(!call.record.events.is_empty(), "events kept");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_with_json_prints_the_record_with_outcome_cancelled() {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let sim = slow_sim().await;
    let base = sim.base_url();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("aoai"))
        .args([
            "chat",
            "--endpoint",
            &base,
            "--api-key",
            "k",
            "-d",
            "gpt-4o",
            "--json",
            "a long story",
        ])
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env_remove("AOAI_CONFIG")
        .env_remove("AOAI_PROFILE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until the simulator has been streaming for half a second (~10 tokens at
    // 20 tok/s, of a 20 s answer): the child has read the status line by then even on a
    // loaded machine (right after the first token it sometimes had not, and `status` was
    // rightly null).
    let deadline = Instant::now() + LIMIT;
    while !sim.requests().iter().any(|r| {
        r.first_token_at
            .is_some_and(|t| t.elapsed() >= Duration::from_millis(500))
    }) {
        assert!(Instant::now() < deadline, "the stream never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sigint(child.id());
    let out = bounded(tokio::task::spawn_blocking(move || {
        let mut s = String::new();
        child.stdout.take().unwrap().read_to_string(&mut s).unwrap();
        (s, child.wait().unwrap())
    }))
    .await
    .unwrap();
    let (stdout, status) = out;
    assert_eq!(status.code(), Some(130), "{stdout}");
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["outcome"], "cancelled", "{v}");
    assert_eq!(v["status"], 200, "{v}");
    assert!(v["timing"]["ttfb_ms"].is_number(), "{v}");
    assert!(!v["headers"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["error"]["kind"], "cancelled", "{v}");
}

/// `aoai --version` names the commit; completions are valid bash (checked by bash itself);
/// the man page is roff that man renders.
#[test]
fn version_completions_and_man_page() {
    let out = aoai().arg("--version").output().unwrap();
    let version = String::from_utf8(out.stdout).unwrap();
    assert!(
        version.starts_with(&format!("aoai {} (", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(h) = head.ok().filter(|h| h.status.success()) {
        let commit = String::from_utf8_lossy(&h.stdout).trim().to_string();
        assert!(version.contains(&commit), "{version} names {commit}");
    }

    let out = aoai().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(
        script.contains("_aoai()") && script.contains("replay") && script.contains("--what-if")
    );
    let dir = std::env::temp_dir().join(format!("aoai-completions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("aoai.bash");
    std::fs::write(&file, &script).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for shell in ["zsh", "fish", "powershell"] {
        let out = aoai().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
    let out = aoai().args(["completions", "tcsh"]).output().unwrap();
    assert!(!out.status.success(), "an unknown shell is a usage error");

    let out = aoai().arg("man").output().unwrap();
    assert!(out.status.success());
    let roff = String::from_utf8(out.stdout).unwrap();
    assert!(
        roff.contains(".TH aoai 1") && roff.contains("completions"),
        "{roff}"
    );
}
