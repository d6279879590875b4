//! The bodies of the fuzz targets, one function per target: each takes the fuzzer's bytes and
//! drives the library's public API the way the program does, panicking on any property that
//! must hold. The targets in `fuzz_targets/` call them under libFuzzer (nightly), and
//! `tests/fuzz_corpus.rs` replays every committed corpus and regression file through them
//! on stable, so a crash once found stays fixed.
//!
//! The oracles beyond "no panic": a stream reads the same however its bytes are split into
//! reads (the client's reading and the proxy's), and what a HAR import reads survives a HAR
//! export and a second import.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use aoai::domain::call::{CallError, ErrorKind, WireApi};
use aoai::domain::cost::PriceTable;
use aoai::domain::ratelimit::{RateLimit, classify_429};
use aoai::domain::responses::ResponsesState;
use aoai::domain::stream::StreamState;
use aoai::engine::proxy::measure::{self, Ended, Head};
use aoai::engine::proxy::request::RequestMeta;
use aoai::engine::proxy::tap::{Reading, Tap};
use aoai::wire::{ChunkIn, ErrorInfo};

/// A target: its name (of its file in `fuzz_targets/` and its corpus folder) and body.
pub type Target = (&'static str, fn(&[u8]));

/// The targets.
pub const TARGETS: &[Target] = &[
    ("sse_chat", sse_chat),
    ("sse_responses", sse_responses),
    ("ratelimit", ratelimit),
    ("scenario", scenario),
    ("har", har),
    ("toml", toml),
    ("proxy_request", proxy_request),
];

/// A body and how it is cut into reads: the first byte picks the read size (1..=64 bytes),
/// the rest is the body.
fn split(data: &[u8]) -> (usize, &[u8]) {
    match data.split_first() {
        Some((k, body)) => (1 + usize::from(*k) % 64, body),
        None => (1, data),
    }
}

/// What the client made of a stream: its reducer state, the error it ended with and its
/// notes (as `ChatClient`'s `read_stream` decides them, event by event).
#[derive(Debug, PartialEq)]
pub struct ClientReading {
    pub state: StreamState,
    pub error: Option<String>,
    pub events: usize,
}

/// The client's reading of a stream that arrived in `reads`: the events as the client parses
/// them ([`aoai::azure::read_events`]), each reduced as `read_stream` reduces it.
pub fn client_reading<'a>(
    wire_api: WireApi,
    reads: impl IntoIterator<Item = &'a [u8]>,
) -> ClientReading {
    let (events, parse_error) = aoai::azure::read_events(reads);
    let mut state = StreamState::default();
    let mut responses = (wire_api == WireApi::Responses).then(ResponsesState::default);
    let mut error: Option<CallError> = None;
    let mut n = 0u64;
    let mut ended = false;
    for ev in &events {
        n += 1;
        let data = ev.data.trim();
        if data.is_empty() {
            continue;
        }
        if let Some(rs) = responses.as_mut() {
            match aoai::azure::responses::step(rs, data, n) {
                Ok(_) => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
            if rs.ended {
                ended = true;
                break;
            }
            continue;
        }
        if data == "[DONE]" {
            state.saw_done = true;
            ended = true;
            break;
        }
        let chunk: ChunkIn = match serde_json::from_str(data) {
            Ok(c) => c,
            Err(e) => {
                error = Some(CallError::new(ErrorKind::MalformedSse, e.to_string()));
                break;
            }
        };
        if let Some(err) = &chunk.error {
            let info =
                ErrorInfo::from_value(&serde_json::json!({ "error": err })).unwrap_or_default();
            error = Some(CallError::new(ErrorKind::StreamError, info.message));
            break;
        }
        state.apply(&chunk);
    }
    // A parse error past the events read ends the stream as the client ends it.
    if error.is_none()
        && !ended
        && let Some(e) = parse_error
    {
        error = Some(CallError::new(ErrorKind::MalformedSse, e));
    }
    if error.is_none()
        && let Some(rs) = responses
    {
        error = aoai::azure::responses::settle(rs, &mut state, true);
    }
    ClientReading {
        state,
        error: error.map(|e| e.to_string()),
        events: n as usize,
    }
}

/// The proxy's reading of a response body that arrived in `reads`.
pub fn tap_reading<'a>(
    wire_api: WireApi,
    status: u16,
    reads: impl IntoIterator<Item = &'a [u8]>,
) -> Reading {
    let mut tap = Tap::new(wire_api, status, true);
    for r in reads {
        tap.feed(r, Duration::ZERO);
    }
    tap.finish(Duration::ZERO)
}

/// A reading as text, for comparing two (`Reading` has no `PartialEq`).
fn shown(r: &Reading) -> String {
    format!("{r:?}")
}

fn stream_target(wire_api: WireApi, path: &str, data: &[u8]) {
    let (k, body) = split(data);
    // The client: whole, and in reads of k bytes.
    let whole = client_reading(wire_api, [body]);
    let cut = client_reading(wire_api, body.chunks(k));
    assert_eq!(
        whole, cut,
        "the client's reading depends on the read size {k}"
    );
    // The proxy: whole, and in reads of k bytes; then the record it makes.
    let status = 200;
    let r1 = tap_reading(wire_api, status, [body]);
    let r2 = tap_reading(wire_api, status, body.chunks(k));
    assert_eq!(
        shown(&r1),
        shown(&r2),
        "the proxy's reading depends on the read size {k}"
    );
    let meta = RequestMeta::read(
        path,
        Some("api-version=2025-04-01-preview"),
        b"{\"stream\":true}",
    );
    let head = Head::read(status, Duration::from_millis(5), std::iter::empty());
    let record = measure::record(Ended {
        id: 1,
        meta: &meta,
        head: Some(head),
        reading: r1,
        done: Duration::from_millis(9),
        error: None,
        injected: None,
        prices: prices(),
    });
    // The record serialises (it is what a scenario line holds).
    serde_json::to_string(&record).expect("a call record serialises");
    // A non-2xx body is read as the service's error.
    let err = tap_reading(wire_api, 429, body.chunks(k));
    assert!(err.error.is_some(), "a 429 body reads as an error");
}

