//! The Compare screen on TestBackend with a manual clock and synthetic call events: columns
//! streaming and done (diff highlighted) at 80×24 and 160×48, paging, synchronised scroll,
//! duplicate / edit / run all, and the screen opened from the chat's prompt.

use std::time::Duration;

use aoai::domain::call::{Attempt, CallEvent, CallRecord, Timings};
use aoai::domain::compare::VariantSet;
use aoai::domain::ratelimit::RateLimit;
use aoai::domain::usage::Usage;
use aoai::tui::app::App;
use aoai::tui::app::Screen;
use aoai::tui::event::{AppEvent, CallMsg, ManualClock};
use aoai::tui::messages::Effect;
use aoai::tui::theme::{ColourSupport, Theme};
use crossterm::event::{KeyCode, KeyModifiers};
use insta::assert_snapshot;
use ratatui::style::Modifier;

#[path = "common/console.rs"]
mod console;
use console::{app, draw, key, press};

const SET: &str = r#"
name = "fruits"
[defaults]
user = "Name three fruits."
max_tokens = 200
[[variant]]
name = "plain"
[[variant]]
name = "terse"
system = "Be terse."
temperature = 0.2
[[variant]]
name = "mini"
deployment = "gpt-4o-mini"
"#;

const BASE: &str = "Apple is crisp and sweet.\nBanana is soft.\nCherry is small and red.";
const TERSE: &str = "Apple is crisp.\nPear is soft.\nCherry is small and red.";
const MINI: &str = "Apple, banana, cherry.";

