//! Rendered frames of every view at 80×24 and 160×48 on TestBackend, with a manual clock and
//! injected call events, so snapshots are deterministic.

use std::sync::Arc;
use std::time::Duration;

use aoai::azure::arm::{Account, Deployment, QuotaUsage};
use aoai::domain::call::{Attempt, CallError, CallEvent, CallRecord, ErrorKind, Outcome};
use aoai::domain::ratelimit::RateLimit;
use aoai::tui::app::{App, AppConfig};
use aoai::tui::event::{AppEvent, ArmMsg, CallMsg, ManualClock};
use aoai::tui::messages::{ArmEffect, Effect, TerminalEffect};
use aoai::tui::theme::{ColourSupport, Theme};
use crossterm::event::{KeyCode, KeyModifiers};
use insta::assert_snapshot;
use ratatui::style::Color;

#[path = "common/console.rs"]
mod console;
use console::*;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn snap_sizes(app: &mut App, name: &str) {
    for (w, h) in SIZES {
        let t = draw(app, w, h);
        assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn ev(app: &mut App, id: u64, e: CallEvent) {
    app.handle(AppEvent::Call(id, CallMsg::Event(e)));
}

const ANSWER: &str = "## Three fruits\n\n- **Apple**: crisp and sweet\n- Banana\n- Cherry, which is small, round and usually red when ripe\n\n```\nlet fruit = \"apple\";\n```\n";

fn headers(remaining_requests: u64) -> CallEvent {
    CallEvent::Headers {
        status: 200,
        ttfb_ms: 120.0,
        ratelimit: Box::new(RateLimit {
            remaining_requests: Some(remaining_requests),
            limit_requests: Some(450),
            remaining_tokens: Some(449_000),
            limit_tokens: Some(450_000),
            ..Default::default()
        }),
        request_id: Some("0d6a3c1e-0000-4000-8000-000000000001".into()),
        region: Some("Sweden Central".into()),
    }
}

/// Sends a prompt and streams part of the answer (one unfinished line pending).
fn streaming(clock: &ManualClock) -> App {
    let mut a = app(clock);
    type_str(&mut a, "Name three fruits");
    let effects = press(&mut a, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::StartCall { id: 1, .. }]),
        "{effects:?}"
    );
    clock.advance(Duration::from_millis(5));
    ev(
        &mut a,
        1,
        CallEvent::AttemptStarted {
            attempt: 1,
            deployment: "gpt-4o".into(),
        },
    );
    clock.advance(Duration::from_millis(115));
    ev(&mut a, 1, headers(449));
    clock.advance(Duration::from_millis(300));
    ev(&mut a, 1, CallEvent::FirstToken { ttft_ms: 420.0 });
    let cut = ANSWER.find("Cherry").unwrap();
    for piece in ANSWER[..cut + 10].split_inclusive(' ') {
        clock.advance(Duration::from_millis(12));
        ev(&mut a, 1, CallEvent::Delta(piece.to_string()));
    }
    a
}

fn done_record() -> CallRecord {
    CallRecord {
        model: Some("gpt-4o-2024-11-20".into()),
        ratelimit: sample_ratelimit(),
        region: Some("Sweden Central".into()),
        cost_usd: Some(0.00058),
        attempts: vec![Attempt {
            deployment: "gpt-4o".into(),
            status: Some(200),
            ..Default::default()
        }],
        headers: vec![
            (
                "content-type".into(),
                "text/event-stream; charset=utf-8".into(),
            ),
            (
                "apim-request-id".into(),
                "0d6a3c1e-0000-4000-8000-000000000001".into(),
            ),
            ("x-ms-region".into(), "Sweden Central".into()),
            ("x-ratelimit-remaining-requests".into(), "449".into()),
        ],
        ..console::done_record(ANSWER, 24, 52)
    }
}

fn done(clock: &ManualClock) -> App {
    let mut a = streaming(clock);
    clock.advance(Duration::from_millis(300));
    a.handle(AppEvent::Call(
        1,
        CallMsg::Finished(Box::new(done_record())),
    ));
    a
}

