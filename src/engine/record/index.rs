//! A scenario as the Replay screen lists it, without holding it: one light row per call line
//! with the line's byte range, read front to back in batches (so the first rows show while a
//! 2 GB file is still being read), and one call read back in full from its range when it is
//! played. The recorded events, most of a line, are never kept for the list.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Deserialize;

use super::{CallLine, Part, RecordError, io_err, parse_line, read_header, without_events};
use crate::domain::call::{ApiPath, Outcome};
use crate::domain::scenario::{Header, LineWarning, ScenarioCall};

/// Where a call's line is in its file (the newline excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRange {
    pub offset: u64,
    pub len: u64,
}

/// The longest prompt a row keeps (the detail pane shows at most this).
const PROMPT_KEEP: usize = 4096;

/// What the Replay screen shows of one call, and where to read the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    /// `None` when the call is held in memory (a HAR file, a test).
    pub at: Option<LineRange>,
    pub deployment: String,
    pub api: ApiPath,
    pub api_version: Option<String>,
    pub stream: bool,
    pub retry: String,
    pub messages: usize,
    /// System and developer messages.
    pub system_messages: usize,
    pub user_messages: usize,
    pub assistant_messages: usize,
    pub prompt_tokens: u64,
    pub output_budget: Option<u32>,
    /// The last user message (what the transcript shows as the prompt), at most
    /// [`PROMPT_KEEP`] bytes.
    pub prompt: String,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub ttft_ms: Option<f64>,
    pub e2e_ms: Option<f64>,
    pub total_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
}

/// The last user message of a request.
pub fn last_user_message(call: &ScenarioCall) -> String {
    call.request
        .body
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.text())
        .unwrap_or_default()
}

impl CallRow {
    pub fn of(call: &ScenarioCall, at: Option<LineRange>) -> CallRow {
        let req = &call.request;
        let r = &call.record;
        let roles = |names: &[&str]| {
            req.body
                .messages
                .iter()
                .filter(|m| names.contains(&m.role.as_str()))
                .count()
        };
        let mut prompt = last_user_message(call);
        if prompt.len() > PROMPT_KEEP {
            let mut cut = PROMPT_KEEP;
            while !prompt.is_char_boundary(cut) {
                cut -= 1;
            }
            prompt.truncate(cut);
            prompt.push('…');
        }
        CallRow {
            at,
            deployment: req.deployment.clone(),
            api: req.api,
            api_version: req.api_version.clone(),
            stream: req.stream,
            retry: req.retry.clone(),
            messages: req.body.messages.len(),
            system_messages: roles(&["system", "developer"]),
            user_messages: roles(&["user"]),
            assistant_messages: roles(&["assistant"]),
            prompt_tokens: call.prompt_shape.total(),
            output_budget: req.body.output_budget(),
            prompt,
            outcome: r.outcome,
            status: r.status,
            ttft_ms: r.timing.ttft_ms,
            e2e_ms: r.timing.e2e_ms,
            total_tokens: r.usage.map(|u| u.total_tokens),
            cost_usd: r.cost_usd,
        }
    }
}

/// A call line read for its row: the whole call but its events.
#[derive(Deserialize)]
#[serde(transparent)]
struct RowLine(ScenarioCall);

impl CallLine for RowLine {
    fn fast(line: &str) -> Option<Self> {
        serde_json::from_str(&without_events(line)?).ok()
    }
}

/// Rows per batch handed to `each` (the first batch is smaller, so it shows at once).
const FIRST_BATCH: usize = 200;
const BATCH: usize = 5_000;

/// Reads the file's header (a bad one refuses the file) without reading further.
pub fn header(path: &Path) -> Result<Header, RecordError> {
    let mut reader = BufReader::new(File::open(path).map_err(io_err(path))?);
    read_header(path, &mut reader).map(|(h, _, _)| h)
}

/// Reads every call line as a row, in file order, handing them to `each` in batches; `each`
/// returns false to stop early (the screen was closed). Damaged lines become warnings with
/// their line numbers, as in a full load.
pub fn rows(
    path: &Path,
    mut each: impl FnMut(Vec<CallRow>) -> bool,
) -> Result<(Header, Vec<LineWarning>), RecordError> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path).map_err(io_err(path))?);
    let (header, mut offset, header_lines) = read_header(path, &mut reader)?;
    let mut part: Part<RowLine> = Part {
        items: Vec::new(),
        warnings: Vec::new(),
        lines: header_lines,
    };
    let mut batch = Vec::with_capacity(FIRST_BATCH);
    let mut want = FIRST_BATCH;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(io_err(path))?;
        if read == 0 {
            break;
        }
        part.lines += 1;
        parse_line(&buf, part.lines, &mut part);
        if let Some(RowLine(call)) = part.items.pop() {
            let len = buf.strip_suffix(b"\n").unwrap_or(&buf).len() as u64;
            batch.push(CallRow::of(&call, Some(LineRange { offset, len })));
            if batch.len() >= want {
                want = BATCH;
                if !each(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))) {
                    return Ok((header, part.warnings));
                }
            }
        }
        offset += read as u64;
    }
    if !batch.is_empty() {
        each(batch);
    }
    Ok((header, part.warnings))
}