fn snap(app: &mut App, name: &str) {
    for (w, h) in [(80, 24), (160, 48)] {
        let t = draw(app, w, h);
        assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

fn ev(app: &mut App, id: u64, e: CallEvent) {
    app.handle(AppEvent::Call(id, CallMsg::Event(e)));
}

fn headers(app: &mut App, id: u64) {
    let ratelimit = RateLimit {
        remaining_requests: Some(449),
        limit_requests: Some(450),
        ..Default::default()
    };
    ev(
        app,
        id,
        CallEvent::Headers {
            status: 200,
            ttfb_ms: 100.0,
            ratelimit: Box::new(ratelimit),
            request_id: Some(format!("req-{id}")),
            region: Some("Sweden Central".into()),
        },
    );
}

#[allow(clippy::too_many_arguments)]
fn finished(
    app: &mut App,
    id: u64,
    deployment: &str,
    text: &str,
    ttft: f64,
    e2e: f64,
    prompt: u64,
    completion: u64,
) {
    let rec = CallRecord {
        id,
        deployment: deployment.into(),
        stream: true,
        status: Some(200),
        model: Some(format!("{deployment}-2024-11-20")),
        finish_reason: Some("stop".into()),
        text: text.into(),
        timing: Timings {
            ttfb_ms: Some(100.0),
            ttft_ms: Some(ttft),
            e2e_ms: Some(e2e),
            tokens_per_s: Some(50.0),
            last_token_ms: Some(e2e),
            first_summary_ms: None,
        },
        usage: Some(Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            ..Default::default()
        }),
        cost_usd: Some((prompt as f64 * 2.5 + completion as f64 * 10.0) / 1e6),
        attempts: vec![Attempt {
            deployment: deployment.into(),
            status: Some(200),
            ..Default::default()
        }],
        ..Default::default()
    };
    app.handle(AppEvent::Call(id, CallMsg::Finished(Box::new(rec))));
}

/// Opens the set and runs all; returns the call ids in column order.
fn run_all(app: &mut App) -> Vec<u64> {
    app.open_compare(VariantSet::from_toml_str(SET).unwrap());
    let effects = press(app, KeyCode::Enter);
    effects
        .iter()
        .map(|e| match e {
            Effect::StartCall { id, spec, .. } => {
                assert!(spec.request.messages.last().unwrap().text() == "Name three fruits.");
                *id
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn run_all_starts_one_call_per_column() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    a.open_compare(VariantSet::from_toml_str(SET).unwrap());
    let effects = press(&mut a, KeyCode::Enter);
    let specs: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartCall { id, spec, .. } => Some((
                *id,
                spec.deployment.clone(),
                spec.request.temperature,
                spec.request.messages.len(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        specs,
        vec![
            (1, "gpt-4o".into(), None, 1),
            (2, "gpt-4o".into(), Some(0.2), 2),
            (3, "gpt-4o-mini".into(), None, 1)
        ]
    );
    // A second Enter while running is refused; Esc cancels every column.
    assert!(press(&mut a, KeyCode::Enter).is_empty());
    let cancels = press(&mut a, KeyCode::Esc);
    assert_eq!(
        cancels
            .iter()
            .filter(|e| matches!(e, Effect::CancelCall(_)))
            .count(),
        3
    );
}

#[test]
fn streaming_then_done_with_diff() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    let ids = run_all(&mut a);
    clock.advance(Duration::from_millis(100));
    for &id in &ids {
        headers(&mut a, id);
    }
    clock.advance(Duration::from_millis(300));
    ev(&mut a, ids[0], CallEvent::FirstToken { ttft_ms: 400.0 });
    ev(
        &mut a,
        ids[0],
        CallEvent::Delta("Apple is crisp and sweet.\nBan".into()),
    );
    ev(&mut a, ids[1], CallEvent::FirstToken { ttft_ms: 380.0 });
    ev(&mut a, ids[1], CallEvent::Delta("Apple is".into()));
    clock.advance(Duration::from_millis(200));
    snap(&mut a, "compare_streaming");

    clock.advance(Duration::from_millis(600));
    finished(&mut a, ids[0], "gpt-4o", BASE, 400.0, 1200.0, 14, 20);
    finished(&mut a, ids[1], "gpt-4o", TERSE, 380.0, 900.0, 24, 14);
    finished(&mut a, ids[2], "gpt-4o-mini", MINI, 300.0, 600.0, 14, 8);
    snap(&mut a, "compare_done");

    // The diff is coloured: at 160 columns the "terse" column (2nd) shows `Pear` added
    // (ok slot, bold) and `Banana` removed (error slot, crossed out).
    let t = draw(&mut a, 160, 48);
    let buf = t.backend().buffer();
    let theme = Theme::dark().for_terminal(ColourSupport::Ansi16);
    let find = |word: &str, x0: u16, x1: u16| {
        (0..48u16)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .find(|&(x, y)| {
                (0..word.len() as u16)
                    .all(|i| buf[(x + i, y)].symbol() == &word[i as usize..i as usize + 1])
            })
            .unwrap_or_else(|| panic!("{word} not found"))
    };
    let (x, y) = find("Pear", 40, 80);
    assert_eq!(buf[(x, y)].fg, theme.ok.fg.unwrap());
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    let (x, y) = find("Banana", 40, 80);
    assert_eq!(buf[(x, y)].fg, theme.error.fg.unwrap());
    assert!(buf[(x, y)].modifier.contains(Modifier::CROSSED_OUT));
}

#[test]
fn paging_scroll_duplicate_and_edit() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    let ids = run_all(&mut a);
    finished(&mut a, ids[0], "gpt-4o", BASE, 400.0, 1200.0, 14, 20);
    finished(&mut a, ids[1], "gpt-4o", TERSE, 380.0, 900.0, 24, 14);
    finished(&mut a, ids[2], "gpt-4o-mini", MINI, 300.0, 600.0, 14, 8);
    // One scroll offset for every column.
    press(&mut a, KeyCode::Char('j'));
    press(&mut a, KeyCode::Char('j'));
    assert_eq!(a.compare().unwrap().scroll, 2);
    press(&mut a, KeyCode::Char('g'));
    assert_eq!(a.compare().unwrap().scroll, 0);
    // → pages at 80 columns (two per page): the third column is on page two.
    press(&mut a, KeyCode::Right);
    press(&mut a, KeyCode::Right);
    assert_eq!(a.compare().unwrap().selected, 2);
    let t = draw(&mut a, 80, 24);
    let top: String = (0..80u16)
        .map(|x| t.backend().buffer()[(x, 1)].symbol().to_string())
        .collect();
    assert!(top.contains("columns 3–3 of 3"), "{top}");
    // Duplicate the selected column, edit it, run all.
    press(&mut a, KeyCode::Char('d'));
    let c = a.compare().unwrap();
    assert_eq!(c.set.variants.len(), 4);
    assert_eq!(c.set.variants[3].name, "v4");
    assert_eq!(c.set.variants[3].deployment.as_deref(), Some("gpt-4o-mini"));
    press(&mut a, KeyCode::Char('e'));
    for _ in 0.."Name three fruits.".len() {
        press(&mut a, KeyCode::Backspace);
    }
    for ch in "Two fruits?".chars() {
        press(&mut a, KeyCode::Char(ch));
    }
    press(&mut a, KeyCode::Tab);
    for ch in "Be kind.".chars() {
        press(&mut a, KeyCode::Char(ch));
    }
    press(&mut a, KeyCode::Tab);
    press(&mut a, KeyCode::Backspace);
    press(&mut a, KeyCode::Backspace);
    press(&mut a, KeyCode::Backspace);
    for ch in "50".chars() {
        press(&mut a, KeyCode::Char(ch));
    }
    press(&mut a, KeyCode::Tab);
    for ch in "9".chars() {
        press(&mut a, KeyCode::Char(ch));
    }
    snap(&mut a, "compare_edit");
    // A bad temperature keeps the editor open with the reason.
    press(&mut a, KeyCode::Enter);
    assert!(
        a.compare()
            .unwrap()
            .editor
            .as_ref()
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .starts_with("temperature")
    );
    press(&mut a, KeyCode::Backspace);
    press(&mut a, KeyCode::Char('1'));
    press(&mut a, KeyCode::Enter);
    let v = &a.compare().unwrap().set.variants[3];
    assert!(a.compare().unwrap().editor.is_none());
    assert_eq!(
        (
            v.user.as_deref(),
            v.system.as_deref(),
            v.max_tokens,
            v.temperature
        ),
        (Some("Two fruits?"), Some("Be kind."), Some(50), Some(1.0))
    );
    let effects = press(&mut a, KeyCode::Char('r'));
    assert_eq!(effects.len(), 4);
    match &effects[3] {
        Effect::StartCall { spec, .. } => {
            assert_eq!(spec.request.max_completion_tokens, Some(50));
            assert_eq!(spec.request.messages[1].text(), "Two fruits?");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn f7_opens_a_set_from_the_chats_prompt() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    for ch in "Why PTU?".chars() {
        press(&mut a, KeyCode::Char(ch));
    }
    press(&mut a, KeyCode::F(7));
    assert_eq!(a.screen, Screen::Compare);
    let c = a.compare().unwrap();
    assert_eq!(c.set.variants.len(), 1);
    assert_eq!(c.set.variants[0].user.as_deref(), Some("Why PTU?"));
    assert_eq!(c.set.variants[0].max_tokens, Some(1024));
    press(&mut a, KeyCode::Char('d'));
    snap(&mut a, "compare_from_chat");
    // `6` (no text input) and Alt+6 reach it too.
    press(&mut a, KeyCode::F(2));
    key(&mut a, KeyCode::Char('6'), KeyModifiers::ALT);
    assert_eq!(a.screen, Screen::Compare);
}

const CASES: &str = r#"
name = "fruit facts"
[defaults]
user = "Describe {{fruit}} in one line."
assert = [{ type = "icontains", value = "{{fruit}}" }, { type = "max_e2e_ms", value = 5000 }]
[[variant]]
name = "plain"
[[case]]
fruit = "apple"
[[case]]
fruit = "kiwi"
"#;

fn screen(app: &mut App, w: u16, h: u16) -> String {
    let t = draw(app, w, h);
    let buf = t.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

#[test]
fn cases_step_and_each_column_shows_its_assertions_badge() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    a.open_compare(VariantSet::from_toml_str(CASES).unwrap());
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("case 1/2"), "{s}");
    let start = |a: &mut App| -> (u64, String) {
        let effects = press(a, KeyCode::Enter);
        match effects.as_slice() {
            [Effect::StartCall { id, spec, .. }] => {
                (*id, spec.request.messages.last().unwrap().text())
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let (id, user) = start(&mut a);
    assert_eq!(user, "Describe apple in one line.");
    finished(
        &mut a,
        id,
        "gpt-4o",
        "An Apple is crisp.",
        200.0,
        900.0,
        12,
        6,
    );
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("✓ 2/2 pass"), "{s}");

    // `]` moves to the next case; the old answer is not shown against it.
    press(&mut a, KeyCode::Char(']'));
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("case 2/2") && s.contains("not run yet"), "{s}");
    let (id, user) = start(&mut a);
    assert_eq!(user, "Describe kiwi in one line.");
    finished(&mut a, id, "gpt-4o", "An apple again.", 200.0, 900.0, 12, 6);
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("✗ 1/2 · icontains"), "{s}");
    // `[` steps back (wrapping) to the first case.
    press(&mut a, KeyCode::Char('['));
    assert!(screen(&mut a, 80, 24).contains("case 1/2"));
}

const JUDGED: &str = r#"
name = "judged"
[defaults]
user = "What is a PTU?"
assert = [{ type = "icontains", value = "ptu" }]
judge = { rubric = "relevance", deployment = "grader", threshold = 4 }
[[variant]]
name = "plain"
"#;

/// A column's judge: started when the column's call ends (the same grading request
/// `aoai compare` sends), pending on the badge, then its score; a low score fails the column.
#[test]
fn a_columns_judge_runs_when_its_call_ends_and_its_score_shows() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    a.open_compare(VariantSet::from_toml_str(JUDGED).unwrap());
    let [Effect::StartCall { id, .. }] = press(&mut a, KeyCode::Enter)[..] else {
        panic!("one column call")
    };
    finished(
        &mut a,
        id,
        "gpt-4o",
        "A PTU is a provisioned throughput unit.",
        200.0,
        900.0,
        12,
        9,
    );
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("judging 1"), "{s}");
    let judge = |a: &mut App, text: &str| {
        let c = a.compare().unwrap();
        let judge_id = *c.in_flight().first().expect("the judge is in flight");
        let rec = CallRecord {
            id: judge_id,
            deployment: "grader".into(),
            status: Some(200),
            text: text.into(),
            ..Default::default()
        };
        a.handle(AppEvent::Call(judge_id, CallMsg::Finished(Box::new(rec))));
    };
    judge(&mut a, r#"{"score": 5, "reason": "on topic"}"#);
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("✓ 2/2 pass · judge 5.0"), "{s}");
    assert!(a.compare().unwrap().in_flight().is_empty());

    // Run again: this time the judge gives 2, under the threshold of 4.
    let [Effect::StartCall { id, .. }] = press(&mut a, KeyCode::Enter)[..] else {
        panic!("one column call")
    };
    finished(
        &mut a,
        id,
        "gpt-4o",
        "A PTU is a provisioned throughput unit.",
        200.0,
        900.0,
        12,
        9,
    );
    judge(&mut a, r#"{"score": 2, "reason": "vague"}"#);
    let v = a.compare().unwrap().verdict(0).unwrap().clone();
    assert_eq!((v.passed, v.checked, v.scores.clone()), (1, 2, vec![2]));
    assert!(v.first_failure.unwrap().starts_with("judge"));
}

/// The judge's call is the grading request: not streamed, structured output, sent to the
/// judge's deployment; Esc cancels it and the column says so.
#[test]
fn a_judge_call_is_the_grading_request_and_esc_cancels_it() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    a.open_compare(VariantSet::from_toml_str(JUDGED).unwrap());
    let [Effect::StartCall { id, .. }] = press(&mut a, KeyCode::Enter)[..] else {
        panic!("one column call")
    };
    let rec = CallRecord {
        id,
        deployment: "gpt-4o".into(),
        status: Some(200),
        text: "A PTU is a provisioned throughput unit.".into(),
        ..Default::default()
    };
    let effects = a.handle(AppEvent::Call(id, CallMsg::Finished(Box::new(rec))));
    let [
        Effect::StartCall {
            id: judge_id, spec, ..
        },
    ] = &effects[..]
    else {
        panic!("the judge starts: {effects:?}")
    };
    assert_eq!(spec.deployment, "grader");
    assert!(!spec.stream);
    assert_eq!(
        spec.request.extra["response_format"]["json_schema"]["name"],
        "grade"
    );
    let question = spec.request.messages.last().unwrap().text();
    assert!(question.contains("What is a PTU?") && question.contains("provisioned throughput"));
    // A case step waits for the judge; Esc cancels it.
    let effects = press(&mut a, KeyCode::Esc);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CancelCall(i) if i == judge_id)),
        "{effects:?}"
    );
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("✗ 1/2") && s.contains("cancelled"), "{s}");
}
