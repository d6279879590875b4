//! The console items of issue 11 ("reality pass"): what a new user and real recordings broke,
//! each pinned on TestBackend with a manual clock (deterministic, no sleeps).

use std::sync::Arc;
use std::time::Duration;

use aoai::domain::call::{Attempt, CallEvent, CallRecord, Outcome};
use aoai::domain::usage::Usage;
use aoai::tui::app::{App, AppConfig};
use aoai::tui::event::{AppEvent, CallMsg, ManualClock};
use aoai::tui::messages::{ArmEffect, Effect, RecordEffect, TerminalEffect};
use aoai::tui::theme::{ColourSupport, Theme};
use crossterm::event::{KeyCode, KeyModifiers};
use insta::assert_snapshot;

#[path = "common/console.rs"]
mod console;
use console::*;

fn screen(app: &mut App, w: u16, h: u16) -> String {
    format!("{}", draw(app, w, h).backend())
}

fn ev(app: &mut App, id: u64, e: CallEvent) {
    app.handle(AppEvent::Call(id, CallMsg::Event(e)));
}

fn headers() -> CallEvent {
    CallEvent::Headers {
        status: 200,
        ttfb_ms: 120.0,
        ratelimit: Box::new(sample_ratelimit()),
        request_id: Some("0d6a3c1e-0000-4000-8000-000000000001".into()),
        region: Some("Sweden Central".into()),
    }
}

/// Sends `prompt` as call `id` and streams `text` in word-sized deltas.
fn stream(a: &mut App, clock: &ManualClock, id: u64, prompt: &str, text: &str) {
    type_str(a, prompt);
    let effects = press(a, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::StartCall { .. }]),
        "{effects:?}"
    );
    clock.advance(Duration::from_millis(120));
    ev(a, id, headers());
    clock.advance(Duration::from_millis(300));
    ev(a, id, CallEvent::FirstToken { ttft_ms: 420.0 });
    for piece in text.split_inclusive(' ') {
        clock.advance(Duration::from_millis(12));
        ev(a, id, CallEvent::Delta(piece.to_string()));
    }
}

fn finished(a: &mut App, id: u64, rec: CallRecord) {
    a.handle(AppEvent::Call(id, CallMsg::Finished(Box::new(rec))));
}

fn done_record(text: &str, finish: &str, usage: Usage) -> CallRecord {
    CallRecord {
        finish_reason: Some(finish.into()),
        usage: Some(usage),
        attempts: vec![Attempt {
            deployment: "gpt-4o".into(),
            status: Some(200),
            ..Default::default()
        }],
        ..console::done_record(text, 0, 0)
    }
}

fn usage(completion: u64, reasoning: u64) -> Usage {
    Usage {
        prompt_tokens: 24,
        completion_tokens: completion,
        cached_tokens: 0,
        reasoning_tokens: reasoning,
        total_tokens: 24 + completion,
    }
}

const LONG: &str = "First paragraph of a long answer that keeps going.\n\nApples are crisp and sweet.\nBananas are soft.\nCherries are ";

// ---- item 4: a cancelled call keeps what arrived ----

#[test]
fn a_cancelled_call_keeps_its_partial_answer_and_figures() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    stream(&mut a, &clock, 1, "Name fruits", LONG);
    let effects = press(&mut a, KeyCode::Esc);
    assert!(
        matches!(effects.as_slice(), [Effect::CancelCall(1)]),
        "{effects:?}"
    );
    clock.advance(Duration::from_millis(30));
    // What a client that drops everything on cancel reports: nothing but the outcome.
    finished(
        &mut a,
        1,
        CallRecord {
            id: 1,
            outcome: Outcome::Cancelled,
            ..Default::default()
        },
    );
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("Bananas are soft."), "{s}");
    assert!(
        s.contains("Cherries are"),
        "the unfinished line is kept too\n{s}"
    );
    assert!(s.contains("■ cancelled"), "{s}");
    assert!(s.contains("status   200"), "{s}");
    assert!(s.contains("TTFT     420 ms"), "{s}");
    assert!(s.contains("449/450"), "the gauges stay\n{s}");
    assert!(!s.contains("error: cancelled"), "{s}");
    // The request id is there whole, wrapped under its label.
    assert!(
        s.contains("req id   0d6a3c1e-0000-4000-80") && s.contains("         00-000000000001"),
        "{s}"
    );
    assert_snapshot!("chat_cancelled_80x24", draw(&mut a, 80, 24).backend());

    press(&mut a, KeyCode::F(3));
    let h = screen(&mut a, 80, 24);
    assert!(h.contains("cancelled"), "{h}");
    press(&mut a, KeyCode::Enter);
    let d = screen(&mut a, 80, 24);
    assert!(d.contains("200 · cancelled"), "{d}");
    assert!(!d.contains("no response"), "{d}");
    assert!(d.contains("Bananas are soft."), "{d}");
}

