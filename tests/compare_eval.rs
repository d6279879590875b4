//! Evaluation of prompt variants (issue 16) against the in-process simulator over loopback
//! HTTP: structured-output answers that validate against their schemas (chat, streamed and
//! not, and the Responses API), answer rules, cases filling placeholders, assertions that
//! pass and fail, judge scores parsed from structured output, the judges' usage kept apart.

mod common;

use aoai::azure::CallSpec;
use aoai::domain::call::{CallRecord, Outcome, WireApi};
use aoai::domain::compare::{VariantSet, summarize};
use aoai::domain::retry::RetryPolicy;
use aoai::engine::compare::{Plan, jobs, run_set};
use aoai::engine::evaluate::evaluate;
use aoai::sim::answers::AnswerRule;
use aoai::sim::{SimConfig, SimHandle};
use aoai::tokens;
use aoai::wire::{ChatMessage, ChatRequest};
use common::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn rule(pattern: &str, text: &str) -> AnswerRule {
    AnswerRule {
        pattern: pattern.into(),
        text: text.into(),
        deployment: None,
    }
}

/// The schemas structured answers are checked against: nested objects, arrays of objects,
/// enums, required fields, bounded integers and numbers, booleans, `$defs` references and
/// nullable (`anyOf`) fields, as strict-mode schemas spell them.
fn schemas() -> Vec<Value> {
    vec![
        json!({"type":"object","properties":{
            "score":{"type":"integer","enum":[1,2,3,4,5]},
            "reason":{"type":"string"}},
            "required":["score","reason"],"additionalProperties":false}),
        json!({"type":"object","properties":{
            "customer":{"type":"object","properties":{
                "name":{"type":"string","minLength":3},
                "tier":{"type":"string","enum":["free","pro","enterprise"]},
                "address":{"type":"object","properties":{
                    "city":{"type":"string"},"zip":{"type":"string","maxLength":5}},
                    "required":["city","zip"],"additionalProperties":false}},
                "required":["name","tier","address"],"additionalProperties":false},
            "active":{"type":"boolean"}},
            "required":["customer","active"],"additionalProperties":false}),
        json!({"type":"object","properties":{
            "items":{"type":"array","minItems":2,"maxItems":4,"items":{"type":"object","properties":{
                "sku":{"type":"string"},
                "qty":{"type":"integer","minimum":1,"maximum":9},
                "price":{"type":"number","exclusiveMinimum":0,"maximum":50}},
                "required":["sku","qty","price"],"additionalProperties":false}},
            "tags":{"type":"array","items":{"type":"string","enum":["a","b","c"]},"uniqueItems":true}},
            "required":["items","tags"],"additionalProperties":false}),
        json!({"$defs":{"step":{"type":"object","properties":{
                "title":{"type":"string"},"minutes":{"type":["integer","null"],"minimum":0}},
                "required":["title","minutes"],"additionalProperties":false}},
            "type":"object","properties":{
                "steps":{"type":"array","items":{"$ref":"#/$defs/step"}},
                "note":{"anyOf":[{"type":"string"},{"type":"null"}]}},
            "required":["steps","note"],"additionalProperties":false}),
    ]
}

fn structured(deployment: &str, schema: &Value, question: &str) -> CallSpec {
    let mut req = ChatRequest {
        messages: vec![ChatMessage::new("user", question)],
        seed: Some(3),
        ..Default::default()
    };
    req.extra.insert(
        "response_format".into(),
        json!({"type":"json_schema","json_schema":{"name":"out","strict":true,"schema":schema}}),
    );
    CallSpec::new(deployment, req)
}

fn assert_valid(schema: &Value, rec: &CallRecord, what: &str) {
    assert_eq!(rec.outcome, Outcome::Done, "{what}: {:?}", rec.error);
    let v: Value = serde_json::from_str(&rec.text)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", rec.text));
    let validator = jsonschema::validator_for(schema).unwrap();
    if let Err(e) = validator.validate(&v) {
        panic!("{what}: {v} does not validate: {e}");
    }
    // Token counts stay exact: the answer's o200k tokens.
    assert_eq!(
        rec.usage.unwrap().completion_tokens,
        tokens::count(&rec.text) as u64,
        "{what}"
    );
}

