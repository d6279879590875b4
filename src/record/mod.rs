//! Scenario files on disk: the recorder (append one JSON line per call, flushed per call, so
//! a crash loses at most the call in flight) and the loaders (streaming, line by line, so a
//! large file never sits in memory twice). The format itself is `crate::domain::scenario`.

pub mod report;
pub mod resend;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::azure::{CallSpec, ClientConfig};
use crate::domain::call::{ApiPath, CallRecord};
use crate::domain::scenario::{
    self, Header, LineWarning, PromptShape, REQUEST_HEADER_ALLOWLIST, RecordedRequest, ScenarioCall, ScenarioError,
};
use crate::wire::ChatMessage;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {source}")]
    Format {
        path: PathBuf,
        #[source]
        source: ScenarioError,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |source| RecordError::Io { path: path.to_path_buf(), source }
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Appends calls to a scenario file.
pub struct Recorder {
    path: PathBuf,
    file: File,
    written: usize,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("path", &self.path).field("written", &self.written).finish()
    }
}

impl Recorder {
    /// Opens `path` for appending. A new or empty file gets a header; an existing one must be
    /// a scenario this build can read (its header is checked), and a last line cut short by a
    /// crash is closed off so the next call starts on a line of its own.
    pub fn open(path: &Path, profile: Option<&str>) -> Result<Recorder, RecordError> {
        let mut file = OpenOptions::new().read(true).create(true).append(true).open(path).map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        if len == 0 {
            let header = Header::new(rfc3339(SystemTime::now()), profile.map(str::to_string));
            let line = serde_json::to_string(&header).expect("header serializes");
            file.write_all(format!("{line}\n").as_bytes()).map_err(io_err(path))?;
            file.flush().map_err(io_err(path))?;
        } else {
            let mut first = String::new();
            BufReader::new(File::open(path).map_err(io_err(path))?).read_line(&mut first).map_err(io_err(path))?;
            scenario::parse_header(first.trim_end()).map_err(|source| RecordError::Format { path: path.to_path_buf(), source })?;
            file.seek(SeekFrom::End(-1)).map_err(io_err(path))?;
            let mut last = [0u8; 1];
            file.read_exact(&mut last).map_err(io_err(path))?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io_err(path))?;
            }
        }
        Ok(Recorder { path: path.to_path_buf(), file, written: 0 })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls written by this recorder.
    pub fn written(&self) -> usize {
        self.written
    }

    /// Writes one call as one line and flushes it.
    pub fn append(&mut self, call: ScenarioCall) -> Result<(), RecordError> {
        let call = call.sanitize();
        let mut line = serde_json::to_string(&call).expect("scenario call serializes");
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(io_err(&self.path))?;
        self.file.flush().map_err(io_err(&self.path))?;
        self.written += 1;
        Ok(())
    }
}

/// Prompt tokens per role for a request's messages (sums to `tokens::count_messages`).
pub fn prompt_shape(messages: &[ChatMessage]) -> PromptShape {
    let mut s = PromptShape { framing: crate::tokens::REPLY_PRIMING as u64, ..Default::default() };
    for m in messages {
        let content = crate::tokens::count(&m.text()) as u64
            + m.tool_calls.as_ref().map_or(0, |tc| crate::tokens::count(&tc.to_string()) as u64);
        match m.role.as_str() {
            "system" | "developer" => s.system += content,
            "user" => s.user += content,
            "assistant" => s.assistant += content,
            _ => s.tool += content,
        }
        s.framing += (crate::tokens::TOKENS_PER_MESSAGE + crate::tokens::count(&m.role)) as u64;
        if let Some(name) = &m.name {
            s.framing += (crate::tokens::TOKENS_PER_NAME + crate::tokens::count(name)) as u64;
        }
    }
    s
}

/// The endpoint as a scenario may show it: scheme, host, port and path only.
fn endpoint_for_record(cfg: &ClientConfig) -> String {
    match url::Url::parse(cfg.endpoint.as_str()) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => cfg.endpoint.host(),
    }
}

