//! Record and replay in the console: the Replay screen and a call mid-replay as snapshots
//! (manual clock, schedule steps injected by hand), and the whole loop against the
//! in-process simulator: record two calls with the toggle, check the file, replay one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aoai::domain::call::{Attempt, CallError, CallRecord, ErrorKind, Outcome, SseEvent, Timings};
use aoai::domain::ratelimit::RateLimit;
use aoai::domain::scenario::{PromptShape, RecordedRequest, ScenarioCall};
use aoai::domain::usage::Usage;
use aoai::engine::replay::{Speed, schedule};
use aoai::sim::SimConfig;
use aoai::tui::app::Screen;
use aoai::tui::app::{App, AppConfig};
use aoai::tui::event::{AppEvent, CallMsg, ManualClock};
use aoai::tui::messages::{Effect, ReplaySource};
use aoai::tui::theme::{ColourSupport, Theme};
use aoai::wire::{ChatMessage, ChatRequest};
use crossterm::event::{KeyCode, KeyModifiers};
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[path = "common/harness.rs"]
mod harness;

#[path = "common/console.rs"]
mod console;

use console::press;
use harness::{Harness, ended, sim_client, start_sim};
const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];
/// Distinctive, so a grep of the recorded file cannot match anything else.
const FAKE_KEY: &str = "sk-FAKE-7b1e9c4d-do-not-record";

// ---- scenario values built by hand (deterministic snapshots) ----

fn chunk(content: &str) -> String {
    serde_json::json!({
        "id": "chatcmpl-1", "model": "gpt-4o-2024-11-20", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]
    })
    .to_string()
}

const ANSWER: &str = "Quota is per region and model.\nEach deployment takes a share of it.\nRaise it in the portal.\n";

fn request(prompt: &str, stream: bool) -> RecordedRequest {
    RecordedRequest {
        wire_api: Default::default(),
        wire_body: None,
        deployment: "gpt-4o".into(),
        api: Default::default(),
        api_version: Some("2024-10-21".into()),
        endpoint: Some("http://127.0.0.1".into()),
        stream,
        retry: "honor".into(),
        headers: vec![],
        body: ChatRequest {
            messages: vec![
                ChatMessage::new("system", "You are terse."),
                ChatMessage::new("user", prompt),
            ],
            max_completion_tokens: Some(256),
            ..Default::default()
        },
    }
}

fn done_call() -> ScenarioCall {
    let words: Vec<&str> = ANSWER.split_inclusive(' ').collect();
    let mut events = vec![SseEvent {
        t_ms: 120.0,
        data: r#"{"id":"","model":"","choices":[],"prompt_filter_results":[]}"#.into(),
    }];
    for (i, w) in words.iter().enumerate() {
        events.push(SseEvent {
            t_ms: 400.0 + 20.0 * i as f64,
            data: chunk(w),
        });
    }
    events.push(SseEvent {
        t_ms: 900.0,
        data: "[DONE]".into(),
    });
    ScenarioCall {
        proxied: None,
        started: "2026-11-23T05:00:00.000Z".into(),
        request: request("How does quota work?", true),
        prompt_shape: PromptShape {
            system: 4,
            user: 5,
            framing: 10,
            ..Default::default()
        },
        record: CallRecord {
            id: 1,
            deployment: "gpt-4o".into(),
            stream: true,
            outcome: Outcome::Done,
            status: Some(200),
            model: Some("gpt-4o-2024-11-20".into()),
            finish_reason: Some("stop".into()),
            text: ANSWER.into(),
            timing: Timings {
                ttfb_ms: Some(120.0),
                ttft_ms: Some(400.0),
                e2e_ms: Some(900.0),
                tokens_per_s: Some(48.0),
                last_token_ms: Some(880.0),
                first_summary_ms: None,
            },
            usage: Some(Usage {
                prompt_tokens: 19,
                completion_tokens: 24,
                total_tokens: 43,
                ..Default::default()
            }),
            ratelimit: RateLimit {
                remaining_requests: Some(441),
                limit_requests: Some(450),
                remaining_tokens: Some(447_000),
                limit_tokens: Some(450_000),
                ..Default::default()
            },
            request_id: Some("rec-0001".into()),
            region: Some("Sweden Central".into()),
            cost_usd: Some(0.000288),
            attempts: vec![
                Attempt {
                    deployment: "gpt-4o".into(),
                    status: Some(429),
                    retry_after_ms: Some(2000),
                    waited_ms: 2000,
                    ..Default::default()
                },
                Attempt {
                    deployment: "gpt-4o".into(),
                    status: Some(200),
                    ..Default::default()
                },
            ],
            headers: vec![
                ("apim-request-id".into(), "rec-0001".into()),
                ("x-ms-region".into(), "Sweden Central".into()),
                ("x-ratelimit-remaining-requests".into(), "441".into()),
                ("x-ratelimit-limit-requests".into(), "450".into()),
                ("x-ratelimit-remaining-tokens".into(), "447000".into()),
                ("x-ratelimit-limit-tokens".into(), "450000".into()),
            ],
            events,
            ..Default::default()
        },
    }
}