// ---- item 7: what happened to the answer is visible ----

#[test]
fn finish_reasons_show_in_the_transcript_and_the_call_panel() {
    let cases = [
        (
            "length",
            "Cut short",
            usage(64, 0),
            "✂ cut at max tokens",
            "length · cut at max",
        ),
        (
            "content_filter",
            "Partial",
            usage(12, 0),
            "⚠ stopped by the content filter",
            "content_filter · output",
        ),
        (
            "tool_calls",
            "",
            usage(20, 0),
            "⚙ asks for tool calls",
            "tool_calls · the",
        ),
        (
            "length",
            "",
            usage(100, 100),
            "⚠ no answer: 100 of 100 output tokens spent on reasoning",
            "all on reasoning",
        ),
    ];
    for (reason, text, u, line, panel) in cases {
        let clock = ManualClock::default();
        let mut a = app(&clock);
        stream(&mut a, &clock, 1, "hi", text);
        clock.advance(Duration::from_millis(300));
        finished(&mut a, 1, done_record(text, reason, u));
        let s = screen(&mut a, 160, 48);
        assert!(s.contains(line), "{reason}: transcript\n{s}");
        assert!(s.contains(panel), "{reason}: panel\n{s}");
        assert!(!s.contains("✓ done"), "{reason}\n{s}");
        press(&mut a, KeyCode::F(3));
        let h = screen(&mut a, 80, 24);
        assert!(
            !h.contains(" done "),
            "{reason}: History says how it ended\n{h}"
        );
    }
}

#[test]
fn a_reasoning_model_that_spent_everything_on_reasoning_says_so() {
    let clock = ManualClock::default();
    let mut a = app_on(&clock, "o4-mini");
    stream(&mut a, &clock, 1, "Prove it", "");
    clock.advance(Duration::from_millis(300));
    let mut rec = done_record("", "length", usage(100, 100));
    rec.deployment = "o4-mini".into();
    finished(&mut a, 1, rec);
    assert_snapshot!("chat_all_reasoning_80x24", draw(&mut a, 80, 24).backend());
}

// ---- item 8: 80 columns ----

fn top_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim_matches('"')
}

#[test]
fn the_status_bar_fits_80_columns_while_recording() {
    let clock = ManualClock::default();
    let mut a = app_on(&clock, "gpt-4o-mini");
    a.set_record_path(Some("/tmp/aoai-20260102-030405.jsonl".into()));
    let effects = a.toggle_record();
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Record(RecordEffect::Start { .. })]
        ),
        "{effects:?}"
    );
    a.message = None;
    for w in [80u16, 60] {
        let s = screen(&mut a, w, 24);
        let top = top_line(&s);
        assert!(top.ends_with(" SIMULATOR "), "{w}: badge cut: {top:?}");
        assert!(top.contains("● REC"), "{w}: {top:?}");
        assert!(top.contains("gpt-4o-mini"), "{w}: deployment cut: {top:?}");
    }
    let t = draw(&mut a, 80, 24);
    assert_snapshot!(
        "status_recording_80x1",
        format!("{}", t.backend()).lines().next().unwrap()
    );
}

#[test]
fn bench_and_compare_tabs_are_always_listed() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    for w in [80u16, 160] {
        let s = screen(&mut a, w, 24);
        let top = top_line(&s);
        assert!(top.contains("Bench") || top.contains("F5"), "{top:?}");
        assert!(top.contains("Compare") || top.contains("F7"), "{top:?}");
        assert!(top.ends_with(" SIMULATOR "), "{top:?}");
    }
    let s = screen(&mut a, 160, 48);
    assert!(top_line(&s).contains("F5 Bench") && top_line(&s).contains("F7 Compare"));
}

