//! Focus and routing. `App` owns the components and the session facts, turns events into
//! component calls and component [`Command`]s into [`Effect`]s; it draws nothing itself beyond
//! laying out the screen and delegating.

use std::sync::Arc;

use crossterm::event::{Event, KeyEvent, KeyEventKind};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::command::{ChatParams, Command, Effect, Outcome, Submit};
use super::components::call_panel;
use super::components::chat::{Chat, ChatProps};
use super::components::compare::{Compare, CompareProps};
use super::components::deployments::Deployments;
use super::components::help::Help;
use super::components::history::History;
use super::components::replay::{Replay, ReplayProps, last_user_message};
use super::components::status_bar::{self, Screen, StatusProps};
use super::event::EditTarget;
use super::event::{AppEvent, CallId, CallMsg, Clock};
use super::keymap::{self, GlobalAction, Hint};
use super::recording::Recording;
use super::session::{LiveCall, Session};
use super::theme::Theme;
use crate::azure::CallSpec;
use crate::engine::record::writer::RecordMsg;
use crate::engine::replay::Speed;
use crate::wire::{ChatMessage, ChatRequest};

mod keys;
mod ops;

/// Smallest size the console draws; below it shows a "too small" message.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// Width from which the call panel sits beside the chat.
const PANEL_FROM: u16 = 80;

/// What the app is pointed at.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub deployment: String,
    /// Shown in the status bar: `embedded simulator` or the endpoint host.
    pub endpoint_label: String,
    pub sim: bool,
    /// Initial chat parameters (from the command line).
    pub params: ChatParams,
    /// Initial system prompt; `None` keeps the default.
    pub system: Option<String>,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            deployment: "gpt-4o".into(),
            endpoint_label: "in-process".into(),
            sim: true,
            params: ChatParams::default(),
            system: None,
        }
    }
}

pub struct App {
    pub screen: Screen,
    help: Option<Help>,
    pub chat: Chat,
    history: History,
    deployments: Deployments,
    pub session: Session,
    pub deployment: String,
    endpoint: String,
    sim: bool,
    theme: Theme,
    clock: Arc<dyn Clock>,
    next_id: CallId,
    /// A transient line in the hint bar (cleared by the next key).
    pub message: Option<String>,
    quit_armed: bool,
    /// Keys seen; `q_armed_at` is the key that asked to confirm a `q` with work in flight.
    keys: u64,
    q_armed_at: Option<u64>,
    /// Set when something visible changed; the loop draws and clears it.
    pub dirty: bool,
    /// The scenario open on the Replay screen (`aoai replay FILE`).
    replay: Option<Replay>,
    /// Scenario recording (`--record FILE`, Ctrl+R / F8).
    pub recording: Recording,
    /// The variant set open on the Compare screen.
    compare: Option<Compare>,
    /// Deployments opened on their endpoint, profiles, bench (`app/ops.rs`).
    ops: ops::AppOps,
}

impl App {
    pub fn new(cfg: AppConfig, theme: Theme, clock: Arc<dyn Clock>) -> Self {
        let mut chat = Chat::new();
        chat.params = cfg.params;
        if let Some(system) = &cfg.system {
            chat.set_text(EditTarget::System, system);
        }
        App {
            screen: Screen::Chat,
            help: None,
            chat,
            history: History::default(),
            deployments: Deployments::default(),
            session: Session::default(),
            deployment: cfg.deployment,
            endpoint: cfg.endpoint_label,
            sim: cfg.sim,
            theme,
            clock,
            next_id: 1,
            message: None,
            quit_armed: false,
            keys: 0,
            q_armed_at: None,
            dirty: true,
            replay: None,
            recording: Recording::default(),
            compare: None,
            ops: ops::AppOps::default(),
        }
    }

    /// Opens a variant set on the Compare screen.
    pub fn open_compare(&mut self, set: crate::domain::compare::VariantSet) {
        self.compare = Some(Compare::new(set));
        self.screen = Screen::Compare;
        self.dirty = true;
    }

    pub fn compare(&self) -> Option<&Compare> {
        self.compare.as_ref()
    }