fn throttled_call() -> ScenarioCall {
    ScenarioCall {
        proxied: None,
        started: "2026-11-23T05:00:03.000Z".into(),
        request: request("And the token limit?", false),
        prompt_shape: PromptShape {
            system: 4,
            user: 5,
            framing: 10,
            ..Default::default()
        },
        record: CallRecord {
            id: 2,
            deployment: "gpt-4o".into(),
            outcome: Outcome::Throttled,
            status: Some(429),
            timing: Timings {
                ttfb_ms: Some(35.0),
                e2e_ms: Some(36.0),
                ..Default::default()
            },
            error: Some(CallError {
                status: Some(429),
                ..CallError::new(ErrorKind::Throttled, "rate limit")
            }),
            headers: vec![("retry-after-ms".into(), "6000".into())],
            events: vec![SseEvent {
                t_ms: 36.0,
                data: r#"{"error":{"code":"429","message":"rate limit"}}"#.into(),
            }],
            ..Default::default()
        },
    }
}

fn cancelled_call() -> ScenarioCall {
    ScenarioCall {
        proxied: None,
        started: "2026-11-23T05:00:09.000Z".into(),
        request: request("Write a long essay on PTUs", true),
        prompt_shape: PromptShape {
            system: 4,
            user: 7,
            framing: 10,
            ..Default::default()
        },
        record: CallRecord {
            id: 3,
            deployment: "gpt-4o".into(),
            stream: true,
            outcome: Outcome::Cancelled,
            status: Some(200),
            text: "Provisioned".into(),
            timing: Timings {
                ttfb_ms: Some(110.0),
                ttft_ms: Some(380.0),
                ..Default::default()
            },
            ..Default::default()
        },
    }
}

fn scenario() -> Vec<ScenarioCall> {
    vec![done_call(), throttled_call(), cancelled_call()]
}

fn app(clock: &ManualClock) -> App {
    let mut a = App::new(
        AppConfig::default(),
        Theme::dark().for_terminal(ColourSupport::Ansi16),
        Arc::new(clock.clone()),
    );
    a.open_replay("incident.jsonl", scenario(), Speed::X1);
    a
}

fn snap_sizes(app: &mut App, name: &str) {
    for (w, h) in SIZES {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| app.render(f.area(), f.buffer_mut())).unwrap();
        assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
    }
}

/// Plays the schedule of the effect by hand up to `until` (clock at each step's time).
fn play_until(
    app: &mut App,
    clock: &ManualClock,
    effects: Vec<Effect>,
    until: Duration,
) -> (u64, ScenarioCall) {
    let [
        Effect::Replay {
            id,
            source: ReplaySource::Call(call),
            speed,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    let s = schedule(call, *speed);
    let base = clock_now(clock);
    for (at, ev) in s.steps.into_iter().filter(|(at, _)| *at <= until) {
        clock.set(base + at);
        app.handle(AppEvent::Call(*id, CallMsg::Event(ev)));
    }
    clock.set(base + until);
    (*id, (**call).clone())
}

fn clock_now(clock: &ManualClock) -> Duration {
    use aoai::tui::event::Clock;
    clock.now()
}

#[test]
fn replay_screen_lists_the_calls() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    assert_eq!(a.screen, Screen::Replay);
    snap_sizes(&mut a, "replay_list");
    // Speed cycles and shows in the title.
    press(&mut a, KeyCode::Char('s'));
    press(&mut a, KeyCode::Down);
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| a.render(f.area(), f.buffer_mut())).unwrap();
    let screen = t.backend().to_string();
    assert!(screen.contains("speed 2x"), "{screen}");
    assert!(screen.contains("Call 2 of 3"), "{screen}");
}