/// The whole call at `at`, events included.
pub fn read_call(path: &Path, at: LineRange) -> Result<ScenarioCall, RecordError> {
    let read = || -> io::Result<Vec<u8>> {
        let mut f = File::open(path)?;
        f.seek(SeekFrom::Start(at.offset))?;
        let mut buf = Vec::with_capacity(at.len as usize);
        f.take(at.len).read_to_end(&mut buf)?;
        if buf.len() as u64 != at.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file changed since it was opened (the call's line is cut short)",
            ));
        }
        Ok(buf)
    };
    let buf = read().map_err(io_err(path))?;
    serde_json::from_slice(&buf).map_err(|e| RecordError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the call at byte {} no longer reads as a call: {e}",
                at.offset
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::{CallRecord, SseEvent, Timings};
    use crate::domain::scenario::{PromptShape, RecordedRequest};
    use crate::engine::record::{Recorder, load};
    use crate::wire::{ChatMessage, ChatRequest};

    fn call(i: usize) -> ScenarioCall {
        ScenarioCall {
            proxied: None,
            started: "2026-01-01T00:00:00.000Z".into(),
            request: RecordedRequest {
                wire_api: Default::default(),
                wire_body: None,
                deployment: format!("dep-{}", i % 3),
                api: Default::default(),
                api_version: Some("2024-10-21".into()),
                endpoint: None,
                stream: true,
                retry: "none".into(),
                headers: vec![],
                body: ChatRequest {
                    messages: vec![
                        ChatMessage::new("system", "terse"),
                        ChatMessage::new("user", &format!("question {i}")),
                    ],
                    max_tokens: Some(16),
                    ..Default::default()
                },
            },
            prompt_shape: PromptShape {
                user: 3,
                framing: 7,
                ..Default::default()
            },
            record: CallRecord {
                outcome: Outcome::Done,
                status: Some(200),
                text: format!("answer {i}"),
                timing: Timings {
                    ttft_ms: Some(10.0 + i as f64),
                    ..Default::default()
                },
                events: (0..3)
                    .map(|k| SseEvent {
                        t_ms: k as f64,
                        data: format!("{{\"n\":{k}}}"),
                    })
                    .collect(),
                ..Default::default()
            },
        }
    }

    fn scenario(name: &str, n: usize) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("aoai-index-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        let mut rec = Recorder::open(&path, None).unwrap();
        for i in 0..n {
            rec.append(call(i)).unwrap();
        }
        path
    }

    #[test]
    fn rows_come_in_batches_in_file_order_and_each_range_reads_back_its_call() {
        let path = scenario("rows.jsonl", FIRST_BATCH + BATCH + 7);
        let full = load(&path).unwrap();
        let mut batches = Vec::new();
        let mut rows = Vec::new();
        let (_, warnings) = super::rows(&path, |b| {
            batches.push(b.len());
            rows.extend(b);
            true
        })
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(batches, [FIRST_BATCH, BATCH, 7]);
        assert_eq!(rows.len(), full.calls.len());
        for (i, (row, call)) in rows.iter().zip(&full.calls).enumerate() {
            assert_eq!(*row, CallRow::of(call, row.at), "row {i}");
            assert_eq!(
                read_call(&path, row.at.unwrap()).unwrap(),
                *call,
                "call {i}"
            );
        }
        assert_eq!(rows[4].prompt, "question 4");
        assert_eq!(
            (
                rows[4].system_messages,
                rows[4].user_messages,
                rows[4].prompt_tokens
            ),
            (1, 1, 10)
        );
        let mut seen = 0;
        super::rows(&path, |b| {
            seen += b.len();
            false
        })
        .unwrap();
        assert_eq!(seen, FIRST_BATCH, "one batch, then it stopped");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn damaged_lines_are_warnings_with_their_numbers_and_the_ranges_skip_them() {
        let path = scenario("damaged.jsonl", 3);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.insert_str(text.find('\n').unwrap() + 1, "{not json\n");
        text.push_str("{\"started\":\"cut sho");
        std::fs::write(&path, &text).unwrap();
        let mut rows = Vec::new();
        let (_, warnings) = super::rows(&path, |b| {
            rows.extend(b);
            true
        })
        .unwrap();
        assert_eq!(rows.len(), 3);
        let lines: Vec<usize> = warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [2, 6], "{warnings:?}");
        assert!(warnings[1].message.contains("truncated"), "{warnings:?}");
        // The ranges skip the damaged line.
        assert_eq!(read_call(&path, rows[0].at.unwrap()).unwrap(), call(0));
        assert_eq!(read_call(&path, rows[2].at.unwrap()).unwrap(), call(2));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_file_cut_short_after_it_was_read_says_so_and_a_bad_header_refuses_the_file() {
        let path = scenario("changed.jsonl", 2);
        let mut rows = Vec::new();
        super::rows(&path, |b| {
            rows.extend(b);
            true
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() - 40]).unwrap();
        let err = read_call(&path, rows[1].at.unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("changed since it was opened"), "{err}");
        std::fs::write(&path, "{\"format\":\"something else\"}\n").unwrap();
        assert!(header(&path).is_err());
        assert!(super::rows(&path, |_| true).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
