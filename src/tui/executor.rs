//! The [`Executor`]: owns the clients, carries out the app's [`Effect`]s by spawning network
//! work as tokio tasks, and keeps the cancellation tokens. Results come back as
//! [`AppEvent`](super::event::AppEvent)s; nothing here touches the screen. Terminal effects
//! are handed back to the loop.

use std::collections::HashMap;

use tokio_util::sync::CancellationToken;

use crate::azure::arm::ArmClient;
use crate::azure::{CallSpec, ChatClient, ClientConfig};
use crate::domain::call::ApiPath;

use super::event::{AppEventSender, ArmMsg, CallId};
use super::messages::{ArmEffect, Effect, RecordEffect, TerminalEffect};

mod azure;
mod bench;
pub use azure::SIMULATOR_PROFILE;

/// Why there is no ARM client, and what to do about it.
pub const NO_ARM: &str = "No ARM access with this connection: the deployments and quota browser needs a profile with `subscriptions = [\"<subscription id>\"]` and `auth = { type = \"entra\" }` (docs/azure.md); `aoai config check` validates it, Alt+P switches profile";

/// Owns the clients and the cancellation tokens of calls in flight.
pub struct Executor {
    base: ClientConfig,
    clients: HashMap<&'static str, ChatClient>,
    arm: Option<ArmClient>,
    tx: AppEventSender,
    tokens: HashMap<CallId, CancellationToken>,
    /// The recording thread's inbox while recording.
    recorder: Option<std::sync::mpsc::Sender<crate::domain::scenario::ScenarioCall>>,
    /// Profile name written in a new scenario's header.
    record_profile: Option<String>,
    /// Endpoint switching, ARM pricing and profiles (`executor/azure.rs`).
    azure: azure::AzureExec,
    /// The bench run in flight (`executor/bench.rs`).
    bench: Option<CancellationToken>,
}

impl Executor {
    pub fn new(client: ChatClient, arm: Option<ArmClient>, tx: AppEventSender) -> Self {
        let base = client.config().clone();
        let mut clients = HashMap::new();
        clients.insert(base.api.as_str(), client);
        Executor {
            base,
            clients,
            arm,
            tx,
            tokens: HashMap::new(),
            recorder: None,
            record_profile: None,
            azure: azure::AzureExec::default(),
            bench: None,
        }
    }

    /// The profile name a new scenario file's header carries (never a secret).
    pub fn set_record_profile(&mut self, profile: Option<String>) {
        self.record_profile = profile;
    }

    fn client(&mut self, api: ApiPath) -> Option<ChatClient> {
        if let Some(c) = self.clients.get(api.as_str()) {
            return Some(c.clone());
        }
        let cfg = ClientConfig {
            api,
            ..self.base.clone()
        };
        let c = ChatClient::new(cfg).ok()?;
        self.clients.insert(api.as_str(), c.clone());
        Some(c)
    }

    /// Starts the network part of an effect; hands terminal work back to the loop.
    pub fn run(&mut self, effect: Effect) -> Option<TerminalEffect> {
        match effect {
            Effect::StartCall { id, api, spec } => self.start_call(id, api, *spec),
            Effect::CancelCall(id) => self.cancel(id),
            Effect::Replay { id, source, speed } => {
                let cancel = CancellationToken::new();
                self.tokens.insert(id, cancel.clone());
                super::recording::spawn_replay(id, source, speed, self.tx.clone(), cancel);
            }
            Effect::Arm(e) => self.arm(e),
            Effect::Profile(e) => self.profile(e),
            Effect::Bench(e) => self.bench(e),
            Effect::Record(RecordEffect::Start { generation, path }) => {
                let profile = self.record_profile.clone();
                self.recorder = Some(super::recording::spawn_writer(
                    generation,
                    path,
                    profile,
                    self.tx.clone(),
                ));
            }
            // Dropping the sender ends the thread once calls in flight are written.
            Effect::Record(RecordEffect::Stop) => self.recorder = None,
            Effect::Terminal(t) => return Some(t),
        }
        None
    }

    fn arm(&mut self, effect: ArmEffect) {
        match effect {
            ArmEffect::LoadAccounts => self
                .arm_task(|arm, tx| async move { tx.arm(ArmMsg::Accounts(arm.accounts().await)) }),
            ArmEffect::LoadDeployments { account_id } => self.arm_task(|arm, tx| async move {
                let result = arm.deployments(&account_id).await;
                tx.arm(ArmMsg::Deployments { account_id, result })
            }),
            ArmEffect::LoadQuota { location } => self.arm_task(|arm, tx| async move {
                let result = arm.usages(&location).await;
                tx.arm(ArmMsg::Quota { location, result })
            }),
            ArmEffect::LoadMetrics {
                account_id,
                deployment,
            } => self.load_metrics(account_id, deployment),
            ArmEffect::Embed(target) => self.embed(*target),
            ArmEffect::UseDeployment {
                name,
                endpoint,
                model,
            } => self.use_deployment(name, endpoint, model),
            ArmEffect::Probe => self.probe(),
            ArmEffect::UseSubscription(id) => {
                self.arm = self.arm.take().map(|a| a.for_subscription(&id));
            }
        }
    }

    fn start_call(&mut self, id: CallId, api: ApiPath, mut spec: CallSpec) {
        let tx = self.tx.clone();
        let recorder = self.recorder.clone();
        spec.capture_events |= recorder.is_some();
        let Some(client) = self.client(api) else {
            let rec = crate::domain::call::CallRecord {
                id,
                deployment: spec.deployment.clone(),
                wire_api: spec.wire_api.unwrap_or(self.base.wire_api),
                outcome: crate::domain::call::Outcome::Failed,
                error: Some(crate::domain::call::CallError::new(
                    crate::domain::call::ErrorKind::Connect,
                    "could not build the HTTP client",
                )),
                ..Default::default()
            };
            tx.call_finished(id, rec);
            return;
        };
        let cancel = CancellationToken::new();
        self.tokens.insert(id, cancel.clone());
        let pricing = self.pricing();
        tokio::spawn(async move {
            let events = tx.clone();
            let mut on_event = move |ev| events.call_event(id, ev);
            let started = std::time::SystemTime::now();
            let record = client.run(id, &spec, &cancel, &mut on_event).await;
            let record = azure::priced(&pricing, &client.config().prices, record);
            crate::engine::telemetry::call_finished(client.config(), &spec, &record, started);
            let record = match recorder {
                // Written by the recording thread (cancelled calls too); the UI keeps no events.
                Some(recorder) => {
                    let mut shown = record.clone();
                    shown.events.clear();
                    let line = crate::engine::record::scenario_call(
                        client.config(),
                        &spec,
                        record,
                        started,
                    );
                    let _ = recorder.send(line);
                    shown
                }
                None => record,
            };
            tx.call_finished(id, record);
        });
    }

    fn cancel(&mut self, id: CallId) {
        if let Some(t) = self.tokens.remove(&id) {
            t.cancel();
        }
    }

    /// Forgets the token of a call that ended.
    pub fn call_ended(&mut self, id: CallId) {
        self.tokens.remove(&id);
    }

    fn arm_task<F, Fut>(&self, f: F)
    where
        F: FnOnce(ArmClient, AppEventSender) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let tx = self.tx.clone();
        match &self.arm {
            Some(arm) => {
                tokio::spawn(f(arm.clone(), tx));
            }
            None => tx.arm(ArmMsg::Accounts(Err(crate::azure::arm::ArmError::Auth(
                NO_ARM.into(),
            )))),
        }
    }
}