/// Bytes → SSE events → call record, Chat Completions.
pub fn sse_chat(data: &[u8]) {
    stream_target(
        WireApi::Chat,
        "/openai/deployments/gpt-4o/chat/completions",
        data,
    );
}

/// Bytes → SSE events → call record, the Responses API.
pub fn sse_responses(data: &[u8]) {
    stream_target(WireApi::Responses, "/openai/v1/responses", data);
}

/// Response header lines (`name: value`) → rate limits, the 429 kind, the head a record keeps.
pub fn ratelimit(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(&str, &str)> = text
        .lines()
        .map(|l| l.split_once(':').map_or((l, ""), |(k, v)| (k, v)))
        .collect();
    let rl = RateLimit::from_headers(pairs.iter().copied());
    for r in [rl.requests_left_ratio(), rl.tokens_left_ratio()]
        .into_iter()
        .flatten()
    {
        assert!((0.0..=1.0).contains(&r), "a ratio out of [0, 1]: {r}");
    }
    for s in [
        rl.reset_tokens_s,
        rl.reset_requests_s,
        rl.renewal_period_requests_s,
        rl.renewal_period_tokens_s,
    ]
    .into_iter()
    .flatten()
    {
        assert!(
            s.is_finite() && s >= 0.0,
            "a negative or infinite time: {s}"
        );
    }
    let _ = classify_429(&text);
    let head = Head::read(429, Duration::ZERO, pairs.iter().copied());
    assert_eq!(head.ratelimit, rl);
    let _ = serde_json::to_string(&rl).expect("rate limits serialise");
}

/// The shipped price table, parsed once.
fn prices() -> &'static PriceTable {
    static PRICES: std::sync::OnceLock<PriceTable> = std::sync::OnceLock::new();
    PRICES.get_or_init(PriceTable::builtin)
}

/// A scratch file of this process (the loaders read files).
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("aoai-fuzz-{}-{name}", std::process::id()))
}

/// A scenario file (or a HAR, told apart by content) → header, calls, warnings; the pure
/// parser of the same text, and the report rows.
pub fn scenario(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok((_, calls, _)) = aoai::domain::scenario::parse(text)
    {
        for c in calls {
            let _ = c.sanitize().safe_headers();
        }
    }
    let path = scratch("scenario.jsonl");
    std::fs::write(&path, data).expect("the scratch file is writable");
    if let Ok(loaded) = aoai::engine::capture::load(&path) {
        let mut report = aoai::engine::record::report::ReportBuilder::new(prices());
        for c in &loaded.calls {
            report.add(aoai::engine::record::report::CallSummary::from(c));
        }
        let _ = aoai::engine::record::report::render_text(&report.finish());
    }
    let _ = aoai::engine::capture::for_each_summary(&path, |_| {});
}

/// A HAR file → the calls it holds; they survive an export and a second import.
pub fn har(data: &[u8]) {
    let Ok(loaded) = aoai::engine::har::import::read_har(data) else {
        return;
    };
    let mut out = Vec::new();
    aoai::engine::har::export::write_har(&loaded, &mut out).expect("an imported HAR exports");
    let again = aoai::engine::har::import::read_har(&out).expect("an exported HAR imports");
    assert_eq!(
        loaded.calls.len(),
        again.calls.len(),
        "calls lost in a HAR round trip"
    );
}

/// A TOML file read as each kind the program reads: the profiles file, a theme, a variant
/// set, a simulator config, price and PTU tables.
pub fn toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = aoai::config::ConfigFile::parse(text, "fuzz.toml");
    let _ = aoai::tui::theme::Theme::from_toml("fuzz.toml", text);
    let _ = aoai::domain::compare::VariantSet::from_toml_str(text);
    let _ = aoai::sim::config::SimConfig::from_toml_str(text);
    let _ = PriceTable::parse(text);
    let _ = aoai::domain::ptu::PtuTable::parse(text);
}

/// An application's request through the proxy: `PATH[?QUERY]`, header lines, a blank line,
/// the body → what the proxy reads of it and records.
pub fn proxy_request(data: &[u8]) {
    let (head, body) = match memchr_blank(data) {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let target = lines.next().unwrap_or("");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap_or((l, ""));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let meta = RequestMeta::read(path, query, body);
    let shown = meta.prompt_text();
    assert!(
        shown.len() <= aoai::engine::proxy::request::PROMPT_SHOWN + '…'.len_utf8(),
        "the live prompt is over its cap"
    );
    let req = measure::recorded_request(&meta, "https://example.invalid", &headers);
    for (k, _) in &req.headers {
        assert!(
            aoai::domain::scenario::REQUEST_HEADER_ALLOWLIST.contains(&k.as_str()),
            "a request header outside the allowlist was recorded: {k}"
        );
    }
    serde_json::to_string(&req).expect("a recorded request serialises");
    let _ = Head::read(
        200,
        Duration::ZERO,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
}

fn memchr_blank(data: &[u8]) -> Option<usize> {
    data.windows(2).position(|w| w == b"\n\n")
}
