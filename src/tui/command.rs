//! What components ask for ([`Command`]), what the app turns that into ([`Effect`]), and the
//! [`Executor`] that owns the clients, spawns network work as tokio tasks and keeps the
//! cancellation tokens. Results come back as [`AppEvent`]s; nothing here touches the screen.

use std::collections::HashMap;

use tokio_util::sync::CancellationToken;

use crate::azure::arm::ArmClient;
use crate::azure::{CallSpec, ChatClient, ClientConfig};
use crate::domain::call::ApiPath;
use crate::domain::retry::RetryPolicy;

use super::event::{AppEventSender, ArmMsg, CallId, EditTarget};

mod ops;
pub use ops::SIMULATOR_PROFILE;

/// Chat parameters shown (and edited) on the chat screen.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatParams {
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub api: ApiPath,
    pub retry: RetryPolicy,
}

impl Default for ChatParams {
    fn default() -> Self {
        ChatParams {
            max_tokens: Some(1024),
            // The service default: reasoning models reject any other temperature.
            temperature: None,
            api: ApiPath::Classic,
            retry: RetryPolicy::None,
        }
    }
}

/// A prompt the user sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Submit {
    pub prompt: String,
    pub system: String,
    pub params: ChatParams,
}

/// A component's request, returned from `handle_key`; the app decides what it means.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit,
    /// Deployments, metrics, profiles and bench (`super::ops`).
    Console(super::ops::ConsoleCommand),
    Submit(Submit),
    CancelCall,
    NewConversation,
    /// Open `$EDITOR` on this text.
    Edit(EditTarget, String),
    /// Copy to the clipboard (OSC 52); `what` names it in the status line.
    Copy {
        what: &'static str,
        text: String,
    },
    /// Chat against this deployment.
    OpenChat(String),
    ReloadArm,
    /// The selected account changed.
    SelectAccount {
        account_id: String,
        location: String,
    },
    CloseHelp,
    /// Replay the scenario's call at this index.
    Replay(usize),
    /// Compare screen: run every column.
    CompareRun,
    /// Compare screen: cancel the columns' calls in flight.
    CompareCancel,
}

/// The outcome of a key given to a component.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ignored,
    Consumed,
    Command(Command),
}

/// What the loop must do. Network effects go to the [`Executor`]; terminal effects (editor,
/// clipboard, quit) are carried out by the loop, which owns the terminal.
#[derive(Debug, Clone)]
pub enum Effect {
    StartCall {
        id: CallId,
        api: ApiPath,
        spec: Box<CallSpec>,
    },
    CancelCall(CallId),
    LoadAccounts,
    LoadDeployments {
        account_id: String,
    },
    LoadQuota {
        location: String,
    },
    Copy(String),
    Edit(EditTarget, String),
    Quit,
    /// Play a recorded call as call `id` ([`super::replay`]).
    Replay {
        id: CallId,
        call: Box<crate::domain::scenario::ScenarioCall>,
        speed: crate::engine::replay::Speed,
    },
    /// Record every call started from now on to `path` (appending).
    StartRecording {
        generation: u64,
        path: std::path::PathBuf,
    },
    StopRecording,
    /// Deployments, metrics, profiles and bench (`ops.rs`).
    Console(super::ops::ConsoleEffect),
}

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
    /// Endpoint switching, ARM pricing, metrics, profiles and bench (`command/ops.rs`).
    ops: ops::ExecOps,
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
            ops: ops::ExecOps::default(),
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

    /// Starts the network part of an effect; returns the effect back when it is a terminal one.
    pub fn run(&mut self, effect: Effect) -> Option<Effect> {
        match effect {
            Effect::StartCall { id, api, spec } => self.start_call(id, api, *spec),
            Effect::CancelCall(id) => self.cancel(id),
            Effect::LoadAccounts => self
                .arm_task(|arm, tx| async move { tx.arm(ArmMsg::Accounts(arm.accounts().await)) }),
            Effect::LoadDeployments { account_id } => self.arm_task(|arm, tx| async move {
                let result = arm.deployments(&account_id).await;
                tx.arm(ArmMsg::Deployments { account_id, result })
            }),
            Effect::LoadQuota { location } => self.arm_task(|arm, tx| async move {
                let result = arm.usages(&location).await;
                tx.arm(ArmMsg::Quota { location, result })
            }),
            Effect::Replay { id, call, speed } => {
                let cancel = CancellationToken::new();
                self.tokens.insert(id, cancel.clone());
                let schedule = crate::engine::replay::schedule(&call, speed);
                super::recording::spawn_replay(id, schedule, self.tx.clone(), cancel);
            }
            Effect::StartRecording { generation, path } => {
                let profile = self.record_profile.clone();
                self.recorder = Some(super::recording::spawn_writer(
                    generation,
                    path,
                    profile,
                    self.tx.clone(),
                ));
            }
            // Dropping the sender ends the thread once calls in flight are written.
            Effect::StopRecording => self.recorder = None,
            Effect::Console(e) => self.console(e),
            e @ (Effect::Copy(_) | Effect::Edit(..) | Effect::Quit) => return Some(e),
        }
        None
    }

    fn start_call(&mut self, id: CallId, api: ApiPath, mut spec: CallSpec) {
        let tx = self.tx.clone();
        let recorder = self.recorder.clone();
        spec.capture_events |= recorder.is_some();
        let Some(client) = self.client(api) else {
            let rec = crate::domain::call::CallRecord {
                id,
                deployment: spec.deployment.clone(),
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
            let record = ops::priced(&pricing, &client.config().prices, record);
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