    /// F7: the Compare screen; the first time, a set of one column from the chat's prompt.
    fn go_compare(&mut self) -> Vec<Effect> {
        if self.compare.is_none() {
            let prompt = match self.chat.prompt() {
                p if !p.trim().is_empty() => p,
                _ => self
                    .session
                    .latest()
                    .map(|c| c.prompt.clone())
                    .unwrap_or_default(),
            };
            let mut v = crate::domain::compare::Variant::new("v1", prompt);
            let system = self.chat.system_prompt();
            v.system = Some(system).filter(|s| !s.trim().is_empty());
            v.max_tokens = self.chat.params.max_tokens;
            v.temperature = self.chat.params.temperature;
            v.deployment = Some(self.deployment.clone());
            self.compare = Some(Compare::new(crate::domain::compare::VariantSet::single(v)));
        }
        self.go(Screen::Compare)
    }

    fn compare_run(&mut self) -> Vec<Effect> {
        let now = self.clock.now();
        let Some(c) = &mut self.compare else {
            return vec![];
        };
        if !c.in_flight().is_empty() {
            return self.say("A compare run is in flight: Esc cancels it".into());
        }
        if let Some(v) = c.set.variants.iter().find(|v| v.chat_messages().is_empty()) {
            let m = format!("Column {} has no prompt: e edits it", v.name);
            return self.say(m);
        }
        let (api, retry) = (self.chat.params.api, self.chat.params.retry.clone());
        c.start(&mut self.next_id, &self.deployment, api, &retry, now)
            .into_iter()
            .map(|(id, spec)| Effect::StartCall {
                id,
                api,
                spec: Box::new(spec),
            })
            .collect()
    }

    fn compare_cancel(&mut self) -> Vec<Effect> {
        let now = self.clock.now();
        let ids = self
            .compare
            .as_mut()
            .map_or_else(Vec::new, |c| c.cancel_all(now));
        ids.into_iter().map(Effect::CancelCall).collect()
    }

    /// Opens a scenario on the Replay screen.
    pub fn open_replay(
        &mut self,
        file: &str,
        calls: Vec<crate::domain::scenario::ScenarioCall>,
        speed: Speed,
    ) {
        self.replay = Some(Replay::new(file, calls, speed));
        self.screen = Screen::Replay;
        self.dirty = true;
    }

    /// The damaged lines skipped while loading the open scenario: on the Replay screen and
    /// in the hint bar (not only in `aoai replay --report`).
    pub fn set_replay_skipped(&mut self, warnings: &[crate::domain::scenario::LineWarning]) {
        if warnings.is_empty() {
            return;
        }
        let lines: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        self.message = Some(format!(
            "Skipped {} of the scenario: {}",
            super::components::count(lines.len(), "damaged line"),
            lines.join("; ")
        ));
        if let Some(r) = &mut self.replay {
            r.set_skipped(lines);
        }
        self.dirty = true;
    }

    /// `--record FILE`: where toggling recording on writes.
    pub fn set_record_path(&mut self, path: Option<std::path::PathBuf>) {
        self.recording.default_path = path;
    }

    pub fn deployments(&self) -> &Deployments {
        &self.deployments
    }

    /// Whether something on screen changes with time alone (then the loop ticks).
    pub fn animating(&self) -> bool {
        self.session.animating(self.clock.now())
            || self
                .compare
                .as_ref()
                .is_some_and(|c| c.animating(self.clock.now()))
    }

    pub fn in_flight(&self) -> Option<CallId> {
        self.session.in_flight().map(|c| c.id)
    }

    /// Applies one event; returns what the loop must do.
    pub fn handle(&mut self, ev: AppEvent) -> Vec<Effect> {
        match ev {
            AppEvent::Input(Event::Key(k)) if k.kind != KeyEventKind::Release => self.on_key(k),
            AppEvent::Input(Event::Paste(s)) => self.on_paste(&s),
            AppEvent::Input(Event::Resize(..)) | AppEvent::Resize(..) => self.redraw(),
            AppEvent::Input(_) => vec![],
            AppEvent::Call(id, msg) => self.on_call(id, msg),
            AppEvent::Arm(msg) => {
                self.dirty = true;
                self.deployments
                    .on_arm(msg)
                    .map_or_else(Vec::new, |c| self.command(c))
            }
            AppEvent::Edited(target, Ok(text)) => {
                self.chat.set_text(target, &text);
                self.redraw()
            }
            AppEvent::Edited(_, Err(e)) => self.say(format!("Editor: {e}")),
            AppEvent::Tick => self.redraw(),
            AppEvent::Record(msg) => self.on_record(msg),
            AppEvent::Console(msg) => self.on_console(msg),
        }
    }

    fn redraw(&mut self) -> Vec<Effect> {
        self.dirty = true;
        vec![]
    }