#[test]
fn chat_empty() {
    let clock = ManualClock::default();
    snap_sizes(&mut app(&clock), "chat_empty");
}

#[test]
fn chat_waiting_for_first_token() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    type_str(&mut a, "Hello");
    press(&mut a, KeyCode::Enter);
    ev(
        &mut a,
        1,
        CallEvent::AttemptStarted {
            attempt: 1,
            deployment: "gpt-4o".into(),
        },
    );
    clock.advance(Duration::from_millis(120));
    ev(&mut a, 1, headers(449));
    clock.advance(Duration::from_millis(650));
    assert!(a.animating(), "the waiting timer ticks");
    snap_sizes(&mut a, "chat_waiting");
}

#[test]
fn chat_streaming() {
    let clock = ManualClock::default();
    let mut a = streaming(&clock);
    let t = draw(&mut a, 80, 24);
    let screen = format!("{}", t.backend());
    assert!(screen.contains("Banana"), "{screen}");
    assert!(
        !screen.contains("Cherry"),
        "the unfinished line is held back (newline-gated)\n{screen}"
    );
    snap_sizes(&mut a, "chat_streaming");
}

#[test]
fn chat_done() {
    let clock = ManualClock::default();
    let mut a = done(&clock);
    assert!(!a.animating(), "no timer once the call ended");
    snap_sizes(&mut a, "chat_done");
}

#[test]
fn chat_throttled_with_countdown() {
    let clock = ManualClock::default();
    let cfg = AppConfig {
        deployment: "gpt-4o-mini".into(),
        endpoint_label: "in-process".into(),
        sim: true,
        ..Default::default()
    };
    let mut a = App::new(cfg, Theme::dark(), Arc::new(clock.clone()));
    type_str(&mut a, "hi");
    press(&mut a, KeyCode::Enter);
    clock.advance(Duration::from_millis(8));
    let rl = RateLimit {
        retry_after_ms: Some(7000),
        remaining_requests: Some(0),
        limit_requests: Some(12),
        ..Default::default()
    };
    let mut err = CallError::new(
        ErrorKind::Throttled,
        "Requests to the ChatCompletions_Create Operation have exceeded call rate limit. Please retry after 7 seconds.",
    );
    err.status = Some(429);
    err.code = Some("429".into());
    let rec = CallRecord {
        id: 1,
        deployment: "gpt-4o-mini".into(),
        outcome: Outcome::Throttled,
        status: Some(429),
        ratelimit: rl,
        error: Some(err),
        attempts: vec![Attempt {
            deployment: "gpt-4o-mini".into(),
            status: Some(429),
            retry_after_ms: Some(7000),
            ..Default::default()
        }],
        ..Default::default()
    };
    a.handle(AppEvent::Call(1, CallMsg::Finished(Box::new(rec))));
    clock.advance(Duration::from_millis(2500));
    assert!(a.animating(), "the countdown ticks");
    let screen = format!("{}", draw(&mut a, 80, 24).backend());
    assert!(screen.contains("4.50 s"), "{screen}");
    snap_sizes(&mut a, "chat_throttled");
    clock.advance(Duration::from_secs(5));
    assert!(!a.animating(), "the countdown stops at zero");
}

#[test]
fn chat_cancelled_drops_late_events() {
    let clock = ManualClock::default();
    let mut a = streaming(&clock);
    let effects = press(&mut a, KeyCode::Esc);
    assert!(
        matches!(effects.as_slice(), [Effect::CancelCall(1)]),
        "{effects:?}"
    );
    ev(&mut a, 1, CallEvent::Delta("LATE DELTA\n".into()));
    let mut rec = done_record();
    rec.outcome = Outcome::Cancelled;
    rec.text = "## Three fruits\n".into();
    a.handle(AppEvent::Call(1, CallMsg::Finished(Box::new(rec))));
    let screen = format!("{}", draw(&mut a, 80, 24).backend());
    assert!(!screen.contains("LATE DELTA"), "{screen}");
    assert!(screen.contains("cancelled"), "{screen}");
    assert_eq!(
        a.session.latest().unwrap().record.as_ref().unwrap().outcome,
        Outcome::Cancelled
    );
}

