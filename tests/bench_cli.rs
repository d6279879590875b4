//! `aoai bench` and `aoai ptu` as a user runs them, against an in-process simulator the test
//! starts (instant latency). Counts and fields only; every wait bounded.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::*;
use serde_json::Value;

async fn bench(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || aoai().arg("bench").args(args).output().unwrap())
        .await
        .unwrap()
}

fn args(base: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["--endpoint", base, "--api-key", "k", "--output", "jsonl"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_reports_have_every_field_and_the_counts_add_up() {
    let sim = sim().await;
    let out = bench(args(
        &sim.base_url(),
        &[
            "-d",
            "gpt-4o",
            "--rate",
            "600",
            "--duration",
            "2s",
            "--report-every",
            "500ms",
            "--shape",
            "custom",
            "--context-tokens",
            "100",
            "--max-tokens",
            "20",
        ],
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports = lines(&out);
    assert!(reports.len() >= 2, "interval reports and a final one");
    let fin = reports.last().unwrap();
    for r in &reports {
        for key in [
            "kind",
            "elapsed_s",
            "span_s",
            "started",
            "completed",
            "failed",
            "throttled",
            "dropped",
            "late_starts",
            "in_flight",
            "rpm",
            "input_tpm",
            "output_tpm",
            "ttft_ms",
            "tbt_ms",
            "e2e_ms",
            "tokens_per_s",
            "http_429",
            "rate_429",
            "retry_after_ms_max",
            "utilization_pct",
            "model",
        ] {
            assert!(r.get(key).is_some(), "missing {key} in {r}");
        }
        for key in ["p50", "p90", "p95", "p99", "max", "count"] {
            assert!(r["ttft_ms"].get(key).is_some(), "ttft_ms.{key}");
        }
    }
    assert_eq!(fin["kind"], "final");
    assert!(
        reports[..reports.len() - 1]
            .iter()
            .all(|r| r["kind"] == "interval")
    );
    // 600 RPM for 2 s: slots at 0, 100, …, 1900 ms = 20 requests, all answered.
    assert_eq!(fin["started"], 20);
    assert_eq!(fin["completed"], 20);
    assert_eq!(fin["failed"], 0);
    assert_eq!(fin["ttft_ms"]["count"], 20);
    assert_eq!(fin["avg_prompt_tokens"], 100.0);
    assert_eq!(fin["model"], "gpt-4o-2024-11-20");
    let ptu = &fin["ptu"];
    assert_eq!(ptu["model"], "gpt-4o");
    assert_eq!(ptu["rpm"], 600.0);
    // 600 RPM × (100 in, 20 out): 60,000 + 3 × 12,000 = 96,000 ÷ 2,500 = 38.4 → 40 PTU.
    assert_eq!(ptu["weighted_tpm"], 96000.0);
    assert_eq!(ptu["ptu"], 40, "{ptu}");
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_visible_on_gpt4o_mini() {
    let sim = sim().await;
    let out = bench(args(
        &sim.base_url(),
        &[
            "-d",
            "gpt-4o-mini",
            "--rate",
            "1200",
            "--duration",
            "1s",
            "--shape",
            "custom",
            "--context-tokens",
            "50",
            "--max-tokens",
            "10",
        ],
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fin = lines(&out).pop().unwrap();
    assert_eq!(fin["started"], 20);
    let throttled = fin["throttled"].as_u64().unwrap();
    assert!(throttled > 0, "{fin}");
    assert_eq!(fin["http_429"].as_u64().unwrap(), throttled);
    assert!(fin["retry_after_ms_max"].as_u64().unwrap() > 0);
    assert!(fin["rate_429"].as_f64().unwrap() > 0.0);
    assert_eq!(fin["errors"]["throttled"].as_u64().unwrap(), throttled);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_output_and_default_simulator() {
    // No endpoint at all: the embedded simulator (realistic latency) — one short closed loop.
    let out = tokio::task::spawn_blocking(|| {
        aoai()
            .args([
                "bench",
                "--clients",
                "2",
                "--duration",
                "1s",
                "--shape",
                "custom",
                "--context-tokens",
                "40",
                "--max-tokens",
                "5",
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
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("== final after"), "{text}");
    for word in ["ttft", "tbt", "e2e", "rpm", "PTU"] {
        assert!(text.contains(word), "{word} in {text}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("simulator"));
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_endpoint_ends_with_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = bench(args(
        &format!("http://127.0.0.1:{port}"),
        &[
            "-d",
            "gpt-4o",
            "--rate",
            "60",
            "--duration",
            "10m",
            "--connect-timeout",
            "2",
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not connect"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_usage_is_refused() {
    let sim = sim().await;
    let out = bench(args(&sim.base_url(), &["--duration", "1s"])).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "--rate or --clients is required"
    );
    let out = bench(args(
        &sim.base_url(),
        &["--rate", "60", "--shape", "custom"],
    ))
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--context-tokens"));
    let out = bench(args(
        &sim.base_url(),
        &["--rate", "60", "--connections", "0"],
    ))
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--connections must be at least 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_with_a_final_report() {
    // (Cancelling calls in flight is covered in bench_engine.rs; here: the signal path.)
    let sim = sim().await;
    let base = sim.base_url();
    let result = tokio::task::spawn_blocking(move || {
        let bin = assert_cmd::cargo::cargo_bin("aoai");
        let mut child = std::process::Command::new(bin)
            .arg("bench")
            .args(args(
                &base,
                &[
                    "-d",
                    "gpt-4o-mini",
                    "--rate",
                    "600",
                    "--duration",
                    "1h",
                    "--report-every",
                    "200ms",
                ],
            ))
            .env_remove("AZURE_OPENAI_ENDPOINT")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap(); // an interval report: the load is running
        let _ = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let mut rest = String::new();
        for line in stdout.lines() {
            rest = line.unwrap();
        }
        (first, rest, child.wait().unwrap())
    });
    let (first, last, status) = bounded(result).await.unwrap();
    assert!(first.contains("\"interval\""), "{first}");
    let fin: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(fin["kind"], "final");
    assert_eq!(status.code(), Some(130));
}

#[test]
fn ptu_command_text_and_json() {
    // gpt-4o global: 100 RPM × (1000 in, 200 out) = 100k + 3 × 20k = 160k ÷ 2,500 = 64 → 65.
    let out = aoai()
        .args([
            "ptu",
            "--model",
            "gpt-4o-2024-11-20",
            "--prompt-tokens",
            "1000",
            "--completion-tokens",
            "200",
            "--rpm",
            "100",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ptu"], 65);
    assert_eq!(v["input_tpm"], 100000.0);
    assert_eq!(v["output_tpm"], 20000.0);
    assert_eq!(v["total_tpm"], 120000.0);
    assert_eq!(v["model"], "gpt-4o");
    // PAYG against the 65 PTUs: $0.0045 a request × 100 RPM × 43,800 minutes a month, and
    // 65 × $260 for a month's reservation, met at 65 × 260 / (0.0045 × 43,800) = 85.7 RPM.
    let cost = &v["cost"];
    let payg = cost["payg_month_usd"].as_f64().unwrap();
    assert!((payg - 0.0045 * 100.0 * 43_800.0).abs() < 1e-6, "{cost}");
    assert_eq!(cost["ptu"]["reserved_month"]["month_usd"], 65.0 * 260.0);
    let be = cost["ptu"]["reserved_month"]["break_even_rpm"]
        .as_f64()
        .unwrap();
    assert!(
        (be - 65.0 * 260.0 / (0.0045 * 43_800.0)).abs() < 1e-9,
        "{cost}"
    );

    let out = aoai()
        .args([
            "ptu",
            "--model",
            "gpt-4.1",
            "--deployment-type",
            "regional",
            "--prompt-tokens",
            "7000",
            "--completion-tokens",
            "150",
            "--rpm",
            "60",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PTU          200"), "{text}");

    let out = aoai()
        .args([
            "ptu",
            "--model",
            "gpt-9",
            "--prompt-tokens",
            "1",
            "--completion-tokens",
            "1",
            "--rpm",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no PTU figures for model `gpt-9`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn record_then_size_from_the_scenario() {
    let sim = sim().await;
    let dir = std::env::temp_dir().join(format!("aoai-bench-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bench.jsonl");
    let _ = std::fs::remove_file(&file);
    let f = file.to_string_lossy().to_string();
    let out = bench(args(
        &sim.base_url(),
        &[
            "-d",
            "gpt-4o",
            "--rate",
            "600",
            "--duration",
            "1s",
            "--shape",
            "custom",
            "--context-tokens",
            "100",
            "--max-tokens",
            "20",
            "--record",
            &f,
        ],
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("recorded 10 calls"));
    let out = tokio::task::spawn_blocking(move || {
        aoai()
            .args([
                "ptu",
                "--model",
                "gpt-4o",
                "--scenario",
                &f,
                "--rpm",
                "600",
                "--json",
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
    // The recorded shape: 100 prompt + 20 completion tokens; at 600 RPM → 40 PTU (as above).
    assert_eq!(v["prompt_tokens"], 100.0);
    assert_eq!(v["completion_tokens"], 20.0);
    assert_eq!(v["ptu"], 40);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ptu_text_has_no_float_noise() {
    let out = aoai()
        .args([
            "ptu",
            "--model",
            "gpt-4o",
            "--prompt-tokens",
            "1000.3333333333334",
            "--completion-tokens",
            "200",
            "--rpm",
            "27.300648390399267",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("27.3 RPM × (1000.3 prompt"), "{text}");
    assert!(!text.contains("27.30064"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn shapes_are_named_as_on_the_console_bench_screen() {
    // The console offers these shapes (src/tui/components/bench.rs SHAPES); the flag takes
    // the same names, and the header spells them the same way.
    let sim = sim().await;
    for name in [
        "balanced",
        "context",
        "generation",
        "summarization",
        "small",
    ] {
        let out = bench(args(
            &sim.base_url(),
            &[
                "-d",
                "gpt-4o",
                "--rate",
                "600",
                "--duration",
                "100ms",
                "--shape",
                name,
            ],
        ))
        .await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "--shape {name}: {err}");
        assert!(err.contains(&format!("· {name} shape:")), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_budget_field_is_max_completion_tokens_unless_told() {
    let sim = sim().await;
    for (extra, field, other) in [
        (vec![], "max_completion_tokens", "max_tokens"),
        (
            vec!["--max-tokens-field", "max_tokens"],
            "max_tokens",
            "max_completion_tokens",
        ),
    ] {
        let file = std::env::temp_dir().join(format!(
            "aoai-bench-field-{}-{field}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&file);
        let path = file.to_str().unwrap().to_string();
        let mut a = vec![
            "-d",
            "gpt-4o",
            "--clients",
            "1",
            "--duration",
            "100ms",
            "--shape",
            "small",
            "--record",
            &path,
        ];
        a.extend(extra);
        let out = bench(args(&sim.base_url(), &a)).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&file).unwrap();
        let line: Value = serde_json::from_str(text.lines().nth(1).expect("a call")).unwrap();
        let body = &line["request"]["body"];
        assert_eq!(body[field], 16, "{body}");
        assert!(body.get(other).is_none(), "{body}");
        let _ = std::fs::remove_file(&file);
    }
    let out = bench(args(
        &sim.base_url(),
        &["--clients", "1", "--max-tokens", "0"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(allowed: >= 1)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_console_bench_shape_is_a_headless_shape_with_the_same_tokens() {
    use clap::ValueEnum;
    for (name, p, c) in aoai::tui::components::bench::SHAPES {
        let shape = aoai::cli::BenchShape::from_str(name, false)
            .unwrap_or_else(|_| panic!("console shape `{name}` has no `--shape {name}`"));
        assert_eq!(
            aoai::headless::bench::shape_tokens(shape),
            Some((p, c)),
            "`{name}`"
        );
        assert_eq!(aoai::headless::bench::shape_name(shape), name);
    }
}

/// `--wire-api responses` loads the Responses API: every request goes to `/responses`,
/// TTFT is timed on the answer's deltas and the token counts add up as on chat.
#[tokio::test(flavor = "multi_thread")]
async fn bench_over_the_responses_api() {
    let sim = sim().await;
    let out = bench(args(
        &sim.base_url(),
        &[
            "-d",
            "gpt-4o",
            "--wire-api",
            "responses",
            "--rate",
            "600",
            "--duration",
            "1s",
            "--shape",
            "custom",
            "--context-tokens",
            "100",
            "--max-tokens",
            "20",
        ],
    ))
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fin = lines(&out).pop().unwrap();
    assert_eq!(fin["kind"], "final");
    assert_eq!(fin["started"], 10);
    assert_eq!(fin["completed"], 10, "{fin}");
    assert_eq!(fin["ttft_ms"]["count"], 10);
    assert_eq!(fin["avg_prompt_tokens"], 100.0, "{fin}");
    let paths: Vec<String> = sim.requests().iter().map(|r| r.path.clone()).collect();
    // The probe and the ten timed requests.
    assert!(
        paths.len() == 11 && paths.iter().all(|p| p == "/openai/responses"),
        "{paths:?}"
    );
}
