//! The load engine in-process against the simulator: counts, no coordinated omission under a
//! slow service, bounded in-flight, utilisation, cancellation. Counts only, no timed
//! assertions; every await bounded.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aoai::domain::retry::RetryPolicy;
use aoai::domain::stats::{BenchReport, ReportKind};
use aoai::engine::bench::{LoadPlan, Pacing, PromptTemplate, Trace, probe, run_load};
use common::*;
use tokio_util::sync::CancellationToken;

fn plan(deployment: &str, pacing: Pacing, secs: f64) -> LoadPlan {
    LoadPlan {
        wire_api: None,
        deployment: deployment.into(),
        template: Arc::new(PromptTemplate::new(64, 16)),
        pacing,
        duration: Duration::from_secs_f64(secs),
        report_every: Duration::from_millis(250),
        retry: RetryPolicy::None,
        max_in_flight: 1000,
        connections: None,
        drain: Duration::from_secs(10),
    }
}

/// A simulator whose every deployment takes `ttft_ms` to start answering.
async fn slow_sim(ttft_ms: u64) -> aoai::sim::SimHandle {
    sim_with(|c| {
        for d in &mut c.deployments {
            d.latency.ttft_ms = ttft_ms;
        }
    })
    .await
}

async fn go(
    client: &aoai::azure::ChatClient,
    plan: &LoadPlan,
    cancel: &CancellationToken,
    trace: Option<aoai::engine::bench::TraceFn>,
) -> (BenchReport, Vec<BenchReport>) {
    let mut reports = Vec::new();
    let fin = bounded(run_load(client, plan, cancel, trace, &mut |r| {
        reports.push(r.clone())
    }))
    .await
    .expect("run ends without a fatal error");
    (fin, reports)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_starts_every_slot_and_measures_everything() {
    let sim = sim().await;
    let client = client(&sim);
    // 1,200 RPM for 1.5 s: slots at 0, 50, …, 1450 ms = 30 requests.
    let p = plan("gpt-4o", Pacing::Rate { rpm: 1200.0 }, 1.5);
    let traces = Arc::new(Mutex::new(Vec::<Trace>::new()));
    let t = traces.clone();
    let (fin, reports) = go(
        &client,
        &p,
        &CancellationToken::new(),
        Some(Arc::new(move |tr: &Trace| {
            t.lock().unwrap().push(tr.clone())
        })),
    )
    .await;
    assert_eq!(fin.kind, ReportKind::Final);
    assert_eq!(fin.started, 30);
    assert_eq!(fin.completed, 30, "{fin:?}");
    assert_eq!((fin.failed, fin.throttled, fin.dropped), (0, 0, 0));
    assert_eq!(fin.in_flight, 0);
    assert_eq!(fin.ttft_ms.count, 30);
    assert_eq!(fin.e2e_ms.count, 30);
    assert!(fin.tbt_ms.count > 0);
    assert_eq!(fin.avg_prompt_tokens, 64.0, "prompts are token-exact");
    assert!(fin.avg_completion_tokens > 0.0 && fin.avg_completion_tokens <= 16.0);
    assert!(fin.input_tpm > 0.0 && fin.output_tpm > 0.0);
    assert!(fin.ttft_ms.p50 <= fin.ttft_ms.p99 && fin.ttft_ms.p99 <= fin.ttft_ms.max);
    // Interval reports add up to the final count.
    let interval_finished: u64 = reports.iter().map(|r| r.finished).sum();
    assert!(interval_finished <= 30);
    // Every request was seen by the simulator, with a first token the client saw later.
    let traces = traces.lock().unwrap();
    assert_eq!(traces.len(), 30);
    let log = sim.requests();
    for tr in traces.iter() {
        let rid = tr.request_id.as_deref().unwrap();
        let entry = log.iter().find(|e| e.request_id == rid).unwrap();
        let (client_first, sim_first) = (tr.first_token_at.unwrap(), entry.first_token_at.unwrap());
        assert!(
            client_first >= sim_first,
            "client saw the token after it was written"
        );
        assert!(tr.started >= tr.scheduled);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_service_neither_slows_nor_floods_the_schedule() {
    // Every answer takes 3 s to start; 6,000 RPM for 1 s = 100 slots, room for 10 in flight:
    // 10 start on schedule (nothing waits for an answer), the other 90 are dropped and
    // counted (never queued, never sent late in a burst); the drain then cancels the 10.
    let sim = slow_sim(3000).await;
    let client = client(&sim);
    let mut p = plan("gpt-4o", Pacing::Rate { rpm: 6000.0 }, 1.0);
    p.max_in_flight = 10;
    p.drain = Duration::from_millis(200);
    let (fin, _) = go(&client, &p, &CancellationToken::new(), None).await;
    assert_eq!(fin.started, 10);
    assert_eq!(fin.dropped, 90);
    assert_eq!(fin.started + fin.dropped, 100);
    assert_eq!(fin.cancelled, 10);
    assert_eq!(fin.completed, 0);
    assert_eq!(fin.in_flight, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cap_queues_starts_instead_of_opening_more_connections() {
    // Every answer takes 200 ms to start; 3,000 RPM for 0.5 s = 25 slots, 10 would be on the
    // wire at once. With --connections 3 at most 3 are: the rest wait for a connection (the
    // wait counts in their start lag and latency), none is dropped and all complete.
    let sim = slow_sim(200).await;
    let client = client(&sim);
    let mut p = plan("gpt-4o", Pacing::Rate { rpm: 3000.0 }, 0.5);
    p.connections = Some(3);
    let (fin, _) = go(&client, &p, &CancellationToken::new(), None).await;
    assert_eq!(fin.started, 25);
    assert_eq!(fin.completed, 25, "{fin:?}");
    assert_eq!(fin.dropped, 0);
    // The queue shows in the start lag and in latency, which counts from the scheduled
    // start (25 calls, 3 at a time, ≥ 200 ms each → the last starts ≥ 1.1 s after its slot).
    assert!(fin.start_lag_ms.max >= 1000.0, "{:?}", fin.start_lag_ms);
    assert!(fin.e2e_ms.max >= 1000.0, "{:?}", fin.e2e_ms);
    // A connection goes back to the pool a moment after its call ends, so a queued start
    // may now and then open one more; still far fewer than without the cap.
    let capped = sim.connections();
    assert!(capped <= 6, "{capped} connections");
    let sim2 = slow_sim(200).await;
    p.connections = None;
    let (fin, _) = go(&common::client(&sim2), &p, &CancellationToken::new(), None).await;
    assert_eq!(fin.completed, 25);
    assert!(sim2.connections() >= 9, "uncapped: {}", sim2.connections());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_and_throttling_on_gpt4o_mini() {
    // gpt-4o-mini has capacity 2 (2 requests per 10 s): most of the load is throttled.
    let sim = sim().await;
    let client = client(&sim);
    let p = plan("gpt-4o-mini", Pacing::Clients { n: 2 }, 0.5);
    let (fin, _) = go(&client, &p, &CancellationToken::new(), None).await;
    assert!(fin.completed >= 1 && fin.completed <= 2, "{fin:?}");
    assert!(fin.throttled > 0);
    assert_eq!(fin.http_429, fin.throttled);
    assert!(fin.rate_429 > 0.0);
    assert!(fin.retry_after_ms_max.is_some());
    assert_eq!(fin.errors.get("throttled"), Some(&fin.throttled));
    assert_eq!(fin.started, fin.completed + fin.throttled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_deployments_report_utilisation() {
    let sim = sim().await;
    let client = client(&sim);
    let p = plan("gpt-4.1-ptu", Pacing::Rate { rpm: 600.0 }, 0.5);
    let (fin, _) = go(&client, &p, &CancellationToken::new(), None).await;
    assert!(fin.completed > 0);
    let u = fin.utilization_pct.expect("utilisation header seen");
    assert!(u.count > 0 && u.max > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_at_once_with_a_final_report() {
    let sim = slow_sim(60_000).await;
    let client = client(&sim);
    let p = plan("gpt-4o", Pacing::Rate { rpm: 600.0 }, 3600.0);
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let mut reports = 0;
    let fin = bounded(run_load(&client, &p, &cancel, None, &mut |_| {
        reports += 1;
        if reports == 2 {
            c2.cancel();
        }
    }))
    .await
    .unwrap();
    assert_eq!(fin.kind, ReportKind::Final);
    assert!(fin.started > 0);
    assert_eq!(fin.cancelled, fin.started, "calls in flight are cancelled");
    assert_eq!(fin.in_flight, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_is_a_clear_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sim = sim().await; // only for the client's shape; pointed elsewhere below
    drop(sim);
    let mut cfg = aoai::azure::ClientConfig::new(
        aoai::azure::Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        aoai::azure::Auth::ApiKey(aoai::azure::Secret::new("k")),
    );
    cfg.timeouts.connect = Duration::from_secs(2);
    let client = aoai::azure::ChatClient::new(cfg).unwrap();
    let p = plan("gpt-4o", Pacing::Rate { rpm: 600.0 }, 60.0);
    let err = bounded(probe(&client, &p, &CancellationToken::new()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not connect"), "{err}");
    // And mid-run: the run ends after DEAD_AFTER connection failures, not at --duration.
    let mut last = None;
    let r = bounded(run_load(
        &client,
        &p,
        &CancellationToken::new(),
        None,
        &mut |r| last = Some(r.clone()),
    ))
    .await;
    let err = r.unwrap_err();
    assert!(err.to_string().contains("stopped answering"), "{err}");
    let fin = last.expect("final report before the error");
    assert_eq!(fin.kind, ReportKind::Final);
    assert!(fin.failed >= aoai::engine::bench::DEAD_AFTER);
}
