//! The app's routing for the Azure and load features: opening a deployment (endpoint + ARM
//! model), the profile picker and switch (stale connections dropped by generation), and bench
//! runs. Views live in `components/`; this only routes.

use std::collections::HashMap;

use super::{App, Screen};
use crate::azure::arm::ModelRef;
use crate::tui::components::bench::BenchView;
use crate::tui::components::deployments::Deployments;
use crate::tui::components::profiles::ProfilePicker;
use crate::tui::event::{CallId, ProfileMsg};
use crate::tui::executor::SIMULATOR_PROFILE;
use crate::tui::messages::{
    ArmEffect, BenchCommand, BenchEffect, Effect, OpenTarget, ProfileCommand, ProfileEffect,
};

/// App state for these features.
#[derive(Default)]
pub struct AzureState {
    /// The config file's profiles (the picker adds `simulator`).
    profiles: Vec<String>,
    pub(super) picker: Option<ProfilePicker>,
    /// The profile in use, when one was picked here.
    profile: Option<String>,
    profile_generation: u64,
    /// Deployment name → its ARM model (set when opened from the browser).
    models: HashMap<String, ModelRef>,
    bench_generation: u64,
    /// Which wire field carries the output budget (`--max-tokens-field`, profile key).
    pub max_tokens_field: crate::domain::params::MaxTokensField,
    /// Signed in with the az CLI: `(id, name)` of the subscriptions the picker offers.
    subscriptions: Vec<(String, String)>,
    /// The subscription browsed.
    subscription: Option<String>,
    /// Who signed in with the az CLI, and the subscription browsed.
    who: Option<crate::engine::signed_in::SignedIn>,
    /// `who`'s label for the status bar (kept, not built every frame).
    pub(super) signed_in: Option<String>,
    /// The Deployments screen's probe panel (`P`), while open.
    pub(super) probe: Option<crate::tui::components::probe::ProbeView>,
}

/// The host shown in the status bar for an endpoint URL.
fn endpoint_host(url: &str) -> String {
    crate::azure::Endpoint::parse(url)
        .map(|e| e.host())
        .unwrap_or_else(|_| url.to_string())
}

impl App {
    /// The config file's profiles, offered by the picker (plus `simulator`).
    pub fn set_profiles(&mut self, names: Vec<String>) {
        self.azure.profiles = names;
    }

    /// Signed in with the az CLI (zero-config): who, and the subscriptions to switch
    /// between (the one in use first).
    pub fn set_signed_in(
        &mut self,
        who: crate::engine::signed_in::SignedIn,
        subscriptions: Vec<(String, String)>,
    ) {
        self.azure.subscription = Some(who.subscription_id.clone());
        self.azure.signed_in = Some(who.label());
        self.azure.who = Some(who);
        self.azure.subscriptions = subscriptions;
    }

    /// Opens the deployments browser (zero-config starts there); returns its first load.
    pub fn open_deployments(&mut self) -> Vec<Effect> {
        self.go(Screen::Deployments)
    }

    /// The Deployments screen's probe panel, while open.
    pub fn probe_view(&self) -> Option<&crate::tui::components::probe::ProbeView> {
        self.azure.probe.as_ref()
    }

    /// `user · subscription` when signed in with the az CLI.
    pub fn signed_in(&self) -> Option<&str> {
        self.azure.signed_in.as_deref()
    }

    /// The wire field the output budget goes in (`max_completion_tokens` unless told).
    pub fn set_max_tokens_field(&mut self, field: crate::domain::params::MaxTokensField) {
        self.azure.max_tokens_field = field;
    }

    pub fn bench(&self) -> &BenchView {
        &self.screens.bench
    }

    /// The ARM model calls to `deployment` are priced on, when it was opened from the browser.
    pub fn model_ref(&self, deployment: &str) -> Option<&ModelRef> {
        self.azure.models.get(deployment)
    }

    /// What the status bar shows as the target's endpoint.
    pub fn endpoint_label(&self) -> &str {
        &self.endpoint
    }

    pub fn picker_open(&self) -> bool {
        self.azure.picker.is_some()
    }

    pub(super) fn bench_command(&mut self, c: BenchCommand) -> Vec<Effect> {
        match c {
            BenchCommand::Start(spec) => {
                self.azure.bench_generation += 1;
                let generation = self.azure.bench_generation;
                self.screens
                    .bench
                    .started(generation, &self.deployment, spec.clone());
                vec![Effect::Bench(BenchEffect::Start {
                    generation,
                    spec,
                    deployment: self.deployment.clone(),
                    api: self.screens.chat.params.api,
                    wire_api: self.screens.chat.params.wire_api,
                    model: self.azure.models.get(&self.deployment).cloned(),
                })]
            }
            BenchCommand::Stop => vec![Effect::Bench(BenchEffect::Stop)],
        }
    }

