//! Today's chat wire (issue 13) end to end: the real client against the simulator for the
//! 2026 rate-limit headers, PTU spillover, the asynchronous content filter, `obfuscation`
//! padding and unknown deployments on both paths. Every await bounded; no timed assertions.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aoai::azure::{Auth, Secret};
use aoai::domain::call::{ApiPath, Outcome};
use aoai::domain::call_text::metrics_block;
use aoai::domain::retry::RetryPolicy;
use aoai::engine::bench::{LoadPlan, Pacing, PromptTemplate, run_load};
use aoai::sim::SimConfig;
use aoai::sim::config::ContentFilterMode;
use common::*;
use tokio_util::sync::CancellationToken;

/// A prompt of about `n` o200k tokens.
fn long_prompt(n: usize) -> String {
    "hello ".repeat(n)
}

/// The PTU deployment shrunk to one PTU (3,000 TPM), so a ~3,200-token prompt fills it, and
/// spilling to `gpt-4o` when `spill`.
fn ptu_fleet(cfg: &mut SimConfig, spill: bool) {
    for d in &mut cfg.deployments {
        if d.name == "gpt-4.1-ptu" {
            d.capacity = 1;
            d.spillover = spill.then(|| "gpt-4o".to_string());
        }
    }
}

#[tokio::test]
async fn reset_and_renewal_headers_reach_the_record_and_its_json() {
    let sim = sim().await;
    let (rec, _) = run(&client(&sim), &ask("gpt-4o", "hi")).await;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    let header = |name: &str| {
        rec.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    // gpt-4o counts requests per 10-second window; the first request opened one.
    assert_eq!(
        header("x-ratelimit-renewalperiod-requests").as_deref(),
        Some("10")
    );
    assert_eq!(
        header("x-ratelimit-renewalperiod-tokens").as_deref(),
        Some("60")
    );
    assert_eq!(header("x-ms-is-spilled-over").as_deref(), Some("false"));
    let rl = &rec.ratelimit;
    assert_eq!(rl.renewal_period_requests_s, Some(10.0));
    assert_eq!(rl.renewal_period_tokens_s, Some(60.0));
    let reset = rl.reset_requests_s.expect("reset-requests sent");
    assert!(reset > 0.0 && reset <= 10.0, "{reset}");
    let tokens = rl.reset_tokens_s.expect("reset-tokens sent");
    assert!((0.0..=60.0).contains(&tokens), "{tokens}");
    assert!(!rl.spilled_over);
    let json = serde_json::to_value(&rec).unwrap();
    assert_eq!(json["ratelimit"]["reset_requests_s"], reset);
    assert_eq!(json["ratelimit"]["reset_tokens_s"], tokens);
    assert_eq!(json["ratelimit"]["spilled_over"], false);
    // The old keys keep their place.
    assert!(json["ratelimit"]["remaining_requests"].is_u64());
    let text = metrics_block(&rec, true);
    assert!(text.contains("   resets requests "), "{text}");
    assert!(text.contains("(windows 10 s / 60 s)"), "{text}");
}

#[tokio::test]
async fn content_chunks_carry_obfuscation_and_the_client_reads_past_it() {
    let sim = sim().await;
    let mut spec = ask("gpt-4o", "hi");
    spec.capture_events = true;
    let (rec, _) = run(&client(&sim), &spec).await;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    let content: Vec<&str> = rec
        .events
        .iter()
        .map(|e| e.data.as_str())
        .filter(|d| d.contains(r#""delta":{"content":"#) && !d.contains(r#""role""#))
        .collect();
    assert!(content.len() > 3);
    assert!(content.iter().all(|d| d.contains(r#""obfuscation":""#)));
    let answer: String = content
        .iter()
        .map(|d| {
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            v["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(rec.text, answer, "padding never leaks into the text");
}

#[tokio::test]
async fn a_throttled_ptu_call_is_served_by_its_spillover_deployment() {
    let sim = sim_with(|c| ptu_fleet(c, true)).await;
    let client = client(&sim);
    let spec = ask("gpt-4.1-ptu", &long_prompt(3200));
    let (first, _) = run(&client, &spec).await;
    assert_eq!(first.outcome, Outcome::Done, "{:?}", first.error);
    assert!(!first.ratelimit.spilled_over);
    let (second, _) = run(&client, &spec).await;
    assert_eq!(second.outcome, Outcome::Done, "{:?}", second.error);
    assert_eq!(second.status, Some(200));
    assert!(second.ratelimit.spilled_over, "{:?}", second.headers);
    assert!(
        second
            .headers
            .iter()
            .any(|(k, v)| k == "x-ms-is-spilled-over" && v == "true")
    );
    assert!(
        second.model.as_deref().unwrap().starts_with("gpt-4o-"),
        "served by gpt-4o: {:?}",
        second.model
    );
    assert_eq!(
        serde_json::to_value(&second).unwrap()["ratelimit"]["spilled_over"],
        true
    );
    assert!(metrics_block(&second, true).contains("spilled over"));
    let log = sim.requests();
    assert_eq!(log.last().unwrap().deployment.as_deref(), Some("gpt-4o"));
}

#[tokio::test]
async fn without_a_spillover_deployment_the_same_call_is_throttled() {
    let sim = sim_with(|c| ptu_fleet(c, false)).await;
    let client = client(&sim);
    let spec = ask("gpt-4.1-ptu", &long_prompt(3200));
    let (first, _) = run(&client, &spec).await;
    assert_eq!(first.outcome, Outcome::Done, "{:?}", first.error);
    let (second, _) = run(&client, &spec).await;
    assert_eq!(second.status, Some(429));
    assert_eq!(second.outcome, Outcome::Throttled);
    assert!(!second.ratelimit.spilled_over);
}

async fn bench_spilled(spill: bool) -> (u64, u64) {
    let sim = sim_with(|c| ptu_fleet(c, spill)).await;
    let client = client(&sim);
    let plan = LoadPlan {
        wire_api: None,
        deployment: "gpt-4.1-ptu".into(),
        template: Arc::new(PromptTemplate::new(3200, 16)),
        pacing: Pacing::Rate { rpm: 600.0 },
        duration: Duration::from_secs(1),
        report_every: Duration::from_millis(500),
        retry: RetryPolicy::None,
        max_in_flight: 100,
        connections: None,
        drain: Duration::from_secs(10),
    };
    let fin = bounded(run_load(
        &client,
        &plan,
        &CancellationToken::new(),
        None,
        &mut |_| {},
    ))
    .await
    .expect("the run ends");
    let json = serde_json::to_value(&fin).unwrap();
    assert_eq!(json["spilled"], fin.spilled);
    (fin.spilled, fin.throttled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_counts_spilled_calls() {
    // 10 requests; the one-PTU bucket admits the first and refuses the rest.
    let (spilled, throttled) = bench_spilled(true).await;
    assert!(spilled >= 5, "spilled {spilled}");
    assert_eq!(throttled, 0);
    let (spilled, throttled) = bench_spilled(false).await;
    assert_eq!(spilled, 0);
    assert!(throttled >= 5, "throttled {throttled}");
}

async fn async_sim() -> aoai::sim::SimHandle {
    sim_with(|c| {
        for d in &mut c.deployments {
            d.content_filter = ContentFilterMode::Async;
        }
    })
    .await
}

#[tokio::test]
async fn the_async_filter_verdict_reaches_the_record() {
    let sim = async_sim().await;
    let mut spec = ask("gpt-4o", "hi");
    spec.request.max_tokens = None;
    let (rec, _) = run(&client(&sim), &spec).await;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    assert_eq!(rec.finish_reason.as_deref(), Some("stop"));
    let v = rec.async_filter.clone().expect("a verdict");
    assert!(v.passed());
    assert_eq!(v.annotations, 2);
    assert_eq!(v.checked_to, rec.text.chars().count() as u64);
    assert!(metrics_block(&rec, true).contains("   filter (async): passed\n"));
    assert_eq!(
        serde_json::to_value(&rec).unwrap()["async_filter"]["filtered"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn a_late_async_block_ends_the_call_with_content_filter() {
    let sim = async_sim().await;
    let (rec, _) = run(
        &client(&sim),
        &ask("gpt-4o", "Please recite the full lyrics"),
    )
    .await;
    assert_eq!(rec.outcome, Outcome::Done, "{:?}", rec.error);
    assert_eq!(rec.finish_reason.as_deref(), Some("content_filter"));
    let v = rec.async_filter.clone().expect("a verdict");
    assert_eq!(v.filtered, ["protected_material_text"]);
    assert!(
        metrics_block(&rec, true).contains("filtered (async): protected_material_text"),
        "{}",
        metrics_block(&rec, true)
    );
    // The synchronous mode of the same prompt has no late verdict.
    let sync = sim_with(|_| {}).await;
    let (rec, _) = run(
        &client(&sync),
        &ask("gpt-4o", "Please recite the full lyrics"),
    )
    .await;
    assert_eq!(rec.finish_reason.as_deref(), Some("content_filter"));
    assert_eq!(rec.async_filter, None);
}

#[tokio::test]
async fn an_unknown_deployment_is_explained_on_both_paths() {
    let sim = sim().await;
    let key = || Auth::ApiKey(Secret::new("k"));
    for (api, status, code) in [
        (ApiPath::Classic, 404, "DeploymentNotFound"),
        (ApiPath::V1, 400, "unknown_model"),
    ] {
        let client = client_for(&sim, api, key());
        let (rec, _) = run(&client, &ask("nope", "hi")).await;
        assert_eq!(rec.status, Some(status), "{api:?}");
        assert_eq!(rec.outcome, Outcome::Failed, "{api:?}");
        let e = rec.error.expect("an error");
        assert_eq!(e.code.as_deref(), Some(code), "{api:?}");
        assert!(
            e.message
                .starts_with("no deployment named `nope` on this resource ("),
            "{api:?}: {e}"
        );
    }
}

/// ARM names the spillover deployment of a provisioned one (`spilloverDeploymentName`), and
/// says nothing for the others.
#[tokio::test]
async fn arm_reports_the_spillover_deployment() {
    let sim = sim_with(|c| ptu_fleet(c, true)).await;
    let base = format!(
        "{}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aoai-sim/providers/Microsoft.CognitiveServices/accounts/aoai-sim/deployments",
        sim.base_url()
    );
    let get = |name: &'static str| {
        let url = format!("{base}/{name}?api-version=2024-10-01");
        async move {
            let resp = reqwest::Client::new()
                .get(url)
                .header("authorization", "Bearer arm-token")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200);
            resp.json::<serde_json::Value>().await.unwrap()
        }
    };
    let ptu = bounded(get("gpt-4.1-ptu")).await;
    assert_eq!(ptu["properties"]["spilloverDeploymentName"], "gpt-4o");
    let std = bounded(get("gpt-4o")).await;
    assert!(
        std["properties"].get("spilloverDeploymentName").is_none(),
        "{std}"
    );
}
