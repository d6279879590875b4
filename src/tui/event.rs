//! The one typed event enum that feeds the loop, a typed sender, and the injected clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crossterm::event::Event;
use tokio::sync::mpsc;

use crate::azure::arm::{Account, ArmError, Deployment, QuotaUsage};
use crate::domain::call::{CallEvent, CallRecord};

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
    /// The `$EDITOR` round trip ended.
    Edited(EditTarget, Result<String, String>),
    /// Animation timer; only runs while something animates.
    Tick,
    /// News from the recording thread.
    Record(crate::engine::record::writer::RecordMsg),
    /// Metrics, profile connections and bench reports (`super::ops`).
    Console(super::ops::ConsoleMsg),
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