#[test]
fn a_call_mid_replay_and_done() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    let effects = press(&mut a, KeyCode::Enter);
    // 2 s retry wait + 400 ms to the first token + 5 words.
    let (id, call) = play_until(&mut a, &clock, effects, Duration::from_millis(2000 + 480));
    let live = a.session.get(id).unwrap();
    assert_eq!(live.attempt, 2);
    assert_eq!(live.status, Some(200));
    assert_eq!(live.request_id.as_deref(), Some("rec-0001"));
    assert_eq!(live.ratelimit.remaining_requests, Some(441));
    snap_sizes(&mut a, "replay_mid");
    // The chat screen shows the same call as if live.
    press(&mut a, KeyCode::F(2));
    snap_sizes(&mut a, "replay_mid_chat");
    clock.advance(Duration::from_millis(500));
    a.handle(AppEvent::Call(
        id,
        CallMsg::Finished(Box::new(CallRecord {
            id,
            ..call.record.clone()
        })),
    ));
    press(&mut a, KeyCode::F(9));
    snap_sizes(&mut a, "replay_done");
    let live = a.session.get(id).unwrap();
    assert_eq!(live.answer.text(), ANSWER);
    assert_eq!(live.record.as_ref().unwrap().attempts.len(), 2);
}

#[test]
fn next_plays_the_following_call_and_esc_stops() {
    let clock = ManualClock::default();
    let mut a = app(&clock);
    let effects = press(&mut a, KeyCode::Enter);
    let (id, call) = play_until(&mut a, &clock, effects, Duration::from_secs(60));
    a.handle(AppEvent::Call(id, CallMsg::Finished(Box::new(call.record))));
    let effects = press(&mut a, KeyCode::Char('n'));
    let [
        Effect::Replay {
            id: id2,
            source: ReplaySource::Call(call),
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(call.request.body.messages[1].text(), "And the token limit?");
    assert_eq!(
        press(&mut a, KeyCode::Esc).len(),
        1,
        "Esc stops the replay in flight"
    );
    assert_eq!(a.session.get(*id2).unwrap().record, None);
    assert!(!a.session.get(*id2).unwrap().phase.in_flight());
}

// ---- the whole loop against the simulator ----

async fn harness() -> Harness {
    let sim = start_sim(SimConfig::instant()).await;
    let mut h = Harness::new(
        sim_client(&sim, FAKE_KEY),
        None,
        AppConfig::default(),
        (80, 24),
    );
    h.sims.push(sim);
    h
}

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aoai-tui-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test]
async fn record_two_calls_with_the_toggle_then_replay_one() {
    let path = temp_file("session.jsonl");
    let mut h = harness().await;
    h.app.set_record_path(Some(path.clone()));
    h.key_with(KeyCode::Char('r'), KeyModifiers::CONTROL);
    h.keys("Tell me about quotas");
    h.key(KeyCode::Enter);
    h.run_until(|a| ended(a, 1)).await;
    assert!(
        h.terminal.backend().to_string().contains("● REC "),
        "{}",
        h.terminal.backend()
    );
    h.keys("And more?");
    h.key(KeyCode::Enter);
    h.run_until(|a| ended(a, 2) && a.recording.written == 2)
        .await;
    assert!(
        h.terminal.backend().to_string().contains("● REC 2"),
        "{}",
        h.terminal.backend()
    );
    h.key(KeyCode::F(8));
    h.run_until(|a| a.recording.active.is_none()).await;
    assert!(!h.terminal.backend().to_string().contains("● REC"));

    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains(r#""format":"aoai-scenario""#),
        "{text}"
    );
    assert!(
        !text.contains(FAKE_KEY),
        "the API key reached the scenario file"
    );
    let loaded = aoai::engine::record::load(&path).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.calls.len(), 2);
    assert!(
        !loaded.calls[0].record.events.is_empty(),
        "events captured while recording"
    );
    assert_eq!(
        loaded.calls[1].request.body.messages.last().unwrap().text(),
        "And more?"
    );
    let recorded = loaded.calls[0].record.clone();
    assert_eq!(recorded.text, h.app.session.calls[0].answer.text());

    // Replay the first call instantly into the same console.
    h.app
        .open_replay("session.jsonl", loaded.calls, Speed::Instant);
    h.key(KeyCode::Enter);
    h.run_until(|a| ended(a, 3)).await;
    let live = h.app.session.latest().unwrap();
    assert_eq!(live.prompt, "Tell me about quotas");
    assert_eq!(live.answer.text(), recorded.text);
    let rec = live.record.as_ref().unwrap();
    assert_eq!(rec.outcome, Outcome::Done);
    assert_eq!(
        (rec.usage, rec.timing, rec.request_id.clone()),
        (recorded.usage, recorded.timing, recorded.request_id.clone())
    );

    // The same file as `aoai replay FILE` opens it: listed from rows as they are read, the
    // played call read back from its line.
    h.app
        .open_replay_file("session.jsonl", path.clone(), Speed::Instant);
    h.terminal
        .draw(|f| h.app.render(f.area(), f.buffer_mut()))
        .unwrap();
    assert!(
        h.terminal
            .backend()
            .to_string()
            .contains("Reading the scenario…"),
        "{}",
        h.terminal.backend()
    );
    let (_, warnings) = aoai::engine::record::index::rows(&path, |rows| {
        h.app.handle(AppEvent::ReplayRows(rows));
        true
    })
    .unwrap();
    h.app.handle(AppEvent::ReplayRead(Ok(warnings)));
    h.terminal
        .draw(|f| h.app.render(f.area(), f.buffer_mut()))
        .unwrap();
    let screen = h.terminal.backend().to_string();
    assert!(screen.contains("session.jsonl · 2 calls"), "{screen}");
    assert!(screen.contains("And more?"), "{screen}");
    h.key(KeyCode::Enter);
    h.run_until(|a| ended(a, 4)).await;
    let live = h.app.session.latest().unwrap();
    assert_eq!(live.prompt, "Tell me about quotas");
    assert_eq!(live.answer.text(), recorded.text);
    let rec = live.record.as_ref().unwrap();
    assert_eq!(rec.outcome, Outcome::Done);
    assert_eq!(
        (rec.usage, rec.timing, rec.request_id.clone()),
        (recorded.usage, recorded.timing, recorded.request_id)
    );
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn stopping_a_replay_marks_it_cancelled() {
    let mut h = harness().await;
    let mut slow = done_call();
    for e in &mut slow.record.events {
        e.t_ms += 600_000.0;
    }
    h.app.open_replay("slow.jsonl", vec![slow], Speed::X1);
    h.key(KeyCode::Enter);
    h.key(KeyCode::Esc);
    h.run_until(|a| ended(a, 1)).await;
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    assert_eq!(rec.outcome, Outcome::Cancelled);
    assert!(rec.text.is_empty(), "{rec:?}");
}

#[tokio::test]
async fn a_write_error_turns_recording_off_with_a_message() {
    let mut h = harness().await;
    let dir = temp_file("not-a-dir");
    std::fs::create_dir_all(&dir).unwrap();
    // A directory cannot be opened as the scenario file.
    h.app.set_record_path(Some(dir.clone()));
    h.key_with(KeyCode::Char('r'), KeyModifiers::CONTROL);
    h.run_until(|a| a.recording.active.is_none() && a.message.is_some())
        .await;
    let msg = h.app.message.clone().unwrap();
    assert!(msg.starts_with("Recording stopped:"), "{msg}");
    let _ = std::fs::remove_dir(&dir);
}

/// A damaged scenario's skipped lines are shown in the console, not only by `--report`.
#[test]
fn skipped_lines_of_a_damaged_scenario_are_shown() {
    use aoai::domain::scenario::LineWarning;
    let clock = ManualClock::default();
    let mut a = app(&clock);
    a.set_replay_skipped(&[
        LineWarning {
            line: 3,
            message: "not JSON".into(),
        },
        LineWarning {
            line: 7,
            message: "unknown field `x`".into(),
        },
    ]);
    let mut t = Terminal::new(TestBackend::new(160, 48)).unwrap();
    t.draw(|f| a.render(f.area(), f.buffer_mut())).unwrap();
    let s = t.backend().to_string();
    assert!(s.contains("2 lines of the file skipped"), "{s}");
    assert!(s.contains("line 3: not JSON"), "{s}");
    assert!(
        s.contains("Skipped 2 damaged lines"),
        "the hint bar says so too\n{s}"
    );
}
