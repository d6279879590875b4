//! The recording thread: it owns the [`Recorder`] and is fed calls through a channel, so a
//! front end never waits on file I/O; it reports back with [`RecordMsg`]s.

use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::SystemTime;

use crate::domain::scenario::ScenarioCall;
use crate::engine::record::Recorder;

/// What the recording thread reports. `generation` tells a stopped recording's late news
/// from the current one's.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordMsg {
    /// The file is open (header written if new).
    Opened { generation: u64, path: PathBuf },
    /// A call was written; `count` calls so far in this recording.
    Written { generation: u64, count: usize },
    /// Opening or writing failed; recording stopped.
    Failed { generation: u64, error: String },
}

/// `./aoai-YYYYMMDD-HHMMSS.jsonl` (UTC) for a recording toggled on without `--record`.
pub fn default_record_path(now: SystemTime) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    // 2026-11-23T05:00:00Z → 20261123-050000
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    PathBuf::from(format!("aoai-{date}-{time}.jsonl"))
}

/// Starts the recording thread: it opens `path` (appending; a header if new), then writes
/// each call it receives and flushes it. It ends when every sender is dropped or a write
/// fails (after reporting [`RecordMsg::Failed`]).
pub fn spawn_writer(
    generation: u64,
    path: PathBuf,
    profile: Option<String>,
    report: impl Fn(RecordMsg) + Send + Clone + 'static,
) -> std_mpsc::Sender<ScenarioCall> {
    let (calls_tx, calls_rx) = std_mpsc::channel::<ScenarioCall>();
    let thread_report = report.clone();
    let spawned = std::thread::Builder::new()
        .name("aoai-recorder".into())
        .spawn(move || {
            writer(
                generation,
                &path,
                profile.as_deref(),
                calls_rx,
                &thread_report,
            )
        });
    if let Err(e) = spawned {
        let error = format!("could not start the recording thread: {e}");
        report(RecordMsg::Failed { generation, error });
    }
    calls_tx
}

fn writer(
    generation: u64,
    path: &Path,
    profile: Option<&str>,
    calls: std_mpsc::Receiver<ScenarioCall>,
    report: &impl Fn(RecordMsg),
) {
    let mut rec = match Recorder::open(path, profile) {
        Ok(r) => r,
        Err(e) => {
            let error = e.to_string();
            return report(RecordMsg::Failed { generation, error });
        }
    };
    report(RecordMsg::Opened {
        generation,
        path: path.to_path_buf(),
    });
    while let Ok(call) = calls.recv() {
        let msg = match rec.append(call) {
            Ok(()) => RecordMsg::Written {
                generation,
                count: rec.written(),
            },
            Err(e) => RecordMsg::Failed {
                generation,
                error: e.to_string(),
            },
        };
        let failed = matches!(msg, RecordMsg::Failed { .. });
        report(msg);
        if failed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn default_file_name_is_utc_stamped() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(
            default_record_path(t),
            PathBuf::from("aoai-20261118-110640.jsonl")
        );
    }
}
