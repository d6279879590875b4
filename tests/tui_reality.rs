//! The console items of issue 11 ("reality pass"): what a new user and real recordings broke,
//! each pinned on TestBackend with a manual clock (deterministic, no sleeps).

use std::sync::Arc;
use std::time::Duration;

use aoai::domain::call::{Attempt, CallEvent, CallRecord, Outcome, Timings};
use aoai::domain::ratelimit::RateLimit;
use aoai::domain::usage::Usage;
use aoai::tui::app::{App, AppConfig};
use aoai::tui::command::Effect;
use aoai::tui::event::{AppEvent, CallMsg, ManualClock};
use aoai::tui::theme::{ColourSupport, Theme};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app_on(clock: &ManualClock, deployment: &str) -> App {
    let cfg = AppConfig {
        deployment: deployment.into(),
        endpoint_label: "in-process".into(),
        sim: true,
        ..Default::default()
    };
    App::new(
        cfg,
        Theme::dark().for_terminal(ColourSupport::Ansi16),
        Arc::new(clock.clone()),
    )
}

fn app(clock: &ManualClock) -> App {
    app_on(clock, "gpt-4o")
}

fn key(app: &mut App, code: KeyCode, mods: KeyModifiers) -> Vec<Effect> {
    app.handle(AppEvent::Input(Event::Key(KeyEvent::new(code, mods))))
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    key(app, code, KeyModifiers::NONE)
}

fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.render(f.area(), f.buffer_mut())).unwrap();
    t
}

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
        ratelimit: RateLimit {
            remaining_requests: Some(449),
            limit_requests: Some(450),
            remaining_tokens: Some(449_000),
            limit_tokens: Some(450_000),
            ..Default::default()
        },
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
        id: 1,
        deployment: "gpt-4o".into(),
        outcome: Outcome::Done,
        status: Some(200),
        finish_reason: Some(finish.into()),
        text: text.into(),
        timing: Timings {
            ttfb_ms: Some(120.0),
            ttft_ms: Some(420.0),
            e2e_ms: Some(1310.0),
            tokens_per_s: Some(61.5),
            last_token_ms: Some(1300.0),
        },
        usage: Some(usage),
        request_id: Some("0d6a3c1e-0000-4000-8000-000000000001".into()),
        attempts: vec![Attempt {
            deployment: "gpt-4o".into(),
            status: Some(200),
            ..Default::default()
        }],
        ..Default::default()
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
