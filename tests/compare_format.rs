//! The four output formats of `aoai compare` on synthetic records (deterministic), as
//! snapshots; JSON and CSV also parsed.

use aoai::domain::call::{Attempt, CallRecord, Outcome, Timings};
use aoai::domain::compare::{VariantSet, summarize};
use aoai::domain::retry::RetryPolicy;
use aoai::domain::usage::Usage;
use aoai::engine::compare::Plan;
use aoai::headless::compare::format;
use insta::assert_snapshot;

const SET: &str = r#"
name = "tone"
[defaults]
user = "Name three fruits."
[[variant]]
name = "plain"
[[variant]]
name = "terse"
system = "Be terse."
[[variant]]
name = "broken"
deployment = "gpt-4o-mini"
"#;

fn rec(
    ttft: f64,
    e2e: f64,
    prompt: u64,
    completion: u64,
    text: &str,
    throttled_first: bool,
) -> CallRecord {
    let mut attempts = vec![Attempt {
        deployment: "gpt-4o".into(),
        status: Some(200),
        ..Default::default()
    }];
    if throttled_first {
        attempts.insert(
            0,
            Attempt {
                deployment: "gpt-4o".into(),
                status: Some(429),
                retry_after_ms: Some(1000),
                waited_ms: 1000,
                ..Default::default()
            },
        );
    }
    CallRecord {
        deployment: "gpt-4o".into(),
        status: Some(200),
        model: Some("gpt-4o-2024-11-20".into()),
        finish_reason: Some(if completion >= 50 { "length" } else { "stop" }.into()),
        text: text.into(),
        timing: Timings {
            ttfb_ms: Some(ttft / 2.0),
            ttft_ms: Some(ttft),
            e2e_ms: Some(e2e),
            tokens_per_s: Some(completion as f64 / ((e2e - ttft) / 1000.0)),
            last_token_ms: Some(e2e),
            first_summary_ms: None,
        },
        usage: Some(Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: 0,
            reasoning_tokens: 0,
            total_tokens: prompt + completion,
        }),
        cost_usd: Some((prompt as f64 * 2.5 + completion as f64 * 10.0) / 1e6),
        attempts,
        ..Default::default()
    }
}

fn report() -> (aoai::domain::compare::CompareReport, Plan) {
    let set = VariantSet::from_toml_str(SET).unwrap();
    let plain = vec![
        rec(400.0, 1200.0, 14, 40, "Apple, banana and cherry.", false),
        rec(300.0, 1000.0, 14, 40, "Apple, banana and cherry.", false),
        rec(500.0, 1500.0, 14, 40, "Apple, banana and cherry.", false),
    ];
    let terse = vec![
        rec(350.0, 800.0, 24, 20, "Apple, pear and cherry!", true),
        rec(250.0, 700.0, 24, 60, "Apple, pear and cherry!", false),
        rec(450.0, 900.0, 24, 20, "Apple, pear and cherry!", false),
    ];
    let failed = CallRecord {
        outcome: Outcome::Throttled,
        status: Some(429),
        attempts: vec![
            Attempt {
                status: Some(429),
                ..Default::default()
            };
            3
        ],
        ..Default::default()
    };
    let broken = vec![failed.clone(), failed.clone(), failed];
    let plan = Plan {
        repeat: 3,
        concurrency: 2,
        retry: RetryPolicy::Honor {
            max_attempts: 3,
            max_wait_ms: 60_000,
        },
        default_deployment: "gpt-4o".into(),
        capture_events: false,
        max_tokens_field: Default::default(),
    };
    (summarize(&set, "gpt-4o", 3, &[plain, terse, broken]), plan)
}

#[test]
fn table() {
    let (r, p) = report();
    assert_snapshot!("compare_table", format::table(&r, &p, true));
}

#[test]
fn markdown() {
    let (r, p) = report();
    assert_snapshot!("compare_markdown", format::markdown(&r, &p));
}

#[test]
fn csv() {
    let (r, _) = report();
    let out = format::csv(&r);
    assert_snapshot!("compare_csv", out);
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == format::CSV_COLUMNS.len()));
    let col = |name: &str| format::CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    // Nearest rank of 300/400/500: p50 = 400, p95 = 500.
    assert_eq!(rows[1][col("ttft_p50_ms")], "400");
    assert_eq!(rows[1][col("ttft_p95_ms")], "500");
    assert_eq!(rows[2][col("http_429")], "1");
    assert_eq!(rows[2][col("finish_reasons")], "length:1;stop:2");
    assert_eq!(rows[2][col("delta_prompt_tokens")], "10");
    assert_eq!(rows[3][col("throttled")], "3");
    assert_eq!(rows[3][col("http_429")], "9");
    assert_eq!(rows[3][col("retries")], "6");
    // Fixed precision: no float noise (`0.00039333333333333337`, `33.333333333333336`).
    assert_eq!(rows[2][col("cost_per_call_usd")], "0.000393");
    assert_eq!(rows[2][col("completion_tokens")], "33.33");
    assert_eq!(rows[2][col("delta_completion_tokens")], "-6.67");
    for cell in rows.iter().skip(1).flatten() {
        let decimals = cell.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 6, "`{cell}` has {decimals} decimals");
    }
}

#[test]
fn json() {
    let (r, p) = report();
    let out = format::json(&r, &p);
    assert_snapshot!("compare_json", out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["variants"][1]["ttft_ms"]["p50"], 350.0);
    assert_eq!(
        v["variants"][1]["diff"]["plain"],
        "Apple, [-banana-]{+pear+} and [-cherry.-]{+cherry!+}"
    );
    assert_eq!(v["variants"][2]["diff"], serde_json::Value::Null);
    assert_eq!(v["concurrency"], 2);
}
