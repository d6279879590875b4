//! The one typed event enum that feeds the loop, a typed sender, and the injected clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossterm::event::Event;
use tokio::sync::mpsc;

use std::sync::Mutex;

use crate::azure::arm::{Account, ArmError, Deployment, QuotaUsage};
use crate::domain::call::{CallEvent, CallRecord};
use crate::domain::monitor::DeploymentMetrics;
use crate::domain::stats::BenchReport;
use crate::engine::bench::LoadError;
use crate::engine::connect::Connection;
use crate::engine::record::writer::RecordMsg;

use super::terminal::EditorError;

/// Session-local call number (1, 2, …); also the id the client puts on the record.
pub type CallId = u64;

/// Everything that can change what the console shows.
#[derive(Debug)]
pub enum AppEvent {
    /// A key or paste from the terminal.
    Input(Event),
    Resize(u16, u16),
    /// Progress of a call, tagged with its id so results of cancelled calls can be dropped.
    Call(CallId, CallMsg),
    Arm(ArmMsg),
    Profile(ProfileMsg),
    Bench(BenchMsg),
    /// News from the recording thread.
    Record(RecordMsg),
    /// The recording proxy's calls (`aoai --proxy PORT`).
    Proxy(crate::engine::proxy::ProxyEvent),
    /// The `$EDITOR` round trip ended.
    Edited(EditTarget, Result<String, EditorError>),
    /// Animation timer; only runs while something animates.
    Tick,
    /// Something for the status line from outside the app (a telemetry export failure).
    Notice(String),
    /// A probe round of the Deployments screen ended: each target with its call, or why
    /// nothing was probed.
    Probed(Result<Vec<(crate::domain::probe::Target, CallRecord)>, String>),
    /// More rows of the scenario the Replay screen is reading.
    ReplayRows(Vec<crate::engine::record::index::CallRow>),
    /// The scenario has been read: its damaged lines, or why reading stopped.
    ReplayRead(Result<Vec<crate::domain::scenario::LineWarning>, String>),
}

#[derive(Debug)]
pub enum CallMsg {
    Event(CallEvent),
    Finished(Box<CallRecord>),
}

/// Results of ARM reads, each tagged with what was asked.
#[derive(Debug)]
pub enum ArmMsg {
    Accounts(Result<Vec<Account>, ArmError>),
    Deployments {
        account_id: String,
        result: Result<Vec<Deployment>, ArmError>,
    },
    Quota {
        location: String,
        result: Result<Vec<QuotaUsage>, ArmError>,
    },
    /// Azure Monitor: the last hour of a deployment's metrics.
    Metrics {
        account_id: String,
        deployment: String,
        result: Result<DeploymentMetrics, ArmError>,
    },
    /// An embeddings call from the browser ended (failures are on the record).
    Embedded(Box<crate::domain::embeddings::EmbedRecord>),
}

/// A profile connection, tagged with the pick it answers so a superseded one is dropped.
#[derive(Debug)]
pub enum ProfileMsg {
    Ready {
        generation: u64,
        result: Result<ProfileInfo, ProfileError>,
        slot: ConnSlot,
    },
}

/// What a connected profile looks like, for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileInfo {
    pub name: String,
    pub endpoint_label: String,
    pub sim: bool,
    pub deployment: Option<String>,
    /// The endpoint did not answer a connection attempt: calls will fail until it does.
    pub warning: Option<String>,
}

/// Why a profile switch did not connect.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    #[error("profile switching needs the console's connection flags")]
    NoConnectionFlags,
    /// The connection failed; the causes, outermost first, joined by `: `.
    #[error("{0}")]
    Connect(String),
}

/// A connection handed from the connecting task, through the app (which checks the
/// generation), to the executor.
#[derive(Clone, Default)]
pub struct ConnSlot(pub Arc<Mutex<Option<Connection>>>);

impl ConnSlot {
    pub fn new(c: Connection) -> Self {
        ConnSlot(Arc::new(Mutex::new(Some(c))))
    }
    pub fn take(&self) -> Option<Connection> {
        self.0.lock().ok().and_then(|mut g| g.take())
    }
}

impl std::fmt::Debug for ConnSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnSlot(..)")
    }
}

/// A bench run's progress, tagged with its generation so a superseded run is dropped.
#[derive(Debug)]
pub enum BenchMsg {
    Report {
        generation: u64,
        report: Box<BenchReport>,
    },
    Done {
        generation: u64,
        result: Result<Box<BenchReport>, BenchError>,
    },
}

/// Why a bench run ended without a report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BenchError {
    #[error("could not build the HTTP client")]
    NoClient,
    /// The prompt-building task did not finish.
    #[error("building the prompt: {0}")]
    Prompt(String),
    #[error("{0}")]
    Load(String),
}

impl From<LoadError> for BenchError {
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Fatal(m) => BenchError::Load(m),
        }
    }
}

/// Which text an `$EDITOR` session edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditTarget {
    Prompt,
    System,
}

/// Typed helpers over the channel into the loop. Sends never block; a closed loop drops them.
#[derive(Debug, Clone)]
pub struct AppEventSender {
    tx: mpsc::UnboundedSender<AppEvent>,
}

impl AppEventSender {
    pub fn new(tx: mpsc::UnboundedSender<AppEvent>) -> Self {
        AppEventSender { tx }
    }

    pub fn send(&self, ev: AppEvent) {
        let _ = self.tx.send(ev);
    }

    pub fn call_event(&self, id: CallId, ev: CallEvent) {
        self.send(AppEvent::Call(id, CallMsg::Event(ev)));
    }

    pub fn call_finished(&self, id: CallId, record: CallRecord) {
        self.send(AppEvent::Call(id, CallMsg::Finished(Box::new(record))));
    }

    pub fn arm(&self, msg: ArmMsg) {
        self.send(AppEvent::Arm(msg));
    }

    pub fn probed(&self, result: Result<Vec<(crate::domain::probe::Target, CallRecord)>, String>) {
        self.send(AppEvent::Probed(result));
    }

    pub fn profile(&self, msg: ProfileMsg) {
        self.send(AppEvent::Profile(msg));
    }

    pub fn bench(&self, msg: BenchMsg) {
        self.send(AppEvent::Bench(msg));
    }
}

/// Time since the console started. The UI keeps only these offsets, never wall-clock
/// times, so snapshots are deterministic under a [`ManualClock`].
pub trait Clock: Send + Sync {
    fn now(&self) -> Duration;
}

/// The real clock (tokio's, so paused-time tests advance it too).
pub struct TokioClock {
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn new() -> Self {
        TokioClock {
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }
}

/// A clock tests move by hand.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }
    pub fn set(&self, d: Duration) {
        self.0.store(d.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}
