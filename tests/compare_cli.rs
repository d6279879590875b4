//! `aoai compare` as a user runs it, against an in-process simulator the test starts: each
//! output format, the `--json` alias, `--record` read back by `aoai replay --report`, and a
//! bad set reported with its key.

mod common;

use common::*;
use serde_json::Value;

const SET: &str = r#"
name = "cli"
[defaults]
user = "Name three fruits."
max_tokens = 4000
[[variant]]
name = "base"
seed = 1
[[variant]]
name = "other, seed"
seed = 2
system = "Be brief."
"#;

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aoai-compare-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs `aoai compare SET --endpoint SIM … extra` and returns (status, stdout, stderr).
async fn compare(extra: &[&str]) -> (i32, String, String) {
    let sim = sim().await;
    let base = sim.base_url();
    // A file per run: the tests run at once, and one rewriting a shared file while another
    // reads it made the reader see an empty set.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let set = tmp(&format!("set-{n}.toml"));
    std::fs::write(&set, SET).unwrap();
    let mut args: Vec<String> = vec![
        "compare".into(),
        set.display().to_string(),
        "--endpoint".into(),
        base,
        "--api-key".into(),
        "k".into(),
        "-d".into(),
        "gpt-4o".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = bounded(tokio::task::spawn_blocking(move || {
        aoai().args(&args).output().unwrap()
    }))
    .await
    .unwrap();
    drop(sim);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_is_one_object_with_a_row_per_variant() {
    for flags in [
        &["--format", "json", "--repeat", "2"][..],
        &["--json", "-k", "2", "-n", "1"][..],
    ] {
        let (code, out, err) = compare(flags).await;
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.lines().count(), 1, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["set"], "cli");
        assert_eq!(v["baseline"], "base");
        assert_eq!(v["repeat"], 2);
        assert_eq!(v["retry"], "honor");
        let rows = v["variants"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        for key in [
            "name",
            "deployment",
            "baseline",
            "calls",
            "done",
            "prompt_tokens",
            "completion_tokens",
            "cached_tokens",
            "ttft_ms",
            "e2e_ms",
            "tokens_per_s",
            "cost_per_call_usd",
            "cost_per_1k_calls_usd",
            "finish_reasons",
            "http_429",
            "delta",
            "answer",
            "diff",
        ] {
            assert!(rows[1].get(key).is_some(), "missing {key}: {}", rows[1]);
        }
        assert_eq!(rows[0]["calls"], 2);
        assert_eq!(rows[1]["finish_reasons"]["stop"], 2);
        assert!(rows[1]["ttft_ms"]["p95"].is_number());
        assert!(rows[1]["diff"]["plain"].as_str().unwrap().contains("{+"));
        assert!(rows[1]["delta"]["prompt_tokens"]["pct"].is_number());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_has_the_documented_columns() {
    let (code, out, err) = compare(&["--format", "csv", "--repeat", "2"]).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0],
        aoai::headless::compare::format::CSV_COLUMNS.join(",")
    );
    assert!(
        lines[1].starts_with("base,gpt-4o,true,2,2,"),
        "{}",
        lines[1]
    );
    // The name with a comma is quoted; every row has every column.
    assert!(
        lines[2].starts_with("\"other, seed\",gpt-4o,false,2,2,"),
        "{}",
        lines[2]
    );
    let cols = aoai::headless::compare::format::CSV_COLUMNS.len();
    assert_eq!(lines[1].split(',').count(), cols);
    assert_eq!(lines[2].split(',').count(), cols + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_and_table() {
    let (code, out, err) = compare(&["--format", "markdown"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("## Compare: cli\n"), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(rows.len(), 4, "header, rule, two variants: {out}");
    assert!(
        rows[2].starts_with("| **base** (baseline) | gpt-4o | 1/1 |"),
        "{}",
        rows[2]
    );
    assert!(out.contains("### other, seed vs base"));

    let (code, out, err) = compare(&[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("compare cli · 2 variants · 1 repeat each · 4 at once · retry honor\n"),
        "{out}"
    );
    assert!(out.contains("\nvariant "), "{out}");
    assert!(out.contains("* baseline: base"));
    assert!(out.contains("against the baseline (base)"));
    assert!(out.contains("── other, seed vs base (word diff"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_runs_replay_with_report() {
    let rec = tmp("rec.jsonl");
    let _ = std::fs::remove_file(&rec);
    let (code, _out, err) =
        compare(&["--repeat", "2", "--record", rec.to_str().unwrap(), "--json"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("recorded 4 calls to"), "{err}");
    let path = rec.display().to_string();
    let out = bounded(tokio::task::spawn_blocking(move || {
        aoai()
            .args(["replay", &path, "--report", "--json"])
            .output()
            .unwrap()
    }))
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"]["calls"], 4, "{v}");
    assert_eq!(v["total"]["done"], 4);
}

#[test]
fn a_bad_set_names_the_key() {
    let bad = tmp("bad.toml");
    std::fs::write(
        &bad,
        "[[variant]]\nname = \"a\"\nuser = \"x\"\ntemperature = 9.0\n",
    )
    .unwrap();
    let out = aoai()
        .args(["compare", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        format!(
            "aoai: {}: variant[1] (`a`).temperature: 9 is out of range (allowed: 0..=2)\n",
            bad.display()
        )
    );
}
