//! Bench, headroom, metrics, PTU and profile-picker views: snapshots at 80×24 and 160×48 with
//! a manual clock and synthetic results; and one bench run from the console against the
//! in-process simulator.

use std::collections::BTreeMap;
use std::time::Duration;

use aoai::azure::arm::{ArmError, Deployment, QuotaUsage};
use aoai::azure::monitor::DeploymentMetrics;
use aoai::domain::call::{CallEvent, CallRecord, Outcome, Timings};
use aoai::domain::ratelimit::RateLimit;
use aoai::domain::stats::{BenchReport, Percentiles, ReportKind};
use aoai::domain::usage::Usage;
use aoai::tui::app::App;
use aoai::tui::app::Screen;
use aoai::tui::event::{AppEvent, ArmMsg, BenchMsg, CallMsg, ManualClock};
use aoai::tui::messages::{ArmEffect, BenchEffect, Effect, ProfileEffect};
use crossterm::event::{KeyCode, KeyModifiers};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "common/console.rs"]
mod console;
#[path = "common/harness.rs"]
mod harness;
use console::{app, key, press, type_str};
use harness::Harness;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
const ACCT: &str =
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/aoai-swe";

fn snap_sizes(app: &mut App, name: &str) {
    for (w, h) in SIZES {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| app.render(f.area(), f.buffer_mut())).unwrap();
        assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn dep(name: &str, model: &str, version: &str, sku: &str, cap: u64) -> Deployment {
    let provisioned = sku.contains("Provisioned");
    Deployment {
        name: name.into(),
        model: model.into(),
        version: version.into(),
        sku: sku.into(),
        capacity: cap,
        rpm: (!provisioned).then_some(cap * 6),
        tpm: (!provisioned).then_some(cap * 1000),
        state: "Succeeded".into(),
    }
}

fn quota(name: &str, current: f64, limit: f64) -> QuotaUsage {
    QuotaUsage {
        name: name.into(),
        label: name.into(),
        current,
        limit,
        unit: "Count".into(),
    }
}

/// A finished call to `deployment` with these rate-limit headers.
fn call(app: &mut App, clock: &ManualClock, deployment: &str, remaining: u64, util: Option<f64>) {
    type_str(app, "How much headroom is left?");
    let effects = press(app, KeyCode::Enter);
    let Some(Effect::StartCall { id, .. }) = effects.first() else {
        panic!("{effects:?}");
    };
    let id = *id;
    let ratelimit = RateLimit {
        remaining_requests: Some(remaining),
        limit_requests: Some(450),
        remaining_tokens: Some(remaining * 1000),
        limit_tokens: Some(450_000),
        utilization_pct: util,
        ..Default::default()
    };
    clock.advance(Duration::from_millis(120));
    app.handle(AppEvent::Call(
        id,
        CallMsg::Event(CallEvent::Headers {
            status: 200,
            ttfb_ms: 120.0,
            ratelimit: Box::new(ratelimit.clone()),
            request_id: Some(format!("0d6a3c1e-0000-4000-8000-00000000000{id}")),
            region: Some("Sweden Central".into()),
        }),
    ));
    clock.advance(Duration::from_millis(700));
    let rec = CallRecord {
        id,
        deployment: deployment.into(),
        outcome: Outcome::Done,
        status: Some(200),
        model: Some("gpt-4o-2024-11-20".into()),
        text: "Plenty.".into(),
        timing: Timings {
            ttfb_ms: Some(120.0),
            ttft_ms: Some(300.0),
            e2e_ms: Some(820.0),
            tokens_per_s: Some(60.0),
            ..Default::default()
        },
        usage: Some(Usage {
            prompt_tokens: 1000,
            completion_tokens: 200,
            cached_tokens: 0,
            reasoning_tokens: 0,
            total_tokens: 1200,
        }),
        ratelimit,
        region: Some("Sweden Central".into()),
        cost_usd: None,
        ..Default::default()
    };
    app.handle(AppEvent::Call(id, CallMsg::Finished(Box::new(rec))));
}

/// The browser with one account, three deployments and the region's quota.
fn browser(app: &mut App) {
    let effects = press(app, KeyCode::F(4));
    assert!(
        matches!(effects.as_slice(), [Effect::Arm(ArmEffect::LoadAccounts)]),
        "{effects:?}"
    );
    let acct = console::sample_account(ACCT);
    app.handle(AppEvent::Arm(ArmMsg::Accounts(Ok(vec![acct]))));
    app.handle(AppEvent::Arm(ArmMsg::Deployments {
        account_id: ACCT.into(),
        result: Ok(vec![
            dep("gpt-4o", "gpt-4o", "2024-11-20", "GlobalStandard", 450),
            dep(
                "gpt-4o-batchy",
                "gpt-4o",
                "2024-11-20",
                "GlobalStandard",
                300,
            ),
            dep(
                "gpt-4.1-ptu",
                "gpt-4.1",
                "2025-04-14",
                "GlobalProvisionedManaged",
                15,
            ),
        ]),
    }));
    app.handle(AppEvent::Arm(ArmMsg::Quota {
        location: "swedencentral".into(),
        result: Ok(vec![
            quota("OpenAI.GlobalStandard.gpt-4o", 750.0, 1000.0),
            quota("OpenAI.GlobalProvisionedManaged.gpt-4.1", 15.0, 100.0),
        ]),
    }));
}

fn metrics() -> DeploymentMetrics {
    let wave = |scale: f64| -> Vec<f64> {
        (0..60)
            .map(|i| ((i as f64 / 6.0).sin() + 1.2) * scale)
            .map(f64::round)
            .collect()
    };
    let mut by_status = BTreeMap::new();
    by_status.insert("200".to_string(), wave(10.0));
    let mut throttled = vec![0.0; 60];
    throttled[50] = 3.0;
    throttled[51] = 5.0;
    by_status.insert("429".to_string(), throttled);
    DeploymentMetrics {
        deployment: "gpt-4o".into(),
        requests_by_status: by_status,
        prompt_tokens: wave(10_000.0),
        generated_tokens: wave(2_000.0),
        ptu_utilization: vec![0.0; 60],
        time_to_response_ms: wave(300.0),
    }
}

#[test]
fn deployments_details_show_headroom_and_monitor_sparklines() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    call(&mut a, &clock, "gpt-4o", 40, None);
    browser(&mut a);
    // Sorted by name: gpt-4.1-ptu, gpt-4o, gpt-4o-batchy.
    assert!(press(&mut a, KeyCode::Char('j')).is_empty());
    let effects = press(&mut a, KeyCode::Char('d'));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Arm(ArmEffect::LoadMetrics { deployment, .. })] if deployment == "gpt-4o"
        ),
        "{effects:?}"
    );
    snap_sizes(&mut a, "deployments_metrics_loading");
    a.handle(AppEvent::Arm(ArmMsg::Metrics {
        account_id: ACCT.into(),
        deployment: "gpt-4o".into(),
        result: Ok(metrics()),
    }));
    snap_sizes(&mut a, "deployments_headroom_metrics");
    // Another deployment: its metrics fail.
    let effects = press(&mut a, KeyCode::Char('j'));
    assert_eq!(effects.len(), 1, "{effects:?}");
    a.handle(AppEvent::Arm(ArmMsg::Metrics {
        account_id: ACCT.into(),
        deployment: "gpt-4o-batchy".into(),
        result: Err(ArmError::Http {
            status: 403,
            code: "AuthorizationFailed".into(),
            message: "no Monitoring Reader".into(),
        }),
    }));
    snap_sizes(&mut a, "deployments_headroom_metrics_failed");
}

