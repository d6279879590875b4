//! `aoai compare`'s engine against the in-process simulator (instant, loopback): token
//! counts against the tokenizer and the simulator's seeded answers, p50/p95 against
//! nearest-rank values computed by hand from the records, cost against the price table,
//! deltas, the word diff, and recording as a scenario `aoai replay --report` reads.

mod common;

use aoai::domain::call::{CallRecord, Outcome};
use aoai::domain::compare::{VariantSet, VariantStats, summarize};
use aoai::domain::cost::PriceTable;
use aoai::domain::diff::DiffKind;
use aoai::domain::retry::RetryPolicy;
use aoai::engine::compare::{Plan, jobs, run_set};
use aoai::sim::SimConfig;
use aoai::sim::text;
use aoai::tokens;
use common::*;
use tokio_util::sync::CancellationToken;

const SET: &str = r#"
name = "fruits"
[defaults]
user = "Name three fruits and say why each is good."
max_tokens = 4000
[[variant]]
name = "base"
seed = 11
[[variant]]
name = "terse"
system = "Answer in one short paragraph."
seed = 12
[[variant]]
name = "same-seed"
system = "You are a helpful assistant."
seed = 11
"#;

fn plan(repeat: u32, concurrency: usize) -> Plan {
    Plan {
        repeat,
        concurrency,
        retry: RetryPolicy::None,
        default_deployment: "gpt-4o".into(),
        capture_events: false,
        max_tokens_field: Default::default(),
    }
}

/// The answer the simulator generates for `seed` on `deployment` (no budget cut).
fn seeded_answer(seed: i64, deployment: &str) -> String {
    let cfg = SimConfig::instant();
    let d = cfg
        .deployments
        .iter()
        .find(|d| d.name == deployment)
        .unwrap();
    let mut rng = text::rng_for(seed as u64, deployment);
    let target = text::target_length(&mut rng, d.answer_tokens);
    text::generate(&mut rng, target)
}

/// Nearest rank, by hand: the ⌈p·n/100⌉-th smallest.
fn by_hand(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = (p * v.len() as f64 / 100.0).ceil() as usize;
    v[rank - 1]
}

async fn run(set: &VariantSet, plan: &Plan) -> Vec<Vec<CallRecord>> {
    let sim = sim().await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    bounded(run_set(&client, set, plan, &cancel, |_| {})).await
}

