//! Focus and routing. `App` owns the components and the session facts. It routes keys,
//! paste, hints, help and drawing to the focused [`Component`] and results to the component
//! of their feature, and turns the [`Command`]s that come back into [`Effect`]s; it draws
//! nothing itself beyond laying out the screen and delegating.

use std::sync::Arc;

use crossterm::event::{Event, KeyEvent, KeyEventKind};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::component::{Component, Props, Update};
use super::components::chat;
use super::components::compare::Compare;
use super::components::deployments::Deployments;
use super::components::help::Help;
use super::components::replay::Replay;
use super::components::status_bar::{self, StatusProps};
use super::event::EditTarget;
use super::event::{AppEvent, CallId, CallMsg, Clock};
use super::keymap::{self, GlobalAction, Hint};
use super::messages::{
    ArmCommand, ArmEffect, ChatCommand, ChatParams, Command, CompareCommand, Effect, Handled,
    RecordEffect, ReplayCommand, Submit, TerminalCommand, TerminalEffect,
};
use super::recording::{RecordNews, Recording};
use super::session::{LiveCall, Session};
use super::theme::Theme;
use crate::engine::replay::Speed;

mod azure;
mod keys;
mod screen;

pub use screen::{Screen, Screens};

/// Smallest size the console draws; below it shows a "too small" message.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

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
    pub screens: Screens,
    help: Option<Help>,
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
    /// Scenario recording (`--record FILE`, Ctrl+R / F8).
    pub recording: Recording,
    /// Deployments opened on their endpoint, profiles, bench runs (`app/azure.rs`).
    azure: azure::AzureState,
}

impl App {
    pub fn new(cfg: AppConfig, theme: Theme, clock: Arc<dyn Clock>) -> Self {
        let mut screens = Screens::default();
        screens.chat.params = cfg.params;
        if let Some(system) = &cfg.system {
            screens.chat.set_text(EditTarget::System, system);
        }
        App {
            screen: Screen::Chat,
            screens,
            help: None,
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
            recording: Recording::default(),
            azure: azure::AzureState::default(),
        }
    }

    /// Opens a variant set on the Compare screen.
    pub fn open_compare(&mut self, set: crate::domain::compare::VariantSet) {
        self.screens.compare = Some(Compare::new(set));
        self.screen = Screen::Compare;
        self.dirty = true;
    }

    pub fn compare(&self) -> Option<&Compare> {
        self.screens.compare.as_ref()
    }

    /// F7: the Compare screen; the first time, a set of one column from the chat's prompt.
    fn go_compare(&mut self) -> Vec<Effect> {
        if self.screens.compare.is_none() {
            let compare = Compare::from_chat(&self.screens.chat, &self.session, &self.deployment);
            self.screens.compare = Some(compare);
        }
        self.go(Screen::Compare)
    }

    fn compare_command(&mut self, c: CompareCommand) -> Vec<Effect> {
        let now = self.clock.now();
        let Some(compare) = &mut self.screens.compare else {
            return vec![];
        };
        match c {
            CompareCommand::Run => {
                let params = &self.screens.chat.params;
                match compare.run(&mut self.next_id, &self.deployment, params, now) {
                    Ok(started) => started
                        .into_iter()
                        .map(|(id, spec)| Effect::StartCall {
                            id,
                            api: params.api,
                            spec: Box::new(spec),
                        })
                        .collect(),
                    Err(why) => self.say(why.to_string()),
                }
            }
            CompareCommand::Cancel => compare
                .cancel_all(now)
                .into_iter()
                .map(Effect::CancelCall)
                .collect(),
            CompareCommand::Judge => {
                let params = &self.screens.chat.params;
                compare
                    .start_judges(&mut self.next_id, params)
                    .into_iter()
                    .map(|(id, spec)| Effect::StartCall {
                        id,
                        api: params.api,
                        spec: Box::new(spec),
                    })
                    .collect()
            }
        }
    }

    /// Opens a scenario on the Replay screen.
    pub fn open_replay(
        &mut self,
        file: &str,
        calls: Vec<crate::domain::scenario::ScenarioCall>,
        speed: Speed,
    ) {
        self.show_replay(Replay::new(file, calls, speed));
    }

    /// Opens the Replay screen on a scenario being read from `path` in the background; the
    /// rows arrive as [`AppEvent::ReplayRows`].
    pub fn open_replay_file(&mut self, file: &str, path: std::path::PathBuf, speed: Speed) {
        self.show_replay(Replay::reading(file, path, speed));
    }

