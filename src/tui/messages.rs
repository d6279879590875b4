//! What flows down: a component's answer to a key ([`Handled`]), the [`Command`] it asks the
//! app for, one enum per feature, and the [`Effect`]s the app hands the executor, again one
//! enum per feature, with terminal work (editor, clipboard, quit) as its own type. Results
//! come back up as [`AppEvent`](super::event::AppEvent)s.

use std::path::PathBuf;
use std::time::Duration;

use crate::azure::CallSpec;
use crate::azure::arm::ModelRef;
use crate::domain::call::{ApiPath, WireApi};
use crate::domain::retry::RetryPolicy;
use crate::domain::scenario::ScenarioCall;
use crate::engine::bench::Pacing;
use crate::engine::replay::Speed;

use super::event::{CallId, ConnSlot, EditTarget};

/// How a component took a key or a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// Not for this component (the app may try a global binding); nothing changed.
    Ignored,
    /// Taken; what is shown may have changed.
    Consumed,
    /// Taken, and the app must do this.
    Command(Command),
}

/// A component's request; the app decides what it means.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit,
    CloseHelp,
    Chat(ChatCommand),
    Arm(ArmCommand),
    Bench(BenchCommand),
    Compare(CompareCommand),
    Replay(ReplayCommand),
    Profile(ProfileCommand),
    Terminal(TerminalCommand),
}

/// Chat parameters shown (and edited) on the chat screen.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatParams {
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub api: ApiPath,
    /// Chat Completions or the Responses API, next to the path.
    pub wire_api: WireApi,
    /// Reasoning effort for reasoning models (`None`: not sent). On the Responses API a
    /// reasoning summary (`auto`) is asked for with it, shown apart from the answer.
    pub reasoning_effort: Option<&'static str>,
    pub retry: RetryPolicy,
}

impl Default for ChatParams {
    fn default() -> Self {
        ChatParams {
            max_tokens: Some(1024),
            // The service default: reasoning models reject any other temperature.
            temperature: None,
            api: ApiPath::Classic,
            wire_api: WireApi::Chat,
            reasoning_effort: None,
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

#[derive(Debug, Clone, PartialEq)]
pub enum ChatCommand {
    Submit(Submit),
    /// Cancel the session's call in flight.
    Cancel,
    NewConversation,
    /// The parameters got focus: the failover targets come from the browser, load it once.
    WantDeployments,
}

/// The deployments and quota browser.
#[derive(Debug, Clone, PartialEq)]
pub enum ArmCommand {
    Reload,
    /// The selected account changed.
    SelectAccount {
        account_id: String,
        location: String,
    },
    /// Chat with this deployment, on its account's endpoint, priced on its ARM model.
    Open(Box<OpenTarget>),
    /// One embeddings call to this (embeddings) deployment, on its account's endpoint.
    Embed(Box<OpenTarget>),
    /// Azure Monitor: the last hour of this deployment's metrics.
    LoadMetrics {
        account_id: String,
        deployment: String,
    },
    /// Probe every chat deployment of every account (`P`).
    Probe,
}

/// A deployment opened from the browser: where its account lives and what it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTarget {
    pub name: String,
    pub account_id: String,
    /// The account's `properties.endpoint` (the data plane to call).
    pub endpoint: Option<String>,
    pub model: ModelRef,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BenchCommand {
    Start(BenchSpec),
    Stop,
}

/// What a bench run asks for (from the bench form).
#[derive(Debug, Clone, PartialEq)]
pub struct BenchSpec {
    pub pacing: Pacing,
    pub duration: Duration,
    pub shape: &'static str,
    pub prompt_tokens: u32,
    pub max_tokens: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CompareCommand {
    /// Run every column.
    Run,
    /// Cancel the columns' calls in flight.
    Cancel,
    /// Start the judges' grading calls of the columns that have ended.
    Judge,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplayCommand {
    /// Replay the scenario's call at this index.
    Play(usize),
    /// Stop the call being replayed.
    Stop,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProfileCommand {
    /// Switch to this config profile (or `simulator`).
    Switch(String),
    /// Browse this subscription (its id; signed in with the az CLI).
    Subscription(String),
    ClosePicker,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TerminalCommand {
    /// Open `$EDITOR` on this text.
    Edit(EditTarget, String),
    /// Copy to the clipboard (OSC 52); `what` names it in the status line.
    Copy { what: &'static str, text: String },
}

/// What the loop must do: network work for the [`Executor`](super::executor::Executor),
/// terminal work for the loop itself.
#[derive(Debug, Clone)]
pub enum Effect {
    StartCall {
        id: CallId,
        api: ApiPath,
        spec: Box<CallSpec>,
    },
    CancelCall(CallId),
    /// Play a recorded call as call `id`.
    Replay {
        id: CallId,
        source: ReplaySource,
        speed: Speed,
    },
    Arm(ArmEffect),
    Profile(ProfileEffect),
    Bench(BenchEffect),
    Record(RecordEffect),
    Terminal(TerminalEffect),
}

/// A recorded call to play: held in memory, or a line of the scenario file to read first.
#[derive(Debug, Clone)]
pub enum ReplaySource {
    Call(Box<ScenarioCall>),
    Line {
        path: std::path::PathBuf,
        at: crate::engine::record::index::LineRange,
    },
}

/// ARM reads and the deployment calls go to.
#[derive(Debug, Clone)]
pub enum ArmEffect {
    LoadAccounts,
    LoadDeployments {
        account_id: String,
    },
    LoadQuota {
        location: String,
    },
    LoadMetrics {
        account_id: String,
        deployment: String,
    },
    /// One embeddings call to the target (its account's endpoint, same auth); answered by
    /// [`ArmMsg::Embedded`](super::event::ArmMsg::Embedded).
    Embed(Box<OpenTarget>),
    /// One probe round over every chat deployment ARM lists, each on its account's endpoint.
    Probe,
    /// ARM reads go to this subscription from now on (same credential).
    UseSubscription(String),
    /// Later calls go to `endpoint` (same auth) and calls to `name` are priced on `model`.
    UseDeployment {
        name: String,
        endpoint: Option<String>,
        model: ModelRef,
    },
}

#[derive(Debug, Clone)]
pub enum ProfileEffect {
    /// Connect with this profile in the background; answered by
    /// [`ProfileMsg::Ready`](super::event::ProfileMsg::Ready).
    Connect { generation: u64, name: String },
    /// Install the connection the app accepted.
    Install(ConnSlot),
}

#[derive(Debug, Clone)]
pub enum BenchEffect {
    Start {
        generation: u64,
        spec: BenchSpec,
        deployment: String,
        api: ApiPath,
        wire_api: WireApi,
        model: Option<ModelRef>,
    },
    Stop,
}

#[derive(Debug, Clone)]
pub enum RecordEffect {
    /// Record every call started from now on to `path` (appending).
    Start {
        generation: u64,
        path: PathBuf,
    },
    Stop,
}

/// Work on the terminal itself, done by the loop that owns it.
#[derive(Debug, Clone, PartialEq)]
pub enum TerminalEffect {
    Edit(EditTarget, String),
    Copy(String),
    Quit,
}
