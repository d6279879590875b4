//! `aoai compare` evaluating a set as a user runs it: a data set from JSONL and CSV,
//! `--fail-under` exit codes, `--format junit` checked for the structure JUnit consumers
//! require, errors naming the key and line, and the bundled example on the embedded
//! simulator.

mod common;

use aoai::sim::answers::AnswerRule;
use common::*;
use serde_json::Value;

fn dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("aoai-eval-cli-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SET: &str = r#"
name = "cli-eval"
dataset = "cases.jsonl"
[defaults]
user = "{{question}}"
max_tokens = 100
seed = 3
assert = [{ type = "icontains", value = "{{expected}}" }]
[[variant]]
name = "base"
[[variant]]
name = "judged"
judge = { rubric = "relevance", threshold = 4 }
"#;

const CASES: &str = r#"{"id": "ptu", "question": "When do PTUs pay off?", "expected": "utilisation"}
{"id": "429", "question": "What does a 429 mean?", "expected": "throttled"}
"#;

fn rules() -> Vec<AnswerRule> {
    let r = |p: &str, t: &str| AnswerRule {
        pattern: p.into(),
        text: t.into(),
        deployment: None,
    };
    vec![
        r(
            "(?s)^Question:.*429",
            r#"{"score": 3, "reason": "Partly & <vague>."}"#,
        ),
        r("(?s)^Question:", r#"{"score": 5, "reason": "Good."}"#),
        r("^When do PTUs", "When utilisation stays high."),
        r("^What does a 429", "Rate limited; wait and retry."),
    ]
}

/// Writes the set (and its files) and runs `aoai compare` on a simulator with the rules.
async fn compare(files: &[(&str, &str)], extra: &[&str]) -> (i32, String, String) {
    let sim = sim_with(|c| c.answers = rules()).await;
    let d = dir();
    for (name, text) in files {
        std::fs::write(d.join(name), text).unwrap();
    }
    let mut args: Vec<String> = vec![
        "compare".into(),
        d.join("set.toml").display().to_string(),
        "--endpoint".into(),
        sim.base_url(),
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

fn std_files() -> Vec<(&'static str, &'static str)> {
    vec![("set.toml", SET), ("cases.jsonl", CASES)]
}

#[tokio::test]
async fn json_reports_pass_rates_scores_and_failures() {
    let (code, out, err) = compare(&std_files(), &["--json"]).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let base = &v["variants"][0]["eval"];
    // "throttled" is not in the 429 answer.
    assert_eq!(base["runs"], 2);
    assert_eq!(base["passed"], 1);
    assert_eq!(base["pass_rate"], 0.5);
    assert_eq!(base["failures"][0]["case"], "429");
    assert_eq!(base["failures"][0]["assertion"], "icontains");
    assert!(base["judge_mean"].is_null());
    let judged = &v["variants"][1]["eval"];
    assert_eq!(judged["judge_mean"], 4.0);
    assert_eq!(judged["judge_p05"], 3.0);
    assert_eq!(judged["failures_by_assertion"]["judge"], 1);
    assert_eq!(v["eval"]["cases"], 2);
    assert_eq!(v["eval"]["judge"]["calls"], 2);
}

#[tokio::test]
async fn fail_under_sets_the_exit_code() {
    let (code, _, err) = compare(&std_files(), &["--fail-under", "0.5"]).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = compare(&std_files(), &["--fail-under", "60%"]).await;
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("base: pass rate 50.0% is below --fail-under 60.0%"),
        "{err}"
    );
    // The report is still printed, with the evaluation table.
    assert!(out.contains("evaluation · 2 cases × 1 repeat"), "{out}");
    assert!(out.contains("case 429 #1 · icontains"), "{out}");
    let (code, _, err) = compare(&std_files(), &["--fail-under", "2"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("outside 0–1"), "{err}");
    let plain = SET
        .replace(
            "assert = [{ type = \"icontains\", value = \"{{expected}}\" }]\n",
            "",
        )
        .replace("judge = { rubric = \"relevance\", threshold = 4 }\n", "");
    let (code, _, err) = compare(
        &[("set.toml", &plain), ("cases.jsonl", CASES)],
        &["--fail-under", "0.9"],
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("has no assertions or judge"), "{err}");
}

/// The structure JUnit consumers (the Jenkins / Ant schema that Azure DevOps and GitHub
/// Actions read) require: `testsuites` of `testsuite` elements with `name`, `tests`,
/// `failures`, `errors` and `time`; `testcase` elements with `name`, `classname`, `time`;
/// `failure` / `error` children with `message` and `type`; counts that add up; numeric
/// attributes that parse.
fn check_junit(xml: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let num = |n: &roxmltree::Node, a: &str| -> f64 {
        n.attribute(a)
            .unwrap_or_else(|| panic!("<{}> lacks {a}", n.tag_name().name()))
            .parse()
            .unwrap_or_else(|_| panic!("<{}> {a} is not a number", n.tag_name().name()))
    };
    let (mut tests, mut failures, mut errors) = (0.0, 0.0, 0.0);
    for suite in root.children().filter(|n| n.is_element()) {
        assert_eq!(suite.tag_name().name(), "testsuite");
        assert!(suite.attribute("name").is_some_and(|n| !n.is_empty()));
        let mut seen = (0.0, 0.0, 0.0);
        for child in suite.children().filter(|n| n.is_element()) {
            match child.tag_name().name() {
                "properties" => {
                    for p in child.children().filter(|n| n.is_element()) {
                        assert_eq!(p.tag_name().name(), "property");
                        assert!(p.attribute("name").is_some() && p.attribute("value").is_some());
                    }
                }
                "testcase" => {
                    seen.0 += 1.0;
                    assert!(child.attribute("name").is_some());
                    assert!(child.attribute("classname").is_some());
                    assert!(num(&child, "time") >= 0.0);
                    let kids: Vec<_> = child.children().filter(|n| n.is_element()).collect();
                    if kids.iter().any(|k| k.tag_name().name() == "error") {
                        seen.2 += 1.0;
                    } else if kids.iter().any(|k| k.tag_name().name() == "failure") {
                        seen.1 += 1.0;
                    }
                    for k in kids {
                        assert!(
                            ["failure", "error"].contains(&k.tag_name().name()),
                            "{:?}",
                            k.tag_name()
                        );
                        assert!(k.attribute("message").is_some() && k.attribute("type").is_some());
                    }
                }
                other => panic!("unexpected <{other}> in a testsuite"),
            }
        }
        assert_eq!(num(&suite, "tests"), seen.0);
        assert_eq!(num(&suite, "failures"), seen.1);
        assert_eq!(num(&suite, "errors"), seen.2);
        assert!(num(&suite, "time") >= 0.0);
        tests += seen.0;
        failures += seen.1;
        errors += seen.2;
    }
    assert_eq!(num(&root, "tests"), tests);
    assert_eq!(num(&root, "failures"), failures);
    assert_eq!(num(&root, "errors"), errors);
    doc
}

#[tokio::test]
async fn junit_is_structurally_valid() {
    let (code, out, err) = compare(&std_files(), &["--format", "junit", "-k", "2"]).await;
    assert_eq!(code, 0, "{err}");
    let doc = check_junit(&out);
    let suites: Vec<_> = doc
        .root_element()
        .children()
        .filter(|n| n.is_element())
        .collect();
    assert_eq!(suites.len(), 2);
    assert_eq!(suites[0].attribute("name"), Some("base"));
    // 2 cases × 2 repeats; the 429 case fails twice.
    assert_eq!(suites[0].attribute("tests"), Some("4"));
    assert_eq!(suites[0].attribute("failures"), Some("2"));
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("icontains"));
    assert_eq!(
        failure.parent().unwrap().attribute("name"),
        Some("case 429 #1")
    );
    // The judge's reason, with XML's special characters, survives escaping.
    let judged = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure") && n.attribute("type") == Some("judge"))
        .map(|n| n.attribute("message").unwrap().to_string())
        .collect::<Vec<_>>();
    assert_eq!(judged.len(), 2, "{out}");
    assert!(judged[0].contains("Partly & <vague>."), "{judged:?}");
    // A set without assertions: one testcase per call, passing when it answered.
    let plain = SET
        .replace(
            "assert = [{ type = \"icontains\", value = \"{{expected}}\" }]\n",
            "",
        )
        .replace("judge = { rubric = \"relevance\", threshold = 4 }\n", "");
    let (code, out, _) = compare(
        &[("set.toml", &plain), ("cases.jsonl", CASES)],
        &["--format", "junit"],
    )
    .await;
    assert_eq!(code, 0);
    let doc = check_junit(&out);
    assert_eq!(doc.root_element().attribute("tests"), Some("4"));
    assert_eq!(doc.root_element().attribute("failures"), Some("0"));
}

#[tokio::test]
async fn csv_data_sets_and_errors_that_name_the_line() {
    let csv_set = SET.replace("cases.jsonl", "cases.csv");
    let csv =
        "question,expected\nWhen do PTUs pay off?,UTILISATION\n\"What does a 429 mean?\",retry\n";
    let (code, out, err) = compare(
        &[("set.toml", &csv_set), ("cases.csv", csv)],
        &["--format", "csv"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let header = out.lines().next().unwrap();
    assert!(
        header.ends_with(",runs,passed,pass_rate,judge_mean,judge_p05"),
        "{header}"
    );
    let base = out.lines().nth(1).unwrap();
    assert!(base.ends_with(",2,2,1,,"), "{base}");
    // A bad JSONL line.
    let (code, _, err) = compare(
        &[
            ("set.toml", SET),
            (
                "cases.jsonl",
                "{\"question\": \"a\", \"expected\": \"b\"}\n{oops\n",
            ),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("set.toml: cases.jsonl line 2: "), "{err}");
    // A case missing a placeholder's field.
    let (code, _, err) = compare(
        &[
            ("set.toml", SET),
            ("cases.jsonl", "{\"question\": \"a\"}\n"),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 2);
    assert!(
        err.contains("cases.jsonl line 1: variant[1] (`base`).assert[1].value uses {{expected}}, which the case does not have (fields: question)"),
        "{err}"
    );
    // A missing file.
    let (code, _, err) = compare(&[("set.toml", SET)], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("dataset: reading"), "{err}");
}

#[tokio::test]
async fn the_bundled_example_runs_on_the_embedded_simulator() {
    let root = env!("CARGO_MANIFEST_DIR");
    let set = format!("{root}/examples/eval/set.toml");
    let run = |extra: &'static [&'static str]| {
        let set = set.clone();
        tokio::task::spawn_blocking(move || {
            let mut args = vec!["compare".to_string(), set];
            args.extend(extra.iter().map(|s| s.to_string()));
            aoai().args(&args).output().unwrap()
        })
    };
    let out = bounded(run(&["--json"])).await.unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["eval"]["cases"], 3);
    assert_eq!(v["variants"][0]["eval"]["pass_rate"], 1.0);
    assert_eq!(v["variants"][0]["eval"]["judge_mean"], 5.0);
    // The mini is not sure about one question: two of six answers fail.
    assert_eq!(v["variants"][1]["eval"]["passed"], 4);
    assert_eq!(v["variants"][1]["eval"]["judge_p05"], 2.0);
    // Answers are diffed case by case: the mini differs on `geo` only.
    let diffs = v["variants"][1]["case_diffs"].as_array().unwrap();
    let labels: Vec<&str> = diffs.iter().map(|d| d["case"].as_str().unwrap()).collect();
    assert_eq!(labels, ["ptu", "429", "geo"]);
    let same: Vec<f64> = diffs
        .iter()
        .map(|d| d["similarity"].as_f64().unwrap())
        .collect();
    assert!(
        same[0] == 1.0 && same[1] == 1.0 && same[2] < 0.5,
        "{same:?}"
    );
    let mean = v["variants"][1]["similarity"].as_f64().unwrap();
    assert!((mean - same.iter().sum::<f64>() / 3.0).abs() < 1e-9);
    let out = bounded(run(&["--fail-under", "0.9"])).await.unwrap();
    assert_eq!(out.status.code(), Some(4));
    // The text report prints the least alike case first.
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("── mini vs gpt-4o, case geo (word diff"),
        "{text}"
    );
    assert!(
        text.contains("── mini vs gpt-4o, case ptu (identical answers)"),
        "{text}"
    );
}