#[test]
fn the_transcript_scroll_indicator_shows_real_offsets() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    let long: String = (1..=60).map(|i| format!("line {i}\n\n")).collect();
    stream(&mut a, &clock, 1, "count", &long);
    finished(&mut a, 1, done_record(&long, "stop", usage(60, 0)));
    press(&mut a, KeyCode::Esc); // leave the input: transcript focus
    press(&mut a, KeyCode::Char('g')); // top
    let s = screen(&mut a, 80, 24);
    assert!(!s.contains("4611686018427387903"), "{s}");
    let n: usize = s
        .split("Transcript ↑")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no indicator\n{s}"));
    assert!(n > 0 && n < 1000, "{n}");
}

#[test]
fn the_prompt_box_grows_with_a_long_wrapped_line() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    type_str(&mut a, &"word ".repeat(40));
    let s = screen(&mut a, 80, 24);
    let top = s.lines().position(|l| l.contains("┌ Prompt")).unwrap();
    let bottom = s
        .lines()
        .enumerate()
        .skip(top + 1)
        .find(|(_, l)| l.starts_with("\"└"))
        .map(|(i, _)| i)
        .unwrap();
    assert!(bottom - top > 3, "the box stays one row\n{s}");
    // Up to a limit: a huge paste does not take the whole screen.
    type_str(&mut a, &"more ".repeat(400));
    let s = screen(&mut a, 80, 24);
    let top = s.lines().position(|l| l.contains("┌ Prompt")).unwrap();
    assert!(top > 8, "the transcript keeps room\n{s}");
}

#[test]
fn the_retry_parameter_offers_failover_to_the_known_deployments() {
    use aoai::azure::arm::{Account, Deployment};
    use aoai::domain::retry::RetryPolicy;
    use aoai::tui::event::ArmMsg;
    let clock = ManualClock::default();
    let mut a = app(&clock);
    press(&mut a, KeyCode::Tab);
    let effects = press(&mut a, KeyCode::Tab);
    assert!(
        matches!(effects.as_slice(), [Effect::Arm(ArmEffect::LoadAccounts)]),
        "the parameters load the deployments: {effects:?}"
    );
    let acct = Account {
        id: "acct".into(),
        name: "aoai-sim".into(),
        location: "swedencentral".into(),
        kind: "OpenAI".into(),
        sku: "S0".into(),
        endpoint: None,
        state: "Succeeded".into(),
    };
    a.handle(AppEvent::Arm(ArmMsg::Accounts(Ok(vec![acct]))));
    let dep = |n: &str| Deployment {
        name: n.into(),
        model: n.into(),
        version: "v".into(),
        sku: "Standard".into(),
        capacity: 1,
        rpm: None,
        tpm: None,
        state: "Succeeded".into(),
    };
    a.handle(AppEvent::Arm(ArmMsg::Deployments {
        account_id: "acct".into(),
        result: Ok(vec![dep("gpt-4o"), dep("gpt-4o-mini")]),
    }));
    // max tokens → temp → api → wire → reasoning → retry
    for _ in 0..5 {
        press(&mut a, KeyCode::Right);
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        press(&mut a, KeyCode::Char('+'));
        seen.push(a.screens.chat.params.retry.clone());
    }
    assert_eq!(
        seen,
        vec![
            RetryPolicy::honor(),
            RetryPolicy::Failover {
                deployment: "gpt-4o-mini".into()
            },
            RetryPolicy::None,
        ]
    );
}

// ---- item 9: keys ----

#[test]
fn help_opens_on_the_current_screens_keys() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    press(&mut a, KeyCode::F(3));
    press(&mut a, KeyCode::F(1));
    let s = screen(&mut a, 80, 24);
    // The first row inside the overlay, under its title.
    let rows: Vec<&str> = s.lines().collect();
    let title = rows
        .iter()
        .position(|l| l.contains("Keys (Esc closes"))
        .unwrap();
    let first = rows[title + 1].split('│').nth(2).unwrap_or("").trim();
    assert_eq!(first, "History", "{s}");
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::F(2));
    press(&mut a, KeyCode::F(1));
    let s = screen(&mut a, 80, 24);
    assert!(
        s.find("Chat: prompt input").unwrap() < s.find("Everywhere").unwrap_or(usize::MAX),
        "{s}"
    );
    assert!(s.contains("Ctrl+U"), "Ctrl+U is documented\n{s}");
}

