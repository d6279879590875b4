//! The console's recording state (what the status bar shows) and the glue that plays a
//! replay and runs the recording thread through the console's event channel.

use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;

use tokio_util::sync::CancellationToken;

use super::event::{AppEvent, AppEventSender, CallId};
use super::messages::{RecordEffect, ReplaySource};
use crate::domain::call::{CallError, CallRecord, ErrorKind, Outcome};
use crate::domain::scenario::ScenarioCall;
use crate::engine::record::RecordError;
use crate::engine::record::index;
use crate::engine::record::writer::{self, RecordMsg};
use crate::engine::replay::{self, Schedule, Speed};

/// Whether the console records, where, and how many calls it wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recording {
    /// `--record FILE`; toggling on without it records to a new time-stamped file.
    pub default_path: Option<PathBuf>,
    /// The file being written while on.
    pub active: Option<PathBuf>,
    pub written: usize,
    pub generation: u64,
}

impl Recording {
    /// The status-bar label while on: `● REC file.jsonl (3)`.
    pub fn label(&self) -> Option<String> {
        let path = self.active.as_ref()?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Some(format!("● REC {name} ({})", self.written))
    }

    /// Recording on (to `--record FILE`, else a new file named for `now`) or off: what to
    /// say and what the executor must do.
    pub fn toggle(&mut self, now: std::time::SystemTime) -> (String, RecordEffect) {
        if let Some(path) = self.active.take() {
            let m = format!(
                "Recording stopped: {} in {}",
                super::components::count(self.written, "call"),
                path.display()
            );
            return (m, RecordEffect::Stop);
        }
        let path = self
            .default_path
            .clone()
            .unwrap_or_else(|| writer::default_record_path(now));
        self.generation += 1;
        self.written = 0;
        self.active = Some(path.clone());
        let m = format!("Recording calls to {}", path.display());
        let generation = self.generation;
        (m, RecordEffect::Start { generation, path })
    }

    /// News from the recording thread; news of an earlier recording is stale.
    pub fn update(&mut self, msg: RecordMsg) -> RecordNews {
        let current = self.generation;
        match msg {
            RecordMsg::Opened { .. } => RecordNews::Stale,
            RecordMsg::Written { generation, count } if generation == current => {
                self.written = count;
                RecordNews::Written
            }
            RecordMsg::Failed { generation, error }
                if generation == current && self.active.is_some() =>
            {
                self.active = None;
                RecordNews::Stopped(format!("Recording stopped: {error}"))
            }
            RecordMsg::Written { .. } | RecordMsg::Failed { .. } => RecordNews::Stale,
        }
    }

    /// `● REC 3`: the badge for narrow terminals.
    pub fn short_label(&self) -> Option<String> {
        self.active
            .as_ref()
            .map(|_| format!("● REC {}", self.written))
    }
}

/// What a message from the recording thread changed.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordNews {
    Stale,
    /// The count of calls written moved.
    Written,
    /// Writing failed: recording is off; the text says why.
    Stopped(String),
}

/// Plays a schedule as call `id` through the events a live call sends.
/// A call read from its scenario file first: a file that changed or went away since it was
/// opened ends the call with the reason.
pub fn spawn_replay(
    id: CallId,
    source: ReplaySource,
    speed: Speed,
    tx: AppEventSender,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        let call = match source {
            ReplaySource::Call(call) => Ok(*call),
            ReplaySource::Line { path, at } => {
                tokio::task::spawn_blocking(move || index::read_call(&path, at))
                    .await
                    .unwrap_or_else(|e| {
                        Err(RecordError::Io {
                            path: Default::default(),
                            source: std::io::Error::other(e.to_string()),
                        })
                    })
            }
        };
        match call {
            Ok(call) => play_schedule(id, replay::schedule(&call, speed), tx, cancel).await,
            Err(e) => {
                let mut record = CallRecord {
                    id,
                    outcome: Outcome::Failed,
                    ..CallRecord::default()
                };
                // The recorded body is what could not be read back.
                let message = format!("the recorded call could not be read: {e}");
                record.error = Some(CallError::new(ErrorKind::BadBody, message));
                tx.call_finished(id, record);
            }
        }
    });
}

async fn play_schedule(id: CallId, s: Schedule, tx: AppEventSender, cancel: CancellationToken) {
    let events = tx.clone();
    let record = replay::play(id, s, &cancel, |ev| events.call_event(id, ev)).await;
    tx.call_finished(id, record);
}

/// Starts the recording thread; it reports as [`AppEvent::Record`].
pub fn spawn_writer(
    generation: u64,
    path: PathBuf,
    profile: Option<String>,
    tx: AppEventSender,
) -> std_mpsc::Sender<ScenarioCall> {
    writer::spawn_writer(generation, path, profile, move |m| {
        tx.send(AppEvent::Record(m))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn recording_label() {
        let mut r = Recording::default();
        assert_eq!(r.label(), None);
        r.active = Some(PathBuf::from("/tmp/x/session.jsonl"));
        r.written = 3;
        assert_eq!(r.label().as_deref(), Some("● REC session.jsonl (3)"));
        assert_eq!(r.short_label().as_deref(), Some("● REC 3"));
    }

    #[tokio::test]
    async fn a_replay_arrives_as_call_events_then_the_record() {
        use crate::domain::call::{CallEvent, CallRecord, Outcome};
        use crate::tui::event::CallMsg;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let s = Schedule {
            steps: vec![(Duration::ZERO, CallEvent::Delta("hi".into()))],
            finish_at: Duration::ZERO,
            record: CallRecord {
                text: "hi".into(),
                ..Default::default()
            },
        };
        tokio::spawn(play_schedule(
            9,
            s,
            AppEventSender::new(tx),
            CancellationToken::new(),
        ));
        let mut got = Vec::new();
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("an event in time")
                .expect("open");
            match ev {
                AppEvent::Call(9, CallMsg::Event(e)) => got.push(e),
                AppEvent::Call(9, CallMsg::Finished(rec)) => {
                    assert_eq!(
                        (rec.id, rec.outcome, rec.text.as_str()),
                        (9, Outcome::Done, "hi")
                    );
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, [CallEvent::Delta("hi".into())]);
    }

    #[tokio::test]
    async fn a_call_whose_line_cannot_be_read_back_fails_with_the_reason() {
        use crate::tui::event::CallMsg;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let source = ReplaySource::Line {
            path: PathBuf::from("/nonexistent/aoai/gone.jsonl"),
            at: index::LineRange { offset: 0, len: 10 },
        };
        spawn_replay(
            4,
            source,
            Speed::Instant,
            AppEventSender::new(tx),
            CancellationToken::new(),
        );
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an answer in time")
            .expect("open");
        let AppEvent::Call(4, CallMsg::Finished(rec)) = ev else {
            panic!("{ev:?}");
        };
        assert_eq!(rec.outcome, Outcome::Failed);
        let msg = rec.error.expect("an error").message;
        assert!(
            msg.contains("could not be read") && msg.contains("gone.jsonl"),
            "{msg}"
        );
    }
}