#[test]
fn ctrl_c_twice_quits_and_q_quits_outside_text() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    assert!(key(&mut a, KeyCode::Char('c'), KeyModifiers::CONTROL).is_empty());
    assert!(a.message.as_deref().unwrap().contains("Ctrl+C again"));
    assert!(matches!(
        key(&mut a, KeyCode::Char('c'), KeyModifiers::CONTROL).as_slice(),
        [Effect::Terminal(TerminalEffect::Quit)]
    ));
    let mut a = app(&clock);
    assert!(
        press(&mut a, KeyCode::Char('q')).is_empty(),
        "q is text in the prompt"
    );
    press(&mut a, KeyCode::Esc);
    assert!(matches!(
        press(&mut a, KeyCode::Char('q')).as_slice(),
        [Effect::Terminal(TerminalEffect::Quit)]
    ));
}

#[test]
fn history_table_and_detail() {
    let clock = ManualClock::default();
    let mut a = done(&clock);
    press(&mut a, KeyCode::F(3));
    snap_sizes(&mut a, "history_table");
    press(&mut a, KeyCode::Enter);
    snap_sizes(&mut a, "history_detail");
    let effects = press(&mut a, KeyCode::Char('c'));
    assert!(
        matches!(effects.as_slice(), [Effect::Terminal(TerminalEffect::Copy(id))] if id == "0d6a3c1e-0000-4000-8000-000000000001"),
        "{effects:?}"
    );
}

fn arm_data(a: &mut App) {
    let acct_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aoai-sim/providers/Microsoft.CognitiveServices/accounts/aoai-sim";
    let acct = Account {
        id: acct_id.into(),
        name: "aoai-sim".into(),
        location: "swedencentral".into(),
        kind: "OpenAI".into(),
        sku: "S0".into(),
        endpoint: None,
        state: "Succeeded".into(),
    };
    let effects = a.handle(AppEvent::Arm(ArmMsg::Accounts(Ok(vec![acct]))));
    assert_eq!(effects.len(), 2, "deployments + quota of the first account");
    let d = |name: &str,
             model: &str,
             version: &str,
             sku: &str,
             cap: u64,
             rpm: Option<u64>,
             tpm: Option<u64>| Deployment {
        name: name.into(),
        model: model.into(),
        version: version.into(),
        sku: sku.into(),
        capacity: cap,
        rpm,
        tpm,
        state: "Succeeded".into(),
    };
    let deps = vec![
        d(
            "gpt-4o",
            "gpt-4o",
            "2024-11-20",
            "GlobalStandard",
            450,
            Some(2700),
            Some(450_000),
        ),
        d(
            "gpt-4o-mini",
            "gpt-4o-mini",
            "2024-07-18",
            "Standard",
            2,
            Some(12),
            Some(2000),
        ),
        d(
            "gpt-4.1-ptu",
            "gpt-4.1",
            "2025-04-14",
            "GlobalProvisionedManaged",
            15,
            Some(270),
            None,
        ),
        d(
            "o4-mini",
            "o4-mini",
            "2025-04-16",
            "GlobalStandard",
            100,
            Some(100),
            Some(100_000),
        ),
    ];
    a.handle(AppEvent::Arm(ArmMsg::Deployments {
        account_id: acct_id.into(),
        result: Ok(deps),
    }));
    let q = |name: &str, cur: f64, limit: f64| QuotaUsage {
        name: name.into(),
        label: name.into(),
        current: cur,
        limit,
        unit: "Count".into(),
    };
    a.handle(AppEvent::Arm(ArmMsg::Quota {
        location: "swedencentral".into(),
        result: Ok(vec![
            q("OpenAI.GlobalStandard.gpt-4o", 450.0, 1000.0),
            q("OpenAI.Standard.gpt-4o-mini", 2.0, 1000.0),
            q("AccountCount", 1.0, 200.0),
        ]),
    }));
}