#[test]
fn q_with_a_call_in_flight_asks_first() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    stream(&mut a, &clock, 1, "hi", "partial\n");
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Tab); // transcript: no text input
    let first = press(&mut a, KeyCode::Char('q'));
    assert!(
        !first
            .iter()
            .any(|e| matches!(e, Effect::Terminal(TerminalEffect::Quit))),
        "{first:?}"
    );
    assert!(a.message.as_deref().unwrap_or("").contains("q again"));
    let second = press(&mut a, KeyCode::Char('q'));
    assert!(
        second
            .iter()
            .any(|e| matches!(e, Effect::Terminal(TerminalEffect::Quit))),
        "{second:?}"
    );
}

#[test]
fn ctrl_u_clears_the_prompt_line() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    type_str(&mut a, "first");
    key(&mut a, KeyCode::Char('j'), KeyModifiers::CONTROL);
    type_str(&mut a, "second line");
    key(&mut a, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(a.screens.chat.prompt(), "first\n");
}

// ---- item 6: error states end ----

#[test]
fn an_arm_failure_ends_every_loading_state_with_what_to_do() {
    use aoai::tui::event::ArmMsg;
    let clock = ManualClock::default();
    let mut a = app(&clock);
    press(&mut a, KeyCode::F(4));
    a.handle(AppEvent::Arm(ArmMsg::Accounts(Err(
        aoai::azure::arm::ArmError::Auth(aoai::tui::executor::NO_ARM.into()),
    ))));
    for (w, h) in [(80, 24), (160, 48)] {
        let s = screen(&mut a, w, h);
        assert!(!s.contains("Loading"), "{s}");
        assert!(!s.contains("Entra sign-in comes later"), "{s}");
        assert!(s.contains("subscriptions"), "{s}");
        assert!(s.contains("aoai config check"), "{s}");
    }
    assert_snapshot!("deployments_no_arm_80x24", draw(&mut a, 80, 24).backend());
}

#[test]
fn no_accounts_ends_the_quota_pane_too() {
    use aoai::tui::event::ArmMsg;
    let clock = ManualClock::default();
    let mut a = app(&clock);
    press(&mut a, KeyCode::F(4));
    a.handle(AppEvent::Arm(ArmMsg::Accounts(Ok(vec![]))));
    let s = screen(&mut a, 80, 24);
    assert!(!s.contains("Loading"), "{s}");
}

// ---- item 10 and 15: History details ----

#[test]
fn history_details_render_markdown_and_wrapped_lines_keep_their_indent() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    let md = "### Heading three\n\nSome **bold** text.\n";
    let prompt = "a prompt that is long enough to wrap across the width of an eighty column terminal for sure";
    stream(&mut a, &clock, 1, prompt, md);
    finished(&mut a, 1, done_record(md, "stop", usage(9, 0)));
    press(&mut a, KeyCode::F(3));
    press(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 80, 24);
    assert!(
        s.contains("Heading three") && !s.contains("### Heading"),
        "{s}"
    );
    assert!(
        s.contains("Some bold text.") && !s.contains("**bold**"),
        "{s}"
    );
    let rows: Vec<&str> = s.lines().collect();
    let i = rows
        .iter()
        .position(|l| l.contains("a prompt that"))
        .unwrap();
    assert!(
        rows[i + 1].starts_with("\"│  "),
        "wrapped prompt lost its indent\n{s}"
    );
}

// ---- item 15: 16 colours, light borders ----

#[test]
fn a_16_colour_terminal_gets_only_base_colours() {
    use ratatui::style::Color;
    let theme = Theme::from_toml(
        "mine",
        "[slots]\naccent = { fg = \"#ff8800\" }\nborder = { fg = \"208\" }\ntext = { fg = \"3\" }\nselection = { bg = \"12\" }\n",
    )
    .unwrap()
    .for_terminal(ColourSupport::detect(None, Some("screen"), None));
    let clock = ManualClock::default();
    let cfg = AppConfig::default();
    let mut a = App::new(cfg, theme, Arc::new(clock.clone()));
    stream(&mut a, &clock, 1, "hi", "## Title\n\n- item\n");
    finished(
        &mut a,
        1,
        done_record("## Title\n\n- item\n", "stop", usage(5, 0)),
    );
    let base = |c: Color| !matches!(c, Color::Rgb(..) | Color::Indexed(..));
    for screen_key in [KeyCode::F(2), KeyCode::F(3), KeyCode::F(4)] {
        press(&mut a, screen_key);
        let t = draw(&mut a, 80, 24);
        let buf = t.backend().buffer();
        for y in 0..24 {
            for x in 0..80 {
                let c = &buf[(x, y)];
                assert!(base(c.fg) && base(c.bg), "({x},{y}) {c:?}");
            }
        }
    }
}