#[test]
fn opening_a_ptu_deployment_shows_utilisation_in_the_call_panel() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    browser(&mut a);
    press(&mut a, KeyCode::Char('G'));
    let effects = press(&mut a, KeyCode::Enter);
    let [
        Effect::Arm(ArmEffect::UseDeployment {
            name,
            endpoint,
            model,
        }),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}");
    };
    assert_eq!(
        name, "gpt-4o-batchy",
        "sorted by name: gpt-4.1-ptu, gpt-4o, gpt-4o-batchy"
    );
    assert_eq!(
        endpoint.as_deref(),
        Some("https://aoai-swe.openai.azure.com/")
    );
    assert_eq!(model.sku, "GlobalStandard");
    assert!(press(&mut a, KeyCode::F(4)).is_empty(), "loaded already");
    press(&mut a, KeyCode::Char('g'));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.screen, Screen::Chat);
    assert_eq!(a.deployment, "gpt-4.1-ptu");
    call(&mut a, &clock, "gpt-4.1-ptu", 440, Some(37.5));
    snap_sizes(&mut a, "chat_ptu_deployment");
}

fn pct(p50: f64, p95: f64, count: u64) -> Percentiles {
    Percentiles {
        count,
        mean: p50,
        p50,
        p90: p95,
        p95,
        p99: p95,
        max: p95,
    }
}