#[tokio::test]
async fn json_schema_answers_validate_on_both_wire_apis() {
    let sim = sim().await;
    let client = client(&sim);
    for (i, schema) in schemas().iter().enumerate() {
        for q in ["first question", "another one"] {
            for (stream, wire) in [
                (true, WireApi::Chat),
                (false, WireApi::Chat),
                (true, WireApi::Responses),
                (false, WireApi::Responses),
            ] {
                let mut spec = structured("gpt-4o", schema, q);
                spec.stream = stream;
                spec.wire_api = Some(wire);
                let (rec, _) = run(&client, &spec).await;
                assert_valid(
                    schema,
                    &rec,
                    &format!("schema {i}, {q}, {wire:?}, stream {stream}"),
                );
            }
        }
    }
    // Deterministic: the same request, the same value.
    let spec = structured("gpt-4o", &schemas()[1], "same");
    let (a, _) = run(&client, &spec).await;
    let (b, _) = run(&client, &spec).await;
    assert_eq!(a.text, b.text);
}

#[tokio::test]
async fn answer_rules_decide_the_text_and_its_tokens() {
    let sim = sim_with(|c| {
        c.answers = vec![
            AnswerRule {
                deployment: Some("gpt-4o-mini".into()),
                ..rule("(?i)ptu", "Mini says PTU.")
            },
            rule("(?i)ptu", "Buy PTUs when utilisation is high."),
        ]
    })
    .await;
    let client = client(&sim);
    let (rec, _) = run(&client, &ask("gpt-4o", "What is a PTU?")).await;
    assert_eq!(rec.text, "Buy PTUs when utilisation is high.");
    assert_eq!(
        rec.usage.unwrap().completion_tokens,
        tokens::count(&rec.text) as u64
    );
    let (rec, _) = run(&client, &ask("gpt-4o-mini", "ptu?")).await;
    assert_eq!(rec.text, "Mini says PTU.");
    // A rule that does not match leaves the generated answer.
    let (rec, _) = run(&client, &ask("gpt-4o", "Name three fruits.")).await;
    assert!(!rec.text.contains("PTU"));
    // The Responses API reads the same rules.
    let mut spec = ask("gpt-4o", "PTU again");
    spec.wire_api = Some(WireApi::Responses);
    let (rec, _) = run(&client, &spec).await;
    assert_eq!(rec.text, "Buy PTUs when utilisation is high.");
}

const SET: &str = r#"
name = "eval"
[defaults]
system = "Answer about Azure OpenAI."
user = "{{question}}"
max_tokens = 100
seed = 5
assert = [{ type = "icontains", value = "{{expected}}" }, { type = "finish_reason", value = "stop" }]
judge = { rubric = "relevance", threshold = 4 }
[[variant]]
name = "good"
[[variant]]
name = "mini"
deployment = "gpt-4o-mini"
assert = [{ type = "max_output_tokens", value = 3 }]
[[case]]
id = "ptu"
question = "When do PTUs pay off?"
expected = "utilisation"
[[case]]
id = "429"
question = "What does a 429 mean?"
expected = "throttled"
assert = [{ type = "regex", value = "(?i)retry" }]
"#;

fn plan(repeat: u32) -> Plan {
    Plan {
        repeat,
        concurrency: 3,
        retry: RetryPolicy::None,
        default_deployment: "gpt-4o".into(),
        capture_events: false,
        max_tokens_field: Default::default(),
    }
}

async fn eval_sim() -> SimHandle {
    sim_with(|c: &mut SimConfig| {
        // The mini's 2,000 TPM would throttle a run of this size.
        for d in c.deployments.iter_mut().filter(|d| d.name == "gpt-4o-mini") {
            d.capacity = 1000;
        }
        c.answers = vec![
            // The judge: low for the mini's 429 answer, high otherwise.
            rule(
                "(?s)^Question:.*429.*Answer to grade:.*(?i:no idea)",
                r#"{"score": 2, "reason": "Does not answer."}"#,
            ),
            rule(
                "(?s)^Question:.*Answer to grade:",
                r#"{"score": 5, "reason": "On topic."}"#,
            ),
            AnswerRule {
                deployment: Some("gpt-4o-mini".into()),
                ..rule("^What does a 429", "No idea, sorry.")
            },
            rule(
                "^When do PTUs",
                "When utilisation stays high, reserved capacity costs less.",
            ),
            rule(
                "^What does a 429",
                "You were throttled: retry after the retry-after header.",
            ),
        ]
    })
    .await
}