#[test]
fn the_light_themes_borders_are_not_pale() {
    use ratatui::style::Color;
    let t = Theme::load(Some("light")).unwrap();
    let pale = [
        Color::Gray,
        Color::White,
        Color::LightYellow,
        Color::LightCyan,
        Color::LightGreen,
    ];
    for (slot, s) in [("border", t.border), ("border_focused", t.border_focused)] {
        assert!(
            !s.fg.is_some_and(|c| pale.contains(&c)),
            "{slot} is {:?} on a light background",
            s.fg
        );
    }
}

// ---- item 12: the status bar names the endpoint in use; a down profile warns ----

#[test]
fn opening_a_deployment_names_its_accounts_endpoint() {
    use aoai::azure::arm::{Account, Deployment};
    use aoai::tui::event::ArmMsg;
    let clock = ManualClock::default();
    let mut a = app(&clock);
    press(&mut a, KeyCode::F(4));
    let acct = Account {
        id: "acct".into(),
        name: "prod".into(),
        location: "swedencentral".into(),
        kind: "OpenAI".into(),
        sku: "S0".into(),
        endpoint: Some("https://prod-res.openai.azure.com/".into()),
        state: "Succeeded".into(),
    };
    a.handle(AppEvent::Arm(ArmMsg::Accounts(Ok(vec![acct]))));
    a.handle(AppEvent::Arm(ArmMsg::Deployments {
        account_id: "acct".into(),
        result: Ok(vec![Deployment {
            name: "chat".into(),
            model: "gpt-4o".into(),
            version: "2024-11-20".into(),
            sku: "GlobalStandard".into(),
            capacity: 10,
            rpm: None,
            tpm: None,
            state: "Succeeded".into(),
        }]),
    }));
    let effects = press(&mut a, KeyCode::Enter);
    assert!(!effects.is_empty());
    let s = screen(&mut a, 160, 48);
    assert!(
        top_line(&s).contains("chat @ prod-res.openai.azure.com"),
        "{s}"
    );
}

#[test]
fn switching_to_a_profile_whose_endpoint_is_down_warns() {
    use aoai::tui::event::{ConnSlot, ProfileInfo, ProfileMsg};
    use aoai::tui::messages::ProfileEffect;
    let clock = ManualClock::default();
    let mut a = app(&clock);
    press(&mut a, KeyCode::Esc);
    press(&mut a, KeyCode::Char('p'));
    let effects = press(&mut a, KeyCode::Enter);
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::Profile(ProfileEffect::Connect { generation, .. }) => Some(*generation),
            _ => None,
        })
        .expect("a profile switch");
    a.handle(AppEvent::Profile(ProfileMsg::Ready {
        generation,
        result: Ok(ProfileInfo {
            name: "prod".into(),
            endpoint_label: "127.0.0.1:9 (prod)".into(),
            sim: false,
            deployment: Some("chat".into()),
            warning: Some("127.0.0.1:9 is not reachable (Connection refused)".into()),
        }),
        slot: ConnSlot::default(),
    }));
    let m = a.message.clone().unwrap_or_default();
    assert!(m.contains("warning") && m.contains("not reachable"), "{m}");
}

// ---- item 15: retry-after wording once the wait is over ----

#[test]
fn a_passed_retry_after_is_not_called_elapsed() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    stream(&mut a, &clock, 1, "hi", "ok\n");
    let mut rec = done_record("ok\n", "stop", usage(2, 0));
    rec.ratelimit.retry_after_ms = Some(3320);
    rec.attempts = vec![
        Attempt {
            deployment: "gpt-4o".into(),
            status: Some(429),
            retry_after_ms: Some(3320),
            ..Default::default()
        },
        Attempt {
            deployment: "gpt-4o".into(),
            status: Some(200),
            ..Default::default()
        },
    ];
    finished(&mut a, 1, rec);
    let s = screen(&mut a, 80, 24);
    assert!(!s.contains("(elapsed)"), "{s}");
    assert!(s.contains("retried  after 3.32 s"), "{s}");
}