    fn show_replay(&mut self, r: Replay) {
        self.screens.replay = Some(r);
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
        if let Some(r) = &mut self.screens.replay {
            r.set_skipped(lines);
        }
        self.dirty = true;
    }

    /// `--record FILE`: where toggling recording on writes.
    pub fn set_record_path(&mut self, path: Option<std::path::PathBuf>) {
        self.recording.default_path = path;
    }

    pub fn deployments(&self) -> &Deployments {
        &self.screens.deployments
    }

    /// Whether something on screen changes with time alone (then the loop ticks).
    pub fn animating(&self) -> bool {
        self.session.animating(self.clock.now())
            || self
                .screens
                .compare
                .as_ref()
                .is_some_and(|c| c.animating(self.clock.now()))
            || (self.screen == Screen::Traffic
                && self
                    .screens
                    .traffic
                    .as_ref()
                    .is_some_and(|t| t.animating(self.clock.now())))
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
                let handled = self.with_screens(|s, p| s.deployments.update(msg, p));
                self.handled(handled)
            }
            AppEvent::Profile(msg) => self.on_profile(msg),
            AppEvent::Probed(result) => {
                self.dirty = true;
                if let Some(v) = &mut self.azure.probe {
                    v.finish(result);
                }
                vec![]
            }
            AppEvent::Bench(msg) => {
                let handled = self.with_screens(|s, p| s.bench.update(msg, p));
                self.dirty |= handled != Handled::Ignored;
                self.handled(handled)
            }
            AppEvent::Record(msg) => match self.recording.update(msg) {
                RecordNews::Stale => vec![],
                RecordNews::Written => self.redraw(),
                RecordNews::Stopped(m) => self.say_and(m, Effect::Record(RecordEffect::Stop)),
            },
            AppEvent::Edited(target, Ok(text)) => {
                self.screens.chat.set_text(target, &text);
                self.redraw()
            }
            AppEvent::Edited(_, Err(e)) => self.say(format!("Editor: {e}")),
            AppEvent::Proxy(ev) => {
                let changed = self
                    .screens
                    .traffic
                    .as_mut()
                    .is_some_and(|t| t.on_event(ev, self.clock.now()));
                self.dirty |= changed;
                vec![]
            }
            AppEvent::Tick => self.redraw(),
            AppEvent::Notice(m) => self.say(m),
            AppEvent::ReplayRows(rows) => {
                if let Some(r) = &mut self.screens.replay {
                    r.add_rows(rows);
                }
                self.redraw()
            }
            AppEvent::ReplayRead(result) => {
                let error = result.as_ref().err().cloned();
                if let Some(r) = &mut self.screens.replay {
                    r.loaded(error.clone());
                }
                match result {
                    Ok(warnings) => self.set_replay_skipped(&warnings),
                    Err(e) => self.message = Some(format!("Reading the scenario stopped: {e}")),
                }
                self.redraw()
            }
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

    fn say_and(&mut self, m: String, e: Effect) -> Vec<Effect> {
        self.say(m);
        vec![e]
    }

