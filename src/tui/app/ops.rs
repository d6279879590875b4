//! The app's routing for the Azure and load features: opening a deployment (endpoint + ARM
//! model), metrics results, the profile picker and switch (stale connections dropped by
//! generation), and the Bench screen. Views live in `components/`; this only routes.

use std::collections::HashMap;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::App;
use crate::azure::arm::ModelRef;
use crate::tui::command::{Effect, Outcome, SIMULATOR_PROFILE};
use crate::tui::components::bench::{BenchProps, BenchView};
use crate::tui::components::deployments::Deployments;
use crate::tui::components::profiles::ProfilePicker;
use crate::tui::components::ptu::session_workload;
use crate::tui::components::status_bar::Screen;
use crate::tui::event::CallId;
use crate::tui::keymap::Hint;
use crate::tui::ops::{ConsoleCommand, ConsoleEffect, ConsoleMsg, OpenTarget, endpoint_host};
use crate::tui::theme::Theme;

/// App state for these features.
#[derive(Default)]
pub struct AppOps {
    /// The config file's profiles (the picker adds `simulator`).
    profiles: Vec<String>,
    picker: Option<ProfilePicker>,
    /// The profile in use, when one was picked here.
    profile: Option<String>,
    profile_generation: u64,
    /// Deployment name → its ARM model (set when opened from the browser).
    models: HashMap<String, ModelRef>,
    bench: BenchView,
    bench_generation: u64,
    /// Which wire field carries the output budget (`--max-tokens-field`, profile key).
    pub max_tokens_field: crate::domain::params::MaxTokensField,
}

impl App {
    /// The config file's profiles, offered by the picker (plus `simulator`).
    pub fn set_profiles(&mut self, names: Vec<String>) {
        self.ops.profiles = names;
    }

    /// The wire field the output budget goes in (`max_completion_tokens` unless told).
    pub fn set_max_tokens_field(&mut self, field: crate::domain::params::MaxTokensField) {
        self.ops.max_tokens_field = field;
    }

    pub fn bench(&self) -> &BenchView {
        &self.ops.bench
    }

    /// The ARM model calls to `deployment` are priced on, when it was opened from the browser.
    pub fn model_ref(&self, deployment: &str) -> Option<&ModelRef> {
        self.ops.models.get(deployment)
    }

    /// What the status bar shows as the target's endpoint.
    pub fn endpoint_label(&self) -> &str {
        &self.endpoint
    }

    pub fn picker_open(&self) -> bool {
        self.ops.picker.is_some()
    }

    pub(super) fn console_command(&mut self, c: ConsoleCommand) -> Vec<Effect> {
        match c {
            ConsoleCommand::OpenDeployment(t) => self.open_deployment(*t),
            ConsoleCommand::LoadMetrics {
                account_id,
                deployment,
            } => vec![Effect::Console(ConsoleEffect::LoadMetrics {
                account_id,
                deployment,
            })],
            ConsoleCommand::SwitchProfile(name) => self.switch_profile(name),
            ConsoleCommand::ClosePicker => {
                self.ops.picker = None;
                vec![]
            }
            ConsoleCommand::StartBench(spec) => {
                self.ops.bench_generation += 1;
                let generation = self.ops.bench_generation;
                self.ops
                    .bench
                    .started(generation, &self.deployment, spec.clone());
                vec![Effect::Console(ConsoleEffect::StartBench {
                    generation,
                    spec,
                    deployment: self.deployment.clone(),
                    api: self.chat.params.api,
                    model: self.ops.models.get(&self.deployment).cloned(),
                })]
            }
            ConsoleCommand::StopBench => vec![Effect::Console(ConsoleEffect::StopBench)],
        }
    }

    fn open_deployment(&mut self, t: OpenTarget) -> Vec<Effect> {
        self.ops.models.insert(t.name.clone(), t.model.clone());
        // The status bar names the endpoint the executor switches to (the account's).
        if let Some(e) = &t.endpoint
            && crate::azure::Endpoint::parse(e).is_ok()
        {
            self.endpoint = endpoint_host(e);
        }
        self.deployment = t.name.clone();
        self.screen = Screen::Chat;
        self.chat.focus_input();
        let m = &t.model;
        let at = t
            .endpoint
            .as_deref()
            .map_or(String::new(), |e| format!(" at {}", endpoint_host(e)));
        self.say(format!(
            "Chatting with {} ({} {}, {}){at}",
            t.name, m.model, m.version, m.sku
        ));
        vec![Effect::Console(ConsoleEffect::UseDeployment {
            name: t.name,
            endpoint: t.endpoint,
            model: t.model,
        })]
    }

