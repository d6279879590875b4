//! The whole console under TestBackend: the real loop and executor against in-process
//! simulators, keys sent through a channel, the editor and clipboard faked. One harness for
//! every behaviour suite (`#[path = "common/harness.rs"] mod harness;`).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use aoai::azure::arm::{ArmClient, SIM_SUBSCRIPTION};
use aoai::azure::{Auth, ChatClient, ClientConfig, Endpoint, Secret};
use aoai::sim::{SimConfig, SimHandle, Simulator};
use aoai::tui::app::{App, AppConfig};
use aoai::tui::event::{AppEvent, AppEventSender, TokioClock};
use aoai::tui::executor::Executor;
use aoai::tui::terminal::EditorError;
use aoai::tui::theme::Theme;
use aoai::tui::{ChannelInput, TerminalOps, run_loop};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

/// How long one `run_until` may take before the test fails with the last screen.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The editor and clipboard without a terminal: the editor appends `edit_suffix` to the text
/// it is given; copies are kept.
#[derive(Debug, Default)]
pub struct FakeOps {
    pub edit_suffix: &'static str,
    pub copied: Vec<String>,
}

impl TerminalOps<TestBackend> for FakeOps {
    fn edit(&mut self, _t: &mut Terminal<TestBackend>, text: &str) -> Result<String, EditorError> {
        Ok(format!("{text}{}", self.edit_suffix))
    }
    fn copy(&mut self, text: &str) -> std::io::Result<()> {
        self.copied.push(text.to_string());
        Ok(())
    }
}

pub async fn start_sim(cfg: SimConfig) -> SimHandle {
    tokio::time::timeout(TIMEOUT, Simulator::start(cfg))
        .await
        .expect("the simulator starts in time")
        .expect("the simulator starts")
}

/// A data-plane client on `sim` with API key `key`.
pub fn sim_client(sim: &SimHandle, key: &str) -> ChatClient {
    let cfg = ClientConfig::new(
        Endpoint::parse(&sim.base_url()).unwrap(),
        Auth::ApiKey(Secret::new(key)),
    );
    ChatClient::new(cfg).unwrap()
}

/// An ARM client on `sim`'s subscription.
pub fn sim_arm(sim: &SimHandle) -> ArmClient {
    ArmClient::new(&sim.base_url(), Secret::new("token"), SIM_SUBSCRIPTION).unwrap()
}

/// The console on the simulator with `deployment`, in the default theme.
pub fn config(deployment: &str) -> AppConfig {
    AppConfig {
        deployment: deployment.into(),
        endpoint_label: "in-process".into(),
        sim: true,
        ..Default::default()
    }
}

pub struct Harness {
    pub app: App,
    pub exec: Executor,
    pub rx: mpsc::UnboundedReceiver<AppEvent>,
    pub input: ChannelInput,
    pub tx: mpsc::UnboundedSender<Event>,
    pub terminal: Terminal<TestBackend>,
    pub ops: FakeOps,
    /// The simulators the clients point at, kept running as long as the harness.
    pub sims: Vec<SimHandle>,
}

impl Harness {
    /// The console at `w`×`h`, calling with `client` (and `arm`), on the real clock.
    pub fn new(
        client: ChatClient,
        arm: Option<ArmClient>,
        cfg: AppConfig,
        (w, h): (u16, u16),
    ) -> Harness {
        let (etx, rx) = mpsc::unbounded_channel();
        let exec = Executor::new(client, arm, AppEventSender::new(etx));
        let app = App::new(cfg, Theme::dark(), Arc::new(TokioClock::new()));
        let (tx, irx) = mpsc::unbounded_channel();
        Harness {
            app,
            exec,
            rx,
            input: ChannelInput(irx),
            tx,
            terminal: Terminal::new(TestBackend::new(w, h)).unwrap(),
            ops: FakeOps::default(),
            sims: vec![],
        }
    }

    /// The console at 80×24 on one fresh instant simulator (data plane and ARM).
    pub async fn on_sim(deployment: &str) -> Harness {
        let sim = start_sim(SimConfig::instant()).await;
        let mut h = Harness::new(
            sim_client(&sim, "test"),
            Some(sim_arm(&sim)),
            config(deployment),
            (80, 24),
        );
        h.sims.push(sim);
        h
    }

    /// Runs the loop until `stop` holds, then draws the final state.
    pub async fn run_until(&mut self, mut stop: impl FnMut(&App) -> bool) {
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
        self.terminal
            .draw(|f| self.app.render(f.area(), f.buffer_mut()))
            .unwrap();
    }

    pub fn screen(&self) -> String {
        format!("{}", self.terminal.backend())
    }

    pub fn key_with(&self, code: KeyCode, mods: KeyModifiers) {
        self.tx.send(Event::Key(KeyEvent::new(code, mods))).unwrap();
    }

    pub fn key(&self, code: KeyCode) {
        self.key_with(code, KeyModifiers::NONE);
    }

    pub fn alt(&self, c: char) {
        self.key_with(KeyCode::Char(c), KeyModifiers::ALT);
    }

    pub fn keys(&self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }
}

/// Whether the session's call `n` (1-based) has ended.
pub fn ended(app: &App, n: usize) -> bool {
    app.session.calls.len() >= n && app.session.calls[n - 1].record.is_some()
}
