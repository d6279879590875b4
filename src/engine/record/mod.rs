//! Scenario files on disk: the recorder (append one JSON line per call, flushed per call, so
//! a crash loses at most the call in flight) and the loaders (streaming, line by line, so a
//! large file never sits in memory twice). The format itself is `crate::domain::scenario`.

pub mod incident;
pub mod index;
pub mod report;
pub mod resend;
pub mod writer;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use crate::azure::{CallSpec, ClientConfig};
use crate::domain::call::{ApiPath, CallRecord, WireApi};
use crate::domain::scenario::{
    self, Header, LineWarning, PromptShape, REQUEST_HEADER_ALLOWLIST, RecordedRequest,
    ScenarioCall, ScenarioError,
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
    /// A HAR that could not be read as calls.
    #[error("{path}: {message}")]
    Har { path: PathBuf, message: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    }
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
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .field("written", &self.written)
            .finish()
    }
}

impl Recorder {
    /// Opens `path` for appending. A new or empty file gets a header; an existing one must be
    /// a scenario this build can read (its header is checked), and a last line cut short by a
    /// crash is closed off so the next call starts on a line of its own.
    pub fn open(path: &Path, profile: Option<&str>) -> Result<Recorder, RecordError> {
        let mut opts = OpenOptions::new();
        opts.read(true).create(true).append(true);
        // A recording holds prompts and answers (with the proxy, the application's users'):
        // readable by its owner only, on jump boxes several operators share.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(path).map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        if len == 0 {
            let header = Header::new(rfc3339(SystemTime::now()), profile.map(str::to_string));
            let line = serde_json::to_string(&header).expect("header serializes");
            file.write_all(format!("{line}\n").as_bytes())
                .map_err(io_err(path))?;
            file.flush().map_err(io_err(path))?;
        } else {
            let mut first = String::new();
            BufReader::new(File::open(path).map_err(io_err(path))?)
                .read_line(&mut first)
                .map_err(io_err(path))?;
            scenario::parse_header(first.trim_end()).map_err(|source| RecordError::Format {
                path: path.to_path_buf(),
                source,
            })?;
            file.seek(SeekFrom::End(-1)).map_err(io_err(path))?;
            let mut last = [0u8; 1];
            file.read_exact(&mut last).map_err(io_err(path))?;
            if last[0] != b'\n' {
                file.write_all(b"\n").map_err(io_err(path))?;
            }
        }
        Ok(Recorder {
            path: path.to_path_buf(),
            file,
            written: 0,
        })
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
        self.file
            .write_all(line.as_bytes())
            .map_err(io_err(&self.path))?;
        self.file.flush().map_err(io_err(&self.path))?;
        self.written += 1;
        Ok(())
    }
}

/// Prompt tokens per role for a request's messages (sums to `tokens::count_messages`).
pub fn prompt_shape(messages: &[ChatMessage]) -> PromptShape {
    let mut s = PromptShape {
        framing: crate::tokens::REPLY_PRIMING as u64,
        ..Default::default()
    };
    for m in messages {
        let content = crate::tokens::count(&m.text()) as u64
            + m.tool_calls
                .as_ref()
                .map_or(0, |tc| crate::tokens::count(&tc.to_string()) as u64);
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
pub fn scenario_call(
    cfg: &ClientConfig,
    spec: &CallSpec,
    record: CallRecord,
    started: SystemTime,
) -> ScenarioCall {
    ScenarioCall {
        proxied: None,
        started: rfc3339(started),
        prompt_shape: prompt_shape(&spec.request.messages),
        request: recorded_request(cfg, spec),
        record,
    }
    .sanitize()
}

/// The request as a scenario records it: endpoint without credentials, allowlisted
/// headers, the body (and the Responses body as sent).
pub fn recorded_request(cfg: &ClientConfig, spec: &CallSpec) -> RecordedRequest {
    let wire_api = spec.wire_api.unwrap_or(cfg.wire_api);
    RecordedRequest {
        deployment: spec.deployment.clone(),
        api: cfg.api,
        api_version: matches!(cfg.api, ApiPath::Classic | ApiPath::Foundry)
            .then(|| cfg.api_version.clone()),
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
        wire_api,
        // The Responses body is derived from the chat form; kept as sent so the file shows
        // what went on the wire (instructions, input, max_output_tokens, store).
        wire_body: (wire_api == WireApi::Responses)
            .then(|| {
                serde_json::to_value(crate::azure::responses::body(spec, &spec.deployment)).ok()
            })
            .flatten(),
    }
}

/// A whole scenario in memory.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub header: Header,
    pub calls: Vec<ScenarioCall>,
    pub warnings: Vec<LineWarning>,
}

/// Below this size a file is read by one thread.
const PARALLEL_MIN_BYTES: u64 = 8 << 20;

/// What one reader thread produced: parsed lines, warnings with thread-local line numbers,
/// and how many lines it read.
struct Part<T> {
    items: Vec<T>,
    warnings: Vec<LineWarning>,
    lines: usize,
}

/// What a call line is read as: the whole call, or a report's summary of it.
trait CallLine: for<'de> Deserialize<'de> + Send {
    /// A cheaper parse of a well-formed line, when the type allows one.
    fn fast(_line: &str) -> Option<Self> {
        None
    }
}

impl CallLine for ScenarioCall {}

impl CallLine for report::CallSummary {
    /// A summary needs nothing from the events, which are most of a line. The writer puts
    /// `record` last in a call line and `events` last in `record`, and JSON strings escape
    /// their quotes, so the last `,"events":[` starts the events array: the line up to it,
    /// closed by `}}`, is the same call without events. Anything unexpected falls back to the
    /// full parse (which skips events too, only slower).
    fn fast(line: &str) -> Option<Self> {
        serde_json::from_str(&without_events(line)?).ok()
    }
}

/// The call line without its events (see [`CallLine::fast`] for the summary), or `None`
/// when the line does not end as the writer ends one.
fn without_events(line: &str) -> Option<String> {
    // A line cut short by a crash never takes this path (it must end as a call ends).
    if !line.ends_with("]}}") {
        return None;
    }
    let cut = line.rfind(",\"events\":[")?;
    let mut head = String::with_capacity(cut + 2);
    head.push_str(&line[..cut]);
    head.push_str("}}");
    Some(head)
}

fn parse_line<T: CallLine>(raw: &[u8], n: usize, part: &mut Part<T>) {
    let ends_nl = raw.ends_with(b"\n");
    let Ok(text) = std::str::from_utf8(raw) else {
        part.warnings.push(LineWarning {
            line: n,
            message: "not valid UTF-8".into(),
        });
        return;
    };
    let line = text.trim_end_matches(['\n', '\r']);
    if line.trim().is_empty() {
        return;
    }
    if let Some(v) = T::fast(line) {
        part.items.push(v);
        return;
    }
    match serde_json::from_str::<T>(line) {
        Ok(v) => part.items.push(v),
        Err(e) => {
            // Only the file's last line can lack its newline: a crash while writing it.
            let message = if !ends_nl {
                format!("truncated (the file ends mid-line, as after a crash while writing): {e}")
            } else {
                e.to_string()
            };
            part.warnings.push(LineWarning { line: n, message });
        }
    }
}

/// Reads the lines in `[start, end)` (both on line starts).
fn read_range<T: CallLine>(path: &Path, start: u64, end: u64) -> io::Result<Part<T>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut reader = BufReader::with_capacity(1 << 20, file.take(end - start));
    let mut part = Part {
        items: Vec::new(),
        warnings: Vec::new(),
        lines: 0,
    };
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(part);
        }
        part.lines += 1;
        parse_line(&buf, part.lines, &mut part);
    }
}