    /// Tags a call just started with its deployment's ARM model (call panel, PTU estimate).
    pub(super) fn tag_call(&mut self, id: CallId) {
        let model = self.ops.models.get(&self.deployment).cloned();
        if let Some(c) = self.session.get_mut(id) {
            c.model = model;
        }
    }

    pub(super) fn open_picker(&mut self) -> Vec<Effect> {
        let mut items = self.ops.profiles.clone();
        if !items.iter().any(|p| p == SIMULATOR_PROFILE) {
            items.push(SIMULATOR_PROFILE.into());
        }
        let current = self
            .ops
            .profile
            .clone()
            .or_else(|| self.sim.then(|| SIMULATOR_PROFILE.to_string()));
        self.ops.picker = Some(ProfilePicker::new(items, current));
        vec![]
    }

    fn switch_profile(&mut self, name: String) -> Vec<Effect> {
        self.ops.picker = None;
        self.ops.profile_generation += 1;
        let generation = self.ops.profile_generation;
        self.say(format!("Connecting with profile {name}…"));
        vec![Effect::Console(ConsoleEffect::ConnectProfile {
            generation,
            name,
        })]
    }

    /// Keys for the picker while it is open (it is modal).
    pub(super) fn picker_key(&mut self, k: KeyEvent) -> Option<Vec<Effect>> {
        let picker = self.ops.picker.as_mut()?;
        Some(match picker.handle_key(k) {
            Outcome::Command(c) => self.command(c),
            Outcome::Consumed | Outcome::Ignored => vec![],
        })
    }

    pub(super) fn picker_hints(&self) -> Option<Vec<Hint>> {
        self.ops.picker.as_ref().map(ProfilePicker::hints)
    }

    pub(super) fn bench_key(&mut self, k: KeyEvent) -> Outcome {
        self.ops.bench.handle_key(k)
    }

    pub(super) fn bench_hints(&self) -> (Vec<Hint>, bool) {
        (self.ops.bench.hints(), self.ops.bench.wants_text())
    }

    pub(super) fn on_console(&mut self, msg: ConsoleMsg) -> Vec<Effect> {
        match msg {
            ConsoleMsg::Metrics {
                account_id,
                deployment,
                result,
            } => {
                self.deployments
                    .on_metrics(&account_id, &deployment, result);
                self.redraw()
            }
            ConsoleMsg::ProfileReady {
                generation,
                result,
                slot,
            } => {
                // A later pick supersedes this one; its connection is dropped here.
                if generation != self.ops.profile_generation {
                    return vec![];
                }
                match result {
                    Ok(info) => {
                        self.endpoint = info.endpoint_label;
                        self.sim = info.sim;
                        match info.deployment {
                            Some(d) => self.deployment = d,
                            None if info.sim => {
                                self.deployment =
                                    crate::engine::connect::SIM_DEFAULT_DEPLOYMENT.into()
                            }
                            None => {}
                        }
                        self.ops.models.clear();
                        self.ops.profile = Some(info.name.clone());
                        self.deployments = Deployments::default();
                        let mut m = format!(
                            "Profile {}: {} @ {}",
                            info.name, self.deployment, self.endpoint
                        );
                        if let Some(w) = &info.warning {
                            m.push_str(&format!(" — warning: {w}; calls fail until it is up"));
                        }
                        self.say(m);
                        let mut effects =
                            vec![Effect::Console(ConsoleEffect::InstallProfile(slot))];
                        if self.screen == Screen::Deployments {
                            self.deployments.loading();
                            effects.push(Effect::LoadAccounts);
                        }
                        effects
                    }
                    Err(e) => self.say(format!("Profile not switched: {e}")),
                }
            }
            ConsoleMsg::BenchReport { generation, report } => {
                self.dirty |= self.ops.bench.on_report(generation, *report);
                vec![]
            }
            ConsoleMsg::BenchDone { generation, result } => {
                self.dirty |= self.ops.bench.on_done(generation, result.map(|r| *r));
                vec![]
            }
        }
    }

    pub(super) fn render_bench(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let workload = session_workload(&self.session);
        let props = BenchProps {
            deployment: &self.deployment,
            workload: workload.as_ref(),
        };
        self.ops.bench.render(area, buf, theme, &props);
    }

    pub(super) fn render_picker(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        if let Some(p) = &self.ops.picker {
            p.render(area, buf, theme);
        }
    }
}
