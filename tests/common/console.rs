//! Driving the console's `App` on TestBackend with a manual clock: one set of helpers for the
//! snapshot and behaviour suites (`#[path = "common/console.rs"] mod console;`).
#![allow(dead_code)]

use std::sync::Arc;

use aoai::domain::arm::Account;
use aoai::domain::call::{CallRecord, Outcome, Timings};
use aoai::domain::ratelimit::RateLimit;
use aoai::domain::usage::Usage;
use aoai::tui::app::{App, AppConfig};
use aoai::tui::event::{AppEvent, ManualClock};
use aoai::tui::messages::Effect;
use aoai::tui::theme::{ColourSupport, Theme};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The console on the simulator with `deployment`, in the 16-colour dark theme.
pub fn app_on(clock: &ManualClock, deployment: &str) -> App {
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

pub fn app(clock: &ManualClock) -> App {
    app_on(clock, "gpt-4o")
}

pub fn key(app: &mut App, code: KeyCode, mods: KeyModifiers) -> Vec<Effect> {
    app.handle(AppEvent::Input(Event::Key(KeyEvent::new(code, mods))))
}

pub fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    key(app, code, KeyModifiers::NONE)
}

pub fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

pub fn draw(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| app.render(f.area(), f.buffer_mut())).unwrap();
    t
}

/// The rate-limit headers of a fresh Standard deployment (450 RPM, 450k TPM), one call in.
pub fn sample_ratelimit() -> RateLimit {
    RateLimit {
        remaining_requests: Some(449),
        limit_requests: Some(450),
        remaining_tokens: Some(449_000),
        limit_tokens: Some(450_000),
        ..Default::default()
    }
}

/// A streamed call that ended well on gpt-4o: 200, `stop`, TTFB 120 ms, TTFT 420 ms, e2e
/// 1.31 s, 61.5 tok/s, `prompt` + `completion` tokens, a request id. Suites add what they
/// show (model, region, rate limits, cost, headers).
pub fn done_record(text: &str, prompt: u64, completion: u64) -> CallRecord {
    CallRecord {
        id: 1,
        deployment: "gpt-4o".into(),
        outcome: Outcome::Done,
        status: Some(200),
        finish_reason: Some("stop".into()),
        text: text.into(),
        timing: Timings {
            ttfb_ms: Some(120.0),
            ttft_ms: Some(420.0),
            e2e_ms: Some(1310.0),
            tokens_per_s: Some(61.5),
            last_token_ms: Some(1300.0),
            first_summary_ms: None,
        },
        usage: Some(Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: 0,
            reasoning_tokens: 0,
            total_tokens: prompt + completion,
        }),
        request_id: Some("0d6a3c1e-0000-4000-8000-000000000001".into()),
        ..Default::default()
    }
}

/// The account the deployments suites browse.
pub fn sample_account(id: &str) -> Account {
    Account {
        id: id.into(),
        name: "aoai-swe".into(),
        location: "swedencentral".into(),
        kind: "OpenAI".into(),
        sku: "S0".into(),
        endpoint: Some("https://aoai-swe.openai.azure.com/".into()),
        state: "Succeeded".into(),
    }
}