    pub(super) fn open_deployment(&mut self, t: OpenTarget) -> Vec<Effect> {
        self.azure.models.insert(t.name.clone(), t.model.clone());
        // The status bar names the endpoint the executor switches to (the account's).
        if let Some(e) = &t.endpoint
            && crate::azure::Endpoint::parse(e).is_ok()
        {
            self.endpoint = endpoint_host(e);
        }
        self.deployment = t.name.clone();
        self.screen = Screen::Chat;
        self.screens.chat.focus_input();
        let m = &t.model;
        let at = t
            .endpoint
            .as_deref()
            .map_or(String::new(), |e| format!(" at {}", endpoint_host(e)));
        self.say(format!(
            "Chatting with {} ({} {}, {}){at}",
            t.name, m.model, m.version, m.sku
        ));
        vec![Effect::Arm(ArmEffect::UseDeployment {
            name: t.name,
            endpoint: t.endpoint,
            model: t.model,
        })]
    }

    /// Tags a call just started with its deployment's ARM model (call panel, PTU estimate).
    pub(super) fn tag_call(&mut self, id: CallId) {
        let model = self.azure.models.get(&self.deployment).cloned();
        if let Some(c) = self.session.get_mut(id) {
            c.model = model;
        }
    }

    pub(super) fn open_picker(&mut self) -> Vec<Effect> {
        let mut items = self.azure.profiles.clone();
        if !items.iter().any(|p| p == SIMULATOR_PROFILE) {
            items.push(SIMULATOR_PROFILE.into());
        }
        let current = self
            .azure
            .profile
            .clone()
            .or_else(|| self.sim.then(|| SIMULATOR_PROFILE.to_string()));
        self.azure.picker = Some(ProfilePicker::new(items, current).with_subscriptions(
            self.azure.subscriptions.clone(),
            self.azure.subscription.clone(),
        ));
        vec![]
    }

    pub(super) fn profile_command(&mut self, c: ProfileCommand) -> Vec<Effect> {
        self.azure.picker = None;
        match c {
            ProfileCommand::Switch(name) => {
                self.azure.profile_generation += 1;
                let generation = self.azure.profile_generation;
                self.say(format!("Connecting with profile {name}…"));
                vec![Effect::Profile(ProfileEffect::Connect { generation, name })]
            }
            ProfileCommand::Subscription(id) => self.use_subscription(id),
            ProfileCommand::ClosePicker => vec![],
        }
    }

    /// Points the deployments browser at another subscription and reloads it there.
    fn use_subscription(&mut self, id: String) -> Vec<Effect> {
        let Some((_, name)) = self
            .azure
            .subscriptions
            .iter()
            .find(|(s, _)| *s == id)
            .cloned()
        else {
            return vec![];
        };
        self.azure.subscription = Some(id.clone());
        if let Some(who) = &mut self.azure.who {
            who.subscription_id = id.clone();
            who.subscription_name = name.clone();
            self.azure.signed_in = Some(who.label());
        }
        self.screens.deployments = Deployments::default();
        self.say(format!("Subscription {name} ({id})"));
        let mut effects = vec![Effect::Arm(ArmEffect::UseSubscription(id))];
        effects.extend(self.go(Screen::Deployments));
        effects
    }

    pub(super) fn on_profile(&mut self, msg: ProfileMsg) -> Vec<Effect> {
        let ProfileMsg::Ready {
            generation,
            result,
            slot,
        } = msg;
        // A later pick supersedes this one; its connection is dropped here.
        if generation != self.azure.profile_generation {
            return vec![];
        }
        let info = match result {
            Ok(info) => info,
            Err(e) => return self.say(format!("Profile not switched: {e}")),
        };
        self.endpoint = info.endpoint_label;
        self.sim = info.sim;
        match info.deployment {
            Some(d) => self.deployment = d,
            None if info.sim => {
                self.deployment = crate::engine::connect::SIM_DEFAULT_DEPLOYMENT.into()
            }
            None => {}
        }
        self.azure.models.clear();
        self.azure.profile = Some(info.name.clone());
        self.screens.deployments = Deployments::default();
        let mut m = format!(
            "Profile {}: {} @ {}",
            info.name, self.deployment, self.endpoint
        );
        if let Some(w) = &info.warning {
            m.push_str(&format!(" — warning: {w}; calls fail until it is up"));
        }
        self.say(m);
        let mut effects = vec![Effect::Profile(ProfileEffect::Install(slot))];
        if self.screen == Screen::Deployments {
            self.screens.deployments.loading();
            effects.push(Effect::Arm(ArmEffect::LoadAccounts));
        }
        effects
    }
}