#[tokio::test]
async fn assertions_pass_and_fail_and_judges_grade() {
    let set = VariantSet::from_toml_str(SET).unwrap();
    let plan = plan(2);
    // cases × variants × repeats.
    assert_eq!(jobs(&set, &plan).len(), 2 * 2 * 2);
    let sim = eval_sim().await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    let records = bounded(run_set(&client, &set, &plan, &cancel, |_| {})).await;
    assert_eq!(records[0].len(), 4);
    // Placeholders filled: the case's question was sent (the rule anchored on it answered),
    // records case by case, then repeat.
    assert_eq!(
        records[0][0].text,
        "When utilisation stays high, reserved capacity costs less."
    );
    assert_eq!(records[0][1].text, records[0][0].text);
    assert_eq!(records[1][2].text, "No idea, sorry.");
    let ev = bounded(evaluate(&client, &set, &plan, &records, &cancel)).await;
    // One judge call per answer.
    assert_eq!(ev.judge_records.len(), 8);
    let good = &ev.variants[0];
    assert_eq!((good.runs, good.passed), (4, 4), "{:#?}", good.failures);
    assert_eq!(good.pass_rate, 1.0);
    assert_eq!(good.judge_mean, Some(5.0));
    let mini = &ev.variants[1];
    assert_eq!(mini.runs, 4);
    // Its answers are 3+ tokens: max_output_tokens 3 fails on both of the ptu answers
    // (11 tokens) and the 429 ones (5 tokens); contains/regex/judge fail on the 429 case.
    assert_eq!(mini.passed, 0);
    assert_eq!(mini.failures_by_assertion["max_output_tokens"], 4);
    assert_eq!(mini.failures_by_assertion["icontains"], 2);
    assert_eq!(mini.failures_by_assertion["regex"], 2);
    assert_eq!(mini.failures_by_assertion["judge"], 2);
    assert!(!mini.failures_by_assertion.contains_key("finish_reason"));
    let judge_fail = mini
        .failures
        .iter()
        .find(|f| f.assertion == "judge")
        .unwrap();
    assert_eq!(judge_fail.case, "429");
    assert!(
        judge_fail
            .message
            .contains("score 2 (threshold 4): Does not answer."),
        "{}",
        judge_fail.message
    );
    // Mean of 5, 5, 2, 2; p05 nearest rank of 4 scores = the lowest.
    assert_eq!(mini.judge_mean, Some(3.5));
    assert_eq!(mini.judge_p05, Some(2.0));
    // The judges' usage is their own: the variants' figures count only the variants' calls.
    let mut report = summarize(&set, "gpt-4o", plan.repeat, &records);
    assert_eq!(report.variants[0].stats.calls, 4);
    let judge_prompt: u64 = ev
        .judge_records
        .iter()
        .map(|r| r.usage.unwrap().prompt_tokens)
        .sum();
    ev.attach(&set, &mut report);
    let ju = report.eval.as_ref().unwrap().judge.as_ref().unwrap();
    assert_eq!(ju.calls, 8);
    assert_eq!(ju.prompt_tokens, judge_prompt);
    assert!(ju.cost_usd.unwrap() > 0.0);
    assert_eq!(report.eval.as_ref().unwrap().cases, 2);
}

#[tokio::test]
async fn a_judge_without_rules_grades_offline_from_the_schema() {
    let set = VariantSet::from_toml_str(
        r#"
[defaults]
user = "{{q}}"
max_tokens = 50
seed = 1
judge = { rubric = "coherence", threshold = 1 }
[[variant]]
name = "a"
[[case]]
q = "Explain quotas."
[[case]]
q = "Explain caching."
"#,
    )
    .unwrap();
    let plan = plan(1);
    let sim = sim().await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    let mut scores = Vec::new();
    for _ in 0..2 {
        let records = bounded(run_set(&client, &set, &plan, &cancel, |_| {})).await;
        let ev = bounded(evaluate(&client, &set, &plan, &records, &cancel)).await;
        let e = &ev.variants[0];
        assert_eq!(e.judge_scores, 2, "{:#?}", e.failures);
        assert_eq!(e.passed, 2);
        let s: Vec<u8> = e
            .cases
            .iter()
            .flat_map(|c| c.checks.iter().filter_map(|k| k.score))
            .collect();
        assert!(s.iter().all(|s| (1..=5).contains(s)));
        scores.push(s);
    }
    assert_eq!(scores[0], scores[1], "deterministic grades");
}

#[tokio::test]
async fn a_failed_call_fails_its_case_and_is_not_judged() {
    let set = VariantSet::from_toml_str(
        "[defaults]\nuser = \"x\"\njudge = { rubric = \"fluency\" }\n[[variant]]\nname = \"gone\"\ndeployment = \"no-such-deployment\"\n",
    )
    .unwrap();
    let plan = plan(1);
    let sim = sim().await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    let records = bounded(run_set(&client, &set, &plan, &cancel, |_| {})).await;
    let ev = bounded(evaluate(&client, &set, &plan, &records, &cancel)).await;
    assert!(ev.judge_records.is_empty());
    let e = &ev.variants[0];
    assert_eq!((e.runs, e.passed), (1, 0));
    assert_eq!(e.failures[0].assertion, "call");
    assert!(
        e.failures[0].message.starts_with("call failed"),
        "{}",
        e.failures[0].message
    );
}