#[test]
fn jobs_are_repeat_major() {
    let set = VariantSet::from_toml_str(SET).unwrap();
    let j = jobs(&set, &plan(2, 1));
    let order: Vec<(usize, u32, u64)> = j.iter().map(|j| (j.variant, j.repeat, j.id)).collect();
    assert_eq!(
        order,
        vec![
            (0, 0, 1),
            (1, 0, 2),
            (2, 0, 3),
            (0, 1, 4),
            (1, 1, 5),
            (2, 1, 6)
        ]
    );
    assert_eq!(
        j[1].spec.request.messages[0].text(),
        "Answer in one short paragraph."
    );
    assert_eq!(j[1].spec.request.max_completion_tokens, Some(4000));
    assert_eq!(j[0].spec.deployment, "gpt-4o");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_match_the_tokenizer_the_records_and_the_price_table() {
    let set = VariantSet::from_toml_str(SET).unwrap();
    let plan = plan(4, 3);
    let records = run(&set, &plan).await;
    assert_eq!(records.len(), 3);
    let prices = PriceTable::builtin();
    for (i, v) in set.variants.iter().enumerate() {
        let recs = &records[i];
        assert_eq!(recs.len(), 4, "{}", v.name);
        assert!(recs.iter().all(|r| r.outcome == Outcome::Done), "{recs:#?}");
        let stats = VariantStats::of(recs);
        // Prompt tokens: the o200k count of exactly what was sent.
        let prompt = tokens::count_messages(&v.chat_messages()) as f64;
        assert_eq!(stats.prompt_tokens, Some(prompt), "{}", v.name);
        // Completion: the simulator's seeded answer, token for token.
        let answer = seeded_answer(v.seed.unwrap(), "gpt-4o");
        for r in recs {
            assert_eq!(r.text, answer);
            assert_eq!(
                r.usage.unwrap().completion_tokens as usize,
                tokens::split(&answer).len()
            );
        }
        assert_eq!(
            stats.completion_tokens,
            Some(tokens::split(&answer).len() as f64)
        );
        assert_eq!(stats.cached_tokens, Some(0.0));
        // p50/p95 by hand from the recorded timings (n = 4: ranks 2 and 4).
        let ttft: Vec<f64> = recs.iter().map(|r| r.timing.ttft_ms.unwrap()).collect();
        let e2e: Vec<f64> = recs.iter().map(|r| r.timing.e2e_ms.unwrap()).collect();
        assert_eq!(stats.ttft_ms.p50, Some(by_hand(ttft.clone(), 50.0)));
        assert_eq!(stats.ttft_ms.p95, Some(by_hand(ttft.clone(), 95.0)));
        let mut sorted = ttft.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(stats.ttft_ms.p50, Some(sorted[1]));
        assert_eq!(stats.ttft_ms.p95, Some(sorted[3]));
        assert_eq!(stats.e2e_ms.p50, Some(by_hand(e2e.clone(), 50.0)));
        assert_eq!(stats.e2e_ms.p95, Some(by_hand(e2e, 95.0)));
        // Cost: the price table on the reported model and usage.
        let costs: Vec<f64> = recs
            .iter()
            .map(|r| {
                prices
                    .cost_usd(r.model.as_deref().unwrap(), None, &r.usage.unwrap())
                    .unwrap()
            })
            .collect();
        let mean = costs.iter().sum::<f64>() / costs.len() as f64;
        assert!((stats.cost_per_call_usd.unwrap() - mean).abs() < 1e-15);
        assert!((stats.cost_per_1k_calls_usd.unwrap() - mean * 1000.0).abs() < 1e-12);
        // gpt-4o: $2.50 in / $10.00 out per 1M tokens.
        let expect = (prompt * 2.5 + tokens::split(&answer).len() as f64 * 10.0) / 1e6;
        assert!((mean - expect).abs() < 1e-12, "{mean} vs {expect}");
        assert_eq!(stats.finish_reasons.get("stop"), Some(&4));
        assert_eq!(stats.http_429, 0);
    }

    let report = summarize(&set, "gpt-4o", plan.repeat, &records);
    assert_eq!(report.baseline, "base");
    let (base, terse, same) = (
        &report.variants[0],
        &report.variants[1],
        &report.variants[2],
    );
    assert!(base.baseline && !terse.baseline);
    // Deltas against the baseline: absolute and %.
    let bp = base.stats.prompt_tokens.unwrap();
    let tp = terse.stats.prompt_tokens.unwrap();
    let d = terse.delta.prompt_tokens.unwrap();
    assert_eq!(d.abs, tp - bp);
    assert_eq!(d.pct, Some((tp - bp) / bp * 100.0));
    assert_eq!(base.delta.prompt_tokens.unwrap().abs, 0.0);
    // The diff: another seed gives another answer; the same seed the same answer.
    let diff = terse.diff.as_ref().unwrap();
    assert!(diff.similarity < 1.0);
    assert!(diff.plain.contains("[-") && diff.plain.contains("{+"));
    let rebuilt = |keep: DiffKind| {
        diff.spans
            .iter()
            .filter(|s| s.kind == DiffKind::Same || s.kind == keep)
            .map(|s| s.text.as_str())
            .collect::<String>()
    };
    assert_eq!(rebuilt(DiffKind::Removed), seeded_answer(11, "gpt-4o"));
    assert_eq!(rebuilt(DiffKind::Added), seeded_answer(12, "gpt-4o"));
    let same_diff = same.diff.as_ref().unwrap();
    assert_eq!(same_diff.similarity, 1.0);
    assert!(same_diff.spans.iter().all(|s| s.kind == DiffKind::Same));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_ends_as_cancelled() {
    let set = VariantSet::from_toml_str(SET).unwrap();
    let sim = sim().await;
    let client = client(&sim);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let records = bounded(run_set(&client, &set, &plan(2, 2), &cancel, |_| {})).await;
    assert!(
        records
            .iter()
            .flatten()
            .all(|r| r.outcome == Outcome::Cancelled)
    );
    assert_eq!(records.iter().flatten().count(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_recorded_as_a_scenario() {
    let set = VariantSet::from_toml_str(SET).unwrap();
    let sim = sim().await;
    let client = client(&sim);
    let dir = std::env::temp_dir().join(format!("aoai-compare-rec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.jsonl");
    let _ = std::fs::remove_file(&path);
    let mut rec = aoai::engine::record::Recorder::open(&path, Some("simulator")).unwrap();
    let mut p = plan(2, 2);
    p.capture_events = true;
    let cfg = client.config().clone();
    let cancel = CancellationToken::new();
    let records = bounded(run_set(&client, &set, &p, &cancel, |f| {
        assert!(
            !f.record.events.is_empty(),
            "events are captured for the scenario"
        );
        rec.append(aoai::engine::record::scenario_call(
            &cfg,
            &f.job.spec,
            f.record.clone(),
            f.started,
        ))
        .unwrap();
        f.record.events.clear();
    }))
    .await;
    assert_eq!(rec.written(), 6);
    assert!(records.iter().flatten().all(|r| r.events.is_empty()));
    let loaded = aoai::engine::record::load(&path).unwrap();
    assert_eq!(loaded.calls.len(), 6);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let mut n = 0;
    aoai::engine::record::for_each_summary(&path, |_| n += 1).unwrap();
    assert_eq!(n, 6);
    let _ = std::fs::remove_dir_all(&dir);
}