/// The header (the first non-blank line; a bad one refuses the file), the bytes and the lines
/// it took.
fn read_header(
    path: &Path,
    reader: &mut impl BufRead,
) -> Result<(Header, u64, usize), RecordError> {
    let format_err = |source| RecordError::Format {
        path: path.to_path_buf(),
        source,
    };
    let mut offset = 0u64;
    let mut lines = 0usize;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(io_err(path))?;
        if read == 0 {
            return Err(format_err(ScenarioError::Empty));
        }
        offset += read as u64;
        lines += 1;
        let text = String::from_utf8_lossy(&buf);
        if !text.trim().is_empty() {
            let header = scenario::parse_header(text.trim_end()).map_err(format_err)?;
            return Ok((header, offset, lines));
        }
    }
}

/// Reads a scenario: the header (a bad one refuses the file), then every call line. Large
/// files are split into byte ranges at line starts and parsed on all cores; results keep file
/// order and bad lines become warnings with their real line numbers (`line N: …`).
fn read_all<T: CallLine>(path: &Path) -> Result<(Header, Vec<T>, Vec<LineWarning>), RecordError> {
    let len = std::fs::metadata(path).map_err(io_err(path))?.len();
    let mut reader = BufReader::new(File::open(path).map_err(io_err(path))?);
    let (header, offset, header_lines) = read_header(path, &mut reader)?;
    let mut buf = Vec::new();
    // Split the rest into ranges that start on line starts.
    let threads = if len - offset < PARALLEL_MIN_BYTES {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8) as u64
    };
    let mut bounds = vec![offset];
    for k in 1..threads {
        let guess = offset + (len - offset) * k / threads;
        let prev = *bounds.last().expect("non-empty");
        if guess <= prev {
            continue;
        }
        let mut f = BufReader::new(File::open(path).map_err(io_err(path))?);
        f.seek(SeekFrom::Start(guess)).map_err(io_err(path))?;
        buf.clear();
        let skipped = f.read_until(b'\n', &mut buf).map_err(io_err(path))? as u64;
        let at = guess + skipped;
        if at < len {
            bounds.push(at);
        }
    }
    bounds.push(len);
    let parts: Vec<io::Result<Part<T>>> = std::thread::scope(|s| {
        let handles: Vec<_> = bounds
            .windows(2)
            .map(|w| s.spawn(move || read_range::<T>(path, w[0], w[1])))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("reader thread panicked")))
            })
            .collect()
    });
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    let mut lines_before = header_lines;
    for part in parts {
        let part = part.map_err(io_err(path))?;
        items.extend(part.items);
        warnings.extend(part.warnings.into_iter().map(|w| LineWarning {
            line: w.line + lines_before,
            ..w
        }));
        lines_before += part.lines;
    }
    Ok((header, items, warnings))
}

/// Loads a whole scenario.
pub fn load(path: &Path) -> Result<Loaded, RecordError> {
    let (header, calls, warnings) = read_all::<ScenarioCall>(path)?;
    Ok(Loaded {
        header,
        calls,
        warnings,
    })
}

/// A scenario's lines as report rows, in file order (events are skipped while parsing, never
/// kept).
pub fn for_each_summary(
    path: &Path,
    mut each: impl FnMut(report::CallSummary),
) -> Result<(Header, Vec<LineWarning>), RecordError> {
    let (header, rows, warnings) = read_all::<report::CallSummary>(path)?;
    rows.into_iter().for_each(&mut each);
    Ok((header, warnings))
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
        assert_eq!(
            s.user as usize,
            crate::tokens::count("What is a PTU?") + crate::tokens::count("And its price?")
        );
        assert_eq!(
            s.system as usize,
            crate::tokens::count("You are terse and precise.")
        );
        assert!(s.tool > 0 && s.assistant > 0);
    }
}