    /// Runs `f` on the screens with the session facts as props.
    fn with_screens<R>(&mut self, f: impl FnOnce(&mut Screens, &Props<'_>) -> R) -> R {
        let known = self.screens.deployments.names();
        let props = props(
            &self.session,
            &self.deployment,
            self.clock.now(),
            self.sim,
            &known,
        );
        f(&mut self.screens, &props)
    }

    fn on_paste(&mut self, s: &str) -> Vec<Effect> {
        if self.help.is_none()
            && let Some(c) = self.screens.get_mut(self.screen)
        {
            c.on_paste(s);
        }
        self.redraw()
    }

    fn on_call(&mut self, id: CallId, msg: CallMsg) -> Vec<Effect> {
        let now = self.clock.now();
        if self.screens.compare.as_ref().is_some_and(|c| c.owns(id)) {
            let handled = self.with_screens(|s, p| match &mut s.compare {
                Some(c) => c.update((id, msg), p),
                None => Handled::Ignored,
            });
            self.dirty |= handled != Handled::Ignored;
            return match handled {
                Handled::Command(c) => self.command(c),
                _ => vec![],
            };
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
        // The probe panel over the Deployments screen closes with Esc.
        if self.screen == Screen::Deployments
            && self.azure.probe.is_some()
            && self.azure.picker.is_none()
            && k.code == crossterm::event::KeyCode::Esc
        {
            self.azure.probe = None;
            return vec![];
        }
        let modal = self.azure.picker.is_some();
        let known = self.screens.deployments.names();
        let now = self.clock.now();
        let props = props(&self.session, &self.deployment, now, self.sim, &known);
        let handled = match (&mut self.azure.picker, &mut self.help) {
            (Some(p), _) => p.on_key(k, &props),
            (None, Some(h)) => h.on_key(k, &props),
            (None, None) => match self.screens.get_mut(self.screen) {
                Some(c) => c.on_key(k, &props),
                None => Handled::Ignored,
            },
        };
        match handled {
            // The picker is modal: keys it does not take go nowhere.
            Handled::Ignored if modal => vec![],
            Handled::Ignored => match keymap::lookup(keymap::GLOBAL_UNFOCUSED, &k) {
                Some(a) => self.global(a),
                None => vec![],
            },
            h => self.handled(h),
        }
    }

    fn handled(&mut self, h: Handled) -> Vec<Effect> {
        match h {
            Handled::Ignored | Handled::Consumed => vec![],
            Handled::Command(c) => self.command(c),
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
            GlobalAction::Replay if self.screens.replay.is_some() => self.go(Screen::Replay),
            GlobalAction::Replay => {
                self.say("No scenario open: `aoai replay FILE` opens one".into())
            }
            GlobalAction::Record => self.toggle_record(),
            GlobalAction::Compare => self.go_compare(),
            GlobalAction::Bench => self.go(Screen::Bench),
            GlobalAction::Profiles => self.open_picker(),
            GlobalAction::Traffic if self.screens.traffic.is_some() => self.go(Screen::Traffic),
            GlobalAction::Traffic => self.say(
                "No proxy running: `aoai --proxy PORT` puts the console between your application and Azure".into(),
            ),
        }
    }

    fn go(&mut self, s: Screen) -> Vec<Effect> {
        self.help = None;
        self.screen = s;
        if s == Screen::Deployments {
            return self.load_deployments();
        }
        vec![]
    }

    /// The browser's first load, once (from its screen or from the chat's failover list).
    fn load_deployments(&mut self) -> Vec<Effect> {
        if !self.screens.deployments.needs_load() {
            return vec![];
        }
        self.screens.deployments.loading();
        vec![Effect::Arm(ArmEffect::LoadAccounts)]
    }

    fn interrupt(&mut self) -> Vec<Effect> {
        if self.in_flight().is_some() {
            self.quit_armed = false;
            return self.cancel();
        }
        if self.quit_armed {
            return vec![Effect::Terminal(TerminalEffect::Quit)];
        }
        self.quit_armed = true;
        self.say("Press Ctrl+C again to quit (or q where no text input has focus)".into())
    }

    fn command(&mut self, c: Command) -> Vec<Effect> {
        match c {
            Command::Quit => vec![Effect::Terminal(TerminalEffect::Quit)],
            Command::CloseHelp => {
                self.help = None;
                vec![]
            }
            Command::Chat(c) => self.chat_command(c),
            Command::Arm(c) => self.arm_command(c),
            Command::Bench(c) => self.bench_command(c),
            Command::Compare(c) => self.compare_command(c),
            Command::Replay(ReplayCommand::Play(index)) => self.play(index),
            Command::Replay(ReplayCommand::Stop) => self.cancel(),
            Command::Profile(c) => self.profile_command(c),
            Command::Terminal(TerminalCommand::Edit(target, text)) => {
                vec![Effect::Terminal(TerminalEffect::Edit(target, text))]
            }
            Command::Terminal(TerminalCommand::Copy { what, text }) => {
                self.message = Some(format!("Copied the {what} to the clipboard (OSC 52)"));
                vec![Effect::Terminal(TerminalEffect::Copy(text))]
            }
        }
    }

    fn chat_command(&mut self, c: ChatCommand) -> Vec<Effect> {
        match c {
            ChatCommand::Submit(s) => self.submit(s),
            ChatCommand::Cancel => self.cancel(),
            ChatCommand::NewConversation => {
                self.session.new_conversation();
                self.say("New conversation (earlier calls stay in History)".into())
            }
            ChatCommand::WantDeployments => self.load_deployments(),
        }
    }

    fn arm_command(&mut self, c: ArmCommand) -> Vec<Effect> {
        match c {
            ArmCommand::Reload => {
                self.screens.deployments.loading();
                vec![Effect::Arm(ArmEffect::LoadAccounts)]
            }
            ArmCommand::SelectAccount {
                account_id,
                location,
            } => vec![
                Effect::Arm(ArmEffect::LoadDeployments { account_id }),
                Effect::Arm(ArmEffect::LoadQuota { location }),
            ],
            ArmCommand::Open(t) => self.open_deployment(*t),
            ArmCommand::Embed(t) => vec![Effect::Arm(ArmEffect::Embed(t))],
            ArmCommand::LoadMetrics {
                account_id,
                deployment,
            } => vec![Effect::Arm(ArmEffect::LoadMetrics {
                account_id,
                deployment,
            })],
            ArmCommand::Probe => {
                let view = self.azure.probe.get_or_insert_with(Default::default);
                if view.probing {
                    return vec![];
                }
                view.start();
                vec![Effect::Arm(ArmEffect::Probe)]
            }
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
        let field = self.azure.max_tokens_field;
        let spec = match chat::request::call_spec(&s, &self.session, &self.deployment, field) {
            Ok(spec) => spec,
            Err(e) => return self.say(format!("Not sent: {e}")),
        };
        let id = self.next_id;
        self.next_id += 1;
        let mut call = LiveCall::new(
            id,
            &self.deployment,
            s.params.api,
            &s.prompt,
            self.clock.now(),
        );
        call.wire_api = s.params.wire_api;
        self.session.calls.push(call);
        self.screens.chat.clear_input();
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
        let Some(r) = &mut self.screens.replay else {
            return vec![];
        };
        let (Some(row), Some(source)) = (r.row(index).cloned(), r.source(index)) else {
            return vec![];
        };
        let id = self.next_id;
        self.next_id += 1;
        r.playing(id, index);
        let speed = r.speed();
        let live = LiveCall::new(id, &row.deployment, row.api, &row.prompt, self.clock.now());
        self.session.calls.push(live);
        vec![Effect::Replay { id, source, speed }]
    }

    /// Recording on (to `--record FILE`, else a new time-stamped file) or off.
    pub fn toggle_record(&mut self) -> Vec<Effect> {
        let (m, e) = self.recording.toggle(std::time::SystemTime::now());
        self.say_and(m, Effect::Record(e))
    }

    fn hints(&self) -> Vec<Hint> {
        if let Some(h) = &self.help {
            return h.hints();
        }
        if let Some(p) = &self.azure.picker {
            return p.hints();
        }
        let Some(c) = self.screens.get(self.screen) else {
            return keymap::hints(keymap::GLOBAL_UNFOCUSED);
        };
        let mut h = c.hints();
        if !c.wants_text() {
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
        let tabs = self.screens.tabs(self.screen);
        let status = StatusProps {
            tabs: &tabs,
            deployment: &self.deployment,
            endpoint: &self.endpoint,
            signed_in: self.azure.signed_in.as_deref(),
            sim: self.sim,
            calls_in_flight: self.in_flight().is_some(),
            recording: self.recording.label(),
            recording_short: self.recording.short_label(),
        };
        status_bar::render_status(top, buf, &theme, &status);
        // Drawing reads no failover targets: the names are not collected for every frame.
        let props = props(
            &self.session,
            &self.deployment,
            self.clock.now(),
            self.sim,
            &[],
        );
        if let Some(c) = self.screens.get_mut(self.screen) {
            c.draw(body, buf, &theme, &props);
        }
        if let (Screen::Deployments, Some(p)) = (self.screen, &self.azure.probe) {
            p.render(body, buf, &theme);
        }
        if let Some(h) = &mut self.help {
            h.draw(body, buf, &theme, &props);
        }
        if let Some(p) = &mut self.azure.picker {
            p.draw(body, buf, &theme, &props);
        }
        status_bar::render_hints(bottom, buf, &theme, &self.hints(), self.message.as_deref());
    }
}

/// The facts every component may read.
fn props<'a>(
    session: &'a Session,
    deployment: &'a str,
    now: std::time::Duration,
    sim: bool,
    known_deployments: &'a [String],
) -> Props<'a> {
    Props {
        session,
        deployment,
        now,
        sim,
        known_deployments,
    }
}