    fn say(&mut self, m: String) -> Vec<Effect> {
        self.message = Some(m);
        self.redraw()
    }

    fn on_paste(&mut self, s: &str) -> Vec<Effect> {
        if self.screen == Screen::Chat && self.help.is_none() {
            self.chat.paste(s);
        }
        if self.screen == Screen::Compare
            && self.help.is_none()
            && let Some(c) = &mut self.compare
        {
            c.paste(s);
        }
        self.redraw()
    }

    fn on_call(&mut self, id: CallId, msg: CallMsg) -> Vec<Effect> {
        let now = self.clock.now();
        if let Some(c) = self.compare.as_mut().filter(|c| c.owns(id)) {
            self.dirty |= c.on_call(id, msg, now);
            return vec![];
        }
        // Unknown ids (never started here) are dropped; ended calls drop late events.
        let Some(call) = self.session.get_mut(id) else {
            return vec![];
        };
        match msg {
            CallMsg::Event(ev) => self.dirty |= call.apply(ev, now),
            CallMsg::Finished(rec) => {
                call.finish(*rec, now);
                self.dirty = true;
            }
        }
        vec![]
    }

    fn on_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        self.dirty = true;
        self.keys += 1;
        if let Some(a) = keymap::lookup(keymap::GLOBAL_ALWAYS, &k) {
            if a != GlobalAction::Interrupt {
                self.quit_armed = false;
                self.message = None;
            }
            return self.global(a);
        }
        self.quit_armed = false;
        self.message = None;
        if let Some(effects) = self.picker_key(k) {
            return effects;
        }
        let outcome = match (&mut self.help, self.screen) {
            (Some(h), _) => h.handle_key(k),
            (None, Screen::Chat) => return self.chat_key(k),
            (None, Screen::History) => self.history.handle_key(k, &self.session),
            (None, Screen::Deployments) => self.deployments.handle_key(k),
            (None, Screen::Replay) => match &mut self.replay {
                Some(r) => r.handle_key(k, self.session.in_flight().is_some()),
                None => Outcome::Ignored,
            },
            (None, Screen::Compare) => self
                .compare
                .as_mut()
                .map_or(Outcome::Ignored, |c| c.handle_key(k)),
            (None, Screen::Bench) => self.bench_key(k),
        };
        match outcome {
            Outcome::Consumed => vec![],
            Outcome::Command(c) => self.command(c),
            Outcome::Ignored => match keymap::lookup(keymap::GLOBAL_UNFOCUSED, &k) {
                Some(a) => self.global(a),
                None => vec![],
            },
        }
    }

    fn global(&mut self, a: GlobalAction) -> Vec<Effect> {
        match a {
            GlobalAction::Help => {
                self.help = if self.help.is_some() {
                    None
                } else {
                    Some(Help::on(self.help_first()))
                };
                vec![]
            }
            GlobalAction::Chat => self.go(Screen::Chat),
            GlobalAction::History => self.go(Screen::History),
            GlobalAction::Deployments => self.go(Screen::Deployments),
            GlobalAction::Interrupt => self.interrupt(),
            GlobalAction::Quit => self.quit_asked(),
            GlobalAction::Replay if self.replay.is_some() => self.go(Screen::Replay),
            GlobalAction::Replay => {
                self.say("No scenario open: `aoai replay FILE` opens one".into())
            }
            GlobalAction::Record => self.toggle_record(),
            GlobalAction::Compare => self.go_compare(),
            GlobalAction::Bench => self.go(Screen::Bench),
            GlobalAction::Profiles => self.open_picker(),
        }
    }

    fn go(&mut self, s: Screen) -> Vec<Effect> {
        self.help = None;
        self.screen = s;
        if s == Screen::Deployments && self.deployments.needs_load() {
            self.deployments.loading();
            return vec![Effect::LoadAccounts];
        }
        vec![]
    }

    fn interrupt(&mut self) -> Vec<Effect> {
        if self.in_flight().is_some() {
            self.quit_armed = false;
            return self.command(Command::CancelCall);
        }
        if self.quit_armed {
            return vec![Effect::Quit];
        }
        self.quit_armed = true;
        self.say("Press Ctrl+C again to quit (or q where no text input has focus)".into())
    }

    fn command(&mut self, c: Command) -> Vec<Effect> {
        match c {
            Command::Quit => vec![Effect::Quit],
            Command::Submit(s) => self.submit(s),
            Command::CancelCall => self.cancel(),
            Command::NewConversation => {
                self.session.new_conversation();
                self.say("New conversation (earlier calls stay in History)".into())
            }
            Command::Edit(target, text) => vec![Effect::Edit(target, text)],
            Command::Copy { what, text } => {
                self.message = Some(format!("Copied the {what} to the clipboard (OSC 52)"));
                vec![Effect::Copy(text)]
            }
            Command::OpenChat(d) => {
                self.deployment = d;
                self.screen = Screen::Chat;
                self.chat.focus_input();
                self.say(format!("Chatting with {}", self.deployment))
            }
            Command::ReloadArm => {
                self.deployments.loading();
                vec![Effect::LoadAccounts]
            }
            Command::SelectAccount {
                account_id,
                location,
            } => {
                vec![
                    Effect::LoadDeployments { account_id },
                    Effect::LoadQuota { location },
                ]
            }
            Command::CloseHelp => {
                self.help = None;
                vec![]
            }
            Command::Replay(index) => self.play(index),
            Command::CompareRun => self.compare_run(),
            Command::CompareCancel => self.compare_cancel(),
            Command::Console(c) => self.console_command(c),
        }
    }

    fn cancel(&mut self) -> Vec<Effect> {
        let now = self.clock.now();
        let Some(id) = self.in_flight() else {
            return vec![];
        };
        if let Some(c) = self.session.get_mut(id) {
            c.cancel(now);
        }
        vec![Effect::CancelCall(id)]
    }

    fn submit(&mut self, s: Submit) -> Vec<Effect> {
        if self.in_flight().is_some() {
            return self.say("A call is in flight: Esc or Ctrl+C cancels it".into());
        }
        let mut messages = Vec::new();
        if !s.system.trim().is_empty() {
            messages.push(ChatMessage::new("system", &s.system));
        }
        for c in self.session.conversation() {
            let done = c
                .record
                .as_ref()
                .is_some_and(|r| r.outcome == crate::domain::call::Outcome::Done);
            if done && !c.answer.text().is_empty() {
                messages.push(ChatMessage::new("user", &c.prompt));
                messages.push(ChatMessage::new("assistant", c.answer.text()));
            }
        }
        messages.push(ChatMessage::new("user", &s.prompt));
        let mut request = ChatRequest {
            messages,
            temperature: s.params.temperature,
            ..Default::default()
        };
        // The same wire field as `aoai chat`, bench and compare send.
        self.ops
            .max_tokens_field
            .apply(&mut request, s.params.max_tokens);
        if let Err(e) = crate::domain::params::check_request(&request) {
            return self.say(format!("Not sent: {e}"));
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut spec = CallSpec::new(self.deployment.clone(), request);
        spec.retry = s.params.retry.clone();
        self.session.calls.push(LiveCall::new(
            id,
            &self.deployment,
            s.params.api,
            &s.prompt,
            self.clock.now(),
        ));
        self.chat.clear_input();
        self.tag_call(id);
        vec![Effect::StartCall {
            id,
            api: s.params.api,
            spec: Box::new(spec),
        }]
    }

    /// Replays the scenario's call `index` as a new call of this session.
    fn play(&mut self, index: usize) -> Vec<Effect> {
        if self.in_flight().is_some() {
            return self.say("A call is in flight: Esc or Ctrl+C stops it".into());
        }
        let Some(r) = &mut self.replay else {
            return vec![];
        };
        let Some(call) = r.call(index).cloned() else {
            return vec![];
        };
        let id = self.next_id;
        self.next_id += 1;
        r.playing(id, index);
        let speed = r.speed();
        let prompt = last_user_message(&call);
        let live = LiveCall::new(
            id,
            &call.request.deployment,
            call.request.api,
            &prompt,
            self.clock.now(),
        );
        self.session.calls.push(live);
        vec![Effect::Replay {
            id,
            call: Box::new(call),
            speed,
        }]
    }

    /// Recording on (to `--record FILE`, else a new time-stamped file) or off.
    pub fn toggle_record(&mut self) -> Vec<Effect> {
        if let Some(path) = self.recording.active.take() {
            let n = self.recording.written;
            return self.say_and(
                format!(
                    "Recording stopped: {} in {}",
                    super::components::count(n, "call"),
                    path.display()
                ),
                Effect::StopRecording,
            );
        }
        let path = self.recording.default_path.clone().unwrap_or_else(|| {
            crate::engine::record::writer::default_record_path(std::time::SystemTime::now())
        });
        self.recording.generation += 1;
        self.recording.written = 0;
        self.recording.active = Some(path.clone());
        let generation = self.recording.generation;
        self.say_and(
            format!("Recording calls to {}", path.display()),
            Effect::StartRecording { generation, path },
        )
    }

    fn say_and(&mut self, m: String, e: Effect) -> Vec<Effect> {
        self.say(m);
        vec![e]
    }

    fn on_record(&mut self, msg: RecordMsg) -> Vec<Effect> {
        let current = self.recording.generation;
        match msg {
            RecordMsg::Opened { .. } => vec![],
            RecordMsg::Written { generation, count } if generation == current => {
                self.recording.written = count;
                self.redraw()
            }
            RecordMsg::Failed { generation, error }
                if generation == current && self.recording.active.is_some() =>
            {
                self.recording.active = None;
                self.say_and(format!("Recording stopped: {error}"), Effect::StopRecording)
            }
            RecordMsg::Written { .. } | RecordMsg::Failed { .. } => vec![],
        }
    }

    fn hints(&self) -> Vec<Hint> {
        if self.help.is_some() {
            return keymap::hints(keymap::HELP);
        }
        if let Some(h) = self.picker_hints() {
            return h;
        }
        let (mut h, text) = match self.screen {
            Screen::Chat => (keymap::hints(self.chat.keymap()), self.chat.wants_text()),
            Screen::History => (keymap::hints(self.history.keymap()), false),
            Screen::Deployments => (self.deployments.hints(), self.deployments.wants_text()),
            Screen::Bench => self.bench_hints(),
            Screen::Replay => (
                self.replay.as_ref().map_or_else(Vec::new, Replay::hints),
                false,
            ),
            Screen::Compare => self
                .compare
                .as_ref()
                .map_or((Vec::new(), false), |c| (c.hints(), c.wants_text())),
        };
        if !text {
            h.extend(keymap::hints(keymap::GLOBAL_UNFOCUSED));
        }
        h
    }

    pub fn render(&mut self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme.clone();
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let text = format!(
                "Terminal too small ({}×{}); aoai needs at least {MIN_WIDTH}×{MIN_HEIGHT}. q quits.",
                area.width, area.height
            );
            Paragraph::new(Line::styled(text, theme.warn))
                .wrap(Wrap { trim: true })
                .render(area, buf);
            return;
        }
        let [top, body, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let now = self.clock.now();
        let props = StatusProps {
            screen: self.screen,
            deployment: &self.deployment,
            endpoint: &self.endpoint,
            sim: self.sim,
            calls_in_flight: self.in_flight().is_some(),
            replay: self.replay.is_some(),
            recording: self.recording.label(),
            recording_short: self.recording.short_label(),
        };
        status_bar::render_status(top, buf, &theme, &props);
        match self.screen {
            Screen::Chat => {
                let wide = body.width >= PANEL_FROM;
                // From 120 columns the panel is wide enough for a whole request id (36) on one row.
                let panel_w = if body.width >= 120 { 47 } else { 32 };
                let [params_a, body] =
                    Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(body);
                self.chat
                    .render_params(params_a, buf, &theme, &self.deployment);
                let [left, right] = if wide {
                    Layout::horizontal([Constraint::Min(20), Constraint::Length(panel_w)])
                        .areas(body)
                } else {
                    [body, Rect::default()]
                };
                let props = ChatProps {
                    session: &self.session,
                    deployment: &self.deployment,
                    now,
                    summary: !wide,
                };
                self.chat.render(left, buf, &theme, &props);
                if wide {
                    call_panel::render(right, buf, &theme, self.session.latest(), now);
                }
            }
            Screen::History => self
                .history
                .render(body, buf, &theme, &self.session, self.sim),
            Screen::Deployments => self.deployments.render(body, buf, &theme, &self.session),
            Screen::Bench => self.render_bench(body, buf, &theme),
            Screen::Replay => {
                if let Some(r) = &mut self.replay {
                    let props = ReplayProps {
                        session: &self.session,
                        now,
                    };
                    r.render(body, buf, &theme, &props);
                }
            }
            Screen::Compare => {
                if let Some(c) = &mut self.compare {
                    let props = CompareProps {
                        deployment: &self.deployment,
                        now,
                    };
                    c.render(body, buf, &theme, &props);
                }
            }
        }
        if let Some(h) = &mut self.help {
            h.render(body, buf, &theme);
        }
        self.render_picker(body, buf, &theme);
        status_bar::render_hints(bottom, buf, &theme, &self.hints(), self.message.as_deref());
    }
}
