//! The whole console under TestBackend against the in-process simulator (`SimConfig::instant`):
//! real event loop, real executor, real HTTP calls; input injected through a channel.

use std::sync::Arc;
use std::time::Duration;

use aoai::azure::arm::{ArmClient, SIM_SUBSCRIPTION};
use aoai::azure::{Auth, ChatClient, ClientConfig, Endpoint, Secret};
use aoai::domain::call::Outcome;
use aoai::sim::{SimConfig, Simulator};
use aoai::tui::app::{App, AppConfig};
use aoai::tui::command::Executor;
use aoai::tui::components::status_bar::Screen;
use aoai::tui::event::{AppEventSender, TokioClock};
use aoai::tui::theme::Theme;
use aoai::tui::{ChannelInput, TerminalOps, run_loop};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

const TIMEOUT: Duration = Duration::from_secs(10);

struct FakeOps {
    copied: Vec<String>,
}

impl TerminalOps<TestBackend> for FakeOps {
    fn edit(&mut self, _t: &mut Terminal<TestBackend>, text: &str) -> Result<String, String> {
        Ok(format!("{text} (edited)"))
    }
    fn copy(&mut self, text: &str) -> Result<(), String> {
        self.copied.push(text.to_string());
        Ok(())
    }
}

fn keys(tx: &mpsc::UnboundedSender<Event>, s: &str) {
    for c in s.chars() {
        tx.send(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
        .unwrap();
    }
}

fn key(tx: &mpsc::UnboundedSender<Event>, code: KeyCode) {
    tx.send(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
        .unwrap();
}

struct Harness {
    app: App,
    exec: Executor,
    rx: mpsc::UnboundedReceiver<aoai::tui::event::AppEvent>,
    input: ChannelInput,
    tx: mpsc::UnboundedSender<Event>,
    terminal: Terminal<TestBackend>,
    ops: FakeOps,
    _sim: aoai::sim::SimHandle,
}

async fn harness(deployment: &str) -> Harness {
    let sim = tokio::time::timeout(TIMEOUT, Simulator::start(SimConfig::instant()))
        .await
        .unwrap()
        .unwrap();
    let cfg = ClientConfig::new(
        Endpoint::parse(&sim.base_url()).unwrap(),
        Auth::ApiKey(Secret::new("test")),
    );
    let client = ChatClient::new(cfg).unwrap();
    let arm = ArmClient::new(&sim.base_url(), Secret::new("token"), SIM_SUBSCRIPTION).unwrap();
    let (etx, rx) = mpsc::unbounded_channel();
    let exec = Executor::new(client, Some(arm), AppEventSender::new(etx));
    let app = App::new(
        AppConfig {
            deployment: deployment.into(),
            endpoint_label: "in-process".into(),
            sim: true,
            ..Default::default()
        },
        Theme::dark(),
        Arc::new(TokioClock::new()),
    );
    let (tx, irx) = mpsc::unbounded_channel();
    Harness {
        app,
        exec,
        rx,
        input: ChannelInput(irx),
        tx,
        terminal: Terminal::new(TestBackend::new(80, 24)).unwrap(),
        ops: FakeOps { copied: vec![] },
        _sim: sim,
    }
}

impl Harness {
    async fn run_until(&mut self, mut stop: impl FnMut(&App) -> bool) {
        let fut = run_loop(
            &mut self.terminal,
            &mut self.app,
            &mut self.exec,
            &mut self.rx,
            &mut self.input,
            &mut self.ops,
            &mut stop,
        );
        match tokio::time::timeout(TIMEOUT, fut).await {
            Ok(r) => r.unwrap(),
            Err(_) => panic!("timed out; last screen:\n{}", self.terminal.backend()),
        }
        // Draw the final state.
        self.terminal
            .draw(|f| self.app.render(f.area(), f.buffer_mut()))
            .unwrap();
    }

    fn screen(&self) -> String {
        format!("{}", self.terminal.backend())
    }
}

fn ended(app: &App, n: usize) -> bool {
    app.session.calls.len() >= n && app.session.calls[n - 1].record.is_some()
}

#[tokio::test]
async fn a_real_call_streams_into_the_transcript_and_panel() {
    let mut h = harness("gpt-4o").await;
    keys(&h.tx, "Tell me about quotas");
    key(&h.tx, KeyCode::Enter);
    h.run_until(|a| ended(a, 1)).await;
    let call = h.app.session.latest().unwrap();
    let rec = call.record.as_ref().unwrap();
    assert_eq!(rec.outcome, Outcome::Done, "{rec:?}");
    assert!(!rec.text.is_empty());
    assert!(rec.timing.ttft_ms.is_some());
    let screen = h.screen();
    assert_eq!(call.prompt, "Tell me about quotas");
    assert!(screen.contains("✓ done"), "{screen}");
    assert!(screen.contains("TTFT"), "{screen}");
    assert!(screen.contains("Sweden Central"), "{screen}");

    // A follow-up carries the conversation; history shows both; copy the request id.
    keys(&h.tx, "And more?");
    key(&h.tx, KeyCode::Enter);
    h.run_until(|a| ended(a, 2)).await;
    key(&h.tx, KeyCode::F(3));
    keys(&h.tx, "c");
    h.run_until(|a| a.screen == Screen::History && a.message.is_some())
        .await;
    let id = h.app.session.latest().unwrap().request_id.clone().unwrap();
    assert_eq!(h.ops.copied, vec![id]);
}

#[tokio::test]
async fn deployments_screen_loads_from_arm_and_opens_a_chat() {
    let mut h = harness("gpt-4o").await;
    key(&h.tx, KeyCode::F(4));
    h.run_until(|a| a.screen == Screen::Deployments && a.deployments().is_loaded())
        .await;
    let screen = h.screen();
    assert!(
        screen.contains("gpt-4o-mini") && screen.contains("GlobalStandard"),
        "{screen}"
    );
    assert!(screen.contains("OpenAI.GlobalStandard.gpt-4o"), "{screen}");
    keys(&h.tx, "/4o-mini");
    key(&h.tx, KeyCode::Enter);
    key(&h.tx, KeyCode::Enter);
    h.run_until(|a| a.screen == Screen::Chat).await;
    assert_eq!(h.app.deployment, "gpt-4o-mini");
}

#[tokio::test]
async fn third_quick_call_on_gpt_4o_mini_is_throttled_with_a_countdown() {
    let mut h = harness("gpt-4o-mini").await;
    for n in 1..=3 {
        keys(&h.tx, &format!("call {n}"));
        key(&h.tx, KeyCode::Enter);
        h.run_until(|a| ended(a, n)).await;
    }
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    assert_eq!(rec.outcome, Outcome::Throttled, "{rec:?}");
    assert_eq!(rec.status, Some(429));
    assert!(h.app.animating(), "retry-after countdown ticks");
    let screen = h.screen();
    assert!(screen.contains("left"), "{screen}");
}

#[tokio::test]
async fn cancel_marks_the_call_cancelled() {
    let mut h = harness("gpt-4o").await;
    keys(&h.tx, "Hello");
    key(&h.tx, KeyCode::Enter);
    key(&h.tx, KeyCode::Esc);
    h.run_until(|a| ended(a, 1)).await;
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    // The instant simulator may finish before Esc is read; either way the record is final.
    assert!(
        matches!(rec.outcome, Outcome::Cancelled | Outcome::Done),
        "{rec:?}"
    );
}

#[tokio::test]
async fn editor_round_trip_replaces_the_prompt() {
    let mut h = harness("gpt-4o").await;
    keys(&h.tx, "draft");
    h.tx.send(Event::Key(KeyEvent::new(
        KeyCode::Char('g'),
        KeyModifiers::CONTROL,
    )))
    .unwrap();
    h.run_until(|a| a.chat.prompt() == "draft (edited)").await;
}

/// The console sends the output budget in the same wire field as `aoai chat`, bench and
/// compare (`max_completion_tokens`, which reasoning models require), or `max_tokens` when
/// told (`--max-tokens-field`, profile key): the simulator refuses `max_tokens` on o4-mini as
/// Azure does.
#[tokio::test]
async fn the_budget_goes_in_the_configured_wire_field() {
    let mut h = harness("o4-mini").await;
    keys(&h.tx, "hi");
    key(&h.tx, KeyCode::Enter);
    h.run_until(|a| ended(a, 1)).await;
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    assert_eq!(rec.status, Some(200), "{:?}", rec.error);

    h.app
        .set_max_tokens_field(aoai::domain::params::MaxTokensField::MaxTokens);
    keys(&h.tx, "again");
    key(&h.tx, KeyCode::Enter);
    h.run_until(|a| ended(a, 2)).await;
    let rec = h.app.session.latest().unwrap().record.clone().unwrap();
    assert_eq!(rec.status, Some(400));
    assert!(
        rec.error.unwrap().message.contains("max_tokens"),
        "the service names the field"
    );
}