fn report(i: u64) -> BenchReport {
    BenchReport {
        kind: ReportKind::Interval,
        elapsed_s: i as f64,
        span_s: 1.0,
        started: i * 2,
        completed: i * 2 - 1,
        throttled: i / 4,
        in_flight: 1,
        finished: 2,
        rpm: 100.0 + (i % 4) as f64 * 10.0,
        input_tpm: 6_400.0,
        output_tpm: 1_600.0,
        ttft_ms: pct(200.0, 300.0 + (i % 3) as f64 * 50.0, 2),
        e2e_ms: pct(600.0, 900.0, 2),
        http_429: if i.is_multiple_of(4) { 1 } else { 0 },
        rate_429: if i.is_multiple_of(4) { 0.5 } else { 0.0 },
        ..Default::default()
    }
}

#[test]
fn bench_screen_form_live_charts_and_final_report() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    call(&mut a, &clock, "gpt-4o", 440, None);
    clock.advance(Duration::from_secs(30));
    call(&mut a, &clock, "gpt-4o", 439, None);
    assert!(press(&mut a, KeyCode::F(5)).is_empty());
    assert_eq!(a.screen, Screen::Bench);
    snap_sizes(&mut a, "bench_idle");
    let effects = press(&mut a, KeyCode::Enter);
    let [
        Effect::Bench(BenchEffect::Start {
            generation,
            spec,
            deployment,
            ..
        }),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}");
    };
    assert_eq!((*generation, deployment.as_str()), (1, "gpt-4o"));
    assert_eq!(spec.duration, Duration::from_secs(30));
    for i in 1..=12 {
        a.handle(AppEvent::Bench(BenchMsg::Report {
            generation: 1,
            report: Box::new(report(i)),
        }));
    }
    // A report of an earlier run is dropped.
    a.handle(AppEvent::Bench(BenchMsg::Report {
        generation: 0,
        report: Box::new(report(99)),
    }));
    snap_sizes(&mut a, "bench_running");
    let stop = press(&mut a, KeyCode::Esc);
    assert!(
        matches!(stop.as_slice(), [Effect::Bench(BenchEffect::Stop)]),
        "{stop:?}"
    );
    let mut fin = report(12);
    fin.kind = ReportKind::Final;
    fin.elapsed_s = 12.4;
    fin.ptu_note = Some("no completed request: the workload shape is unknown".into());
    a.handle(AppEvent::Bench(BenchMsg::Done {
        generation: 1,
        result: Ok(Box::new(fin)),
    }));
    snap_sizes(&mut a, "bench_final");
}

#[test]
fn profile_picker_overlay() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    a.set_profiles(vec!["jump".into(), "laptop".into()]);
    assert!(key(&mut a, KeyCode::Char('p'), KeyModifiers::ALT).is_empty());
    assert!(a.picker_open());
    snap_sizes(&mut a, "profile_picker");
    press(&mut a, KeyCode::Up);
    let effects = press(&mut a, KeyCode::Enter);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Profile(ProfileEffect::Connect { generation: 1, name })] if name == "laptop"
        ),
        "{effects:?}"
    );
    assert!(!a.picker_open());
}

/// The whole console against the simulator: F5, a 3-second run at 60 RPM of the small
/// shape, until the final report is in.
#[tokio::test]
async fn a_short_bench_run_from_the_console_completes_requests() {
    let mut h = Harness::on_sim("gpt-4o").await;
    h.key(KeyCode::F(5));
    // Rate 60 RPM (default); duration 3 s; shape: small (one step left of balanced).
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    for _ in 0..3 {
        h.key(KeyCode::Backspace);
    }
    h.key(KeyCode::Char('3'));
    h.key(KeyCode::Down);
    h.key(KeyCode::Left);
    h.key(KeyCode::Enter);
    h.run_until(|a| a.bench().run.as_ref().is_some_and(|r| !r.running()))
        .await;
    let app = &h.app;
    let run = app.bench().run.clone().unwrap();
    assert_eq!(
        (run.spec.shape, run.spec.duration),
        ("small", Duration::from_secs(3))
    );
    let fin = match run.result.unwrap() {
        Ok(f) => f,
        Err(e) => panic!("{e}\n{}", h.screen()),
    };
    assert_eq!(fin.kind, ReportKind::Final);
    assert!(fin.completed >= 1, "{fin:?}");
    assert!(fin.ptu.is_some() || fin.ptu_note.is_some(), "{fin:?}");
    let screen = h.screen();
    assert!(screen.contains("final"), "{screen}");
    assert!(
        screen.contains(&format!("done {}", fin.completed)),
        "{screen}"
    );
}