#[test]
fn deployments_loading_loaded_filtered_and_open_chat() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    let effects = press(&mut a, KeyCode::F(4));
    assert!(
        matches!(effects.as_slice(), [Effect::Arm(ArmEffect::LoadAccounts)]),
        "{effects:?}"
    );
    snap_sizes(&mut a, "deployments_loading");
    arm_data(&mut a);
    snap_sizes(&mut a, "deployments_loaded");
    press(&mut a, KeyCode::Char('/'));
    type_str(&mut a, "mini");
    let t = draw(&mut a, 80, 24);
    assert_snapshot!("deployments_filter_80x24", t.backend());
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Char('j'));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.deployment, "o4-mini");
    assert_eq!(a.screen, aoai::tui::app::Screen::Chat);
}

#[test]
fn deployments_error_is_visible() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    press(&mut a, KeyCode::F(4));
    a.handle(AppEvent::Arm(ArmMsg::Accounts(Err(
        aoai::azure::arm::ArmError::Http {
            status: 403,
            code: "AuthorizationFailed".into(),
            message: "The client does not have authorization to perform action".into(),
        },
    ))));
    let t = draw(&mut a, 80, 24);
    assert_snapshot!("deployments_error_80x24", t.backend());
}

#[test]
fn help_overlay() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    press(&mut a, KeyCode::F(1));
    snap_sizes(&mut a, "help");
    press(&mut a, KeyCode::Esc);
    let screen = format!("{}", draw(&mut a, 80, 24).backend());
    assert!(!screen.contains("Keys (Esc closes"), "{screen}");
}

#[test]
fn narrow_and_tiny_terminals() {
    let clock = ManualClock::default();
    let mut a = done(&clock);
    assert_snapshot!("chat_done_60x20", draw(&mut a, 60, 20).backend());
    assert_snapshot!("too_small_30x8", draw(&mut a, 30, 8).backend());
    for (w, h) in [(1, 1), (0, 0), (5, 40), (200, 3)] {
        draw(&mut a, w, h);
    }
}

#[test]
fn simulator_badge_uses_ansi16_colours() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    let t = draw(&mut a, 80, 24);
    let buf = t.backend().buffer();
    let x = (0..80)
        .find(|&x| buf[(x, 0)].symbol() == "S" && buf[(x + 1, 0)].symbol() == "I")
        .expect("badge");
    let cell = &buf[(x, 0)];
    assert_eq!(cell.bg, Color::Yellow);
    assert_eq!(cell.fg, Color::Black);
    for y in 0..24 {
        for x in 0..80 {
            let c = &buf[(x, y)];
            assert!(
                !matches!(c.fg, Color::Rgb(..) | Color::Indexed(..))
                    && !matches!(c.bg, Color::Rgb(..) | Color::Indexed(..))
            );
        }
    }
}

#[test]
fn no_color_renders_without_colours() {
    let clock = ManualClock::default();
    let cfg = AppConfig {
        deployment: "gpt-4o".into(),
        endpoint_label: "in-process".into(),
        sim: true,
        ..Default::default()
    };
    let mut a = App::new(
        cfg,
        Theme::dark().for_terminal(ColourSupport::None),
        Arc::new(clock),
    );
    let t = draw(&mut a, 80, 24);
    let buf = t.backend().buffer();
    for y in 0..24 {
        for x in 0..80 {
            let c = &buf[(x, y)];
            assert!(
                matches!(c.fg, Color::Reset) && matches!(c.bg, Color::Reset),
                "({x},{y}) {c:?}"
            );
        }
    }
}

/// docs/console.md lists every binding exactly as the keymap (and so `?`) does.
#[test]
fn docs_list_every_key() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/console.md"))
        .unwrap_or_default();
    let mut missing = String::new();
    for s in aoai::tui::keymap::help_sections() {
        missing.push_str(&format!(
            "\n### {}\n\n| Keys | Action |\n|---|---|\n",
            s.title
        ));
        for (keys, help) in s.rows {
            let row = format!("| `{keys}` | {help} |");
            missing.push_str(&row);
            missing.push('\n');
        }
    }
    assert!(
        docs.contains(&missing),
        "update docs/console.md with:\n{missing}"
    );
}