/// Builds the scenario line for a finished call.
pub fn scenario_call(cfg: &ClientConfig, spec: &CallSpec, record: CallRecord, started: SystemTime) -> ScenarioCall {
    let request = RecordedRequest {
        deployment: spec.deployment.clone(),
        api: cfg.api,
        api_version: (cfg.api == ApiPath::Classic).then(|| cfg.api_version.clone()),
        endpoint: Some(endpoint_for_record(cfg)),
        stream: spec.stream,
        retry: spec.retry.to_string(),
        headers: spec
            .extra_headers
            .iter()
            .filter(|(k, _)| REQUEST_HEADER_ALLOWLIST.contains(&k.to_ascii_lowercase().as_str()))
            .cloned()
            .collect(),
        body: spec.request.clone(),
    };
    ScenarioCall { started: rfc3339(started), prompt_shape: prompt_shape(&spec.request.messages), request, record }.sanitize()
}

/// A whole scenario in memory.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub header: Header,
    pub calls: Vec<ScenarioCall>,
    pub warnings: Vec<LineWarning>,
}

/// Reads a scenario line by line, handing each parsed line to `each`; bad lines become
/// warnings (`line N: …`), a bad header refuses the file.
fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path, mut each: impl FnMut(T)) -> Result<(Header, Vec<LineWarning>), RecordError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = String::new();
    let mut n = 0usize;
    let mut header = None;
    let mut warnings = Vec::new();
    loop {
        buf.clear();
        let read = match reader.read_line(&mut buf) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                n += 1;
                warnings.push(LineWarning { line: n, message: "not valid UTF-8".into() });
                // Skip the rest of the bad line.
                let mut junk = Vec::new();
                reader.read_until(b'\n', &mut junk).map_err(io_err(path))?;
                continue;
            }
            Err(e) => return Err(io_err(path)(e)),
        };
        if read == 0 {
            break;
        }
        n += 1;
        let line = buf.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        if header.is_none() {
            header = Some(scenario::parse_header(line).map_err(|source| RecordError::Format { path: path.to_path_buf(), source })?);
            continue;
        }
        match serde_json::from_str::<T>(line) {
            Ok(v) => each(v),
            Err(e) => {
                let message = if !buf.ends_with('\n') && e.is_eof() {
                    format!("truncated (the file ends mid-line, as after a crash while writing): {e}")
                } else {
                    e.to_string()
                };
                warnings.push(LineWarning { line: n, message });
            }
        }
    }
    let header = header.ok_or_else(|| RecordError::Format { path: path.to_path_buf(), source: ScenarioError::Empty })?;
    Ok((header, warnings))
}

/// Loads a whole scenario.
pub fn load(path: &Path) -> Result<Loaded, RecordError> {
    let mut calls = Vec::new();
    let (header, warnings) = read_lines::<ScenarioCall>(path, |c| calls.push(c))?;
    Ok(Loaded { header, calls, warnings })
}

/// Streams a scenario's lines as report rows (events are skipped, not kept).
pub fn for_each_summary(path: &Path, each: impl FnMut(report::CallSummary)) -> Result<(Header, Vec<LineWarning>), RecordError> {
    read_lines::<report::CallSummary>(path, each)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_shape_sums_to_the_billed_prompt() {
        let msgs = vec![
            ChatMessage::new("system", "You are terse and precise."),
            ChatMessage::new("user", "What is a PTU?"),
            ChatMessage::new("assistant", "A provisioned throughput unit."),
            ChatMessage::new("tool", "{\"ok\":true}"),
            ChatMessage::new("user", "And its price?"),
        ];
        let s = prompt_shape(&msgs);
        assert_eq!(s.total() as usize, crate::tokens::count_messages(&msgs));
        assert_eq!(s.user as usize, crate::tokens::count("What is a PTU?") + crate::tokens::count("And its price?"));
        assert_eq!(s.system as usize, crate::tokens::count("You are terse and precise."));
        assert!(s.tool > 0 && s.assistant > 0);
    }
}
