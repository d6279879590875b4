//! HAR 1.2 (the HTTP Archive of browser devtools, Fiddler and mitmproxy), both ways: a
//! scenario's calls as a HAR ([`export::write_har`]), and a HAR of an application's Azure
//! OpenAI calls read as a scenario ([`import::read_har`]), so `aoai replay capture.har` offers
//! the report, the console, `--resend` and `sim --replay` on it. Types: the `har` crate.
//!
//! Mapping (docs/exports.md): an entry is one call; `timings.wait` is TTFB and
//! `timings.receive` the rest of e2e; an event stream is kept as the text it was on the wire.
//! A HAR has no per-event times, so an export adds them in the custom field
//! [`EVENTS_MS`] (`_`-prefixed, as HAR 1.2 allows) and an import of a HAR without them
//! spreads the events over the receive phase and leaves TTFT unknown.
//!
//! Credentials never pass either way: a scenario holds none to export, and an import keeps
//! only the diagnostic request headers and allowlisted response headers (no `api-key`,
//! `Authorization`, cookies or query parameters but `api-version`).

pub mod export;
pub mod import;

use std::io::Read;
use std::path::Path;

/// Custom entry field: each event's arrival in ms after the request was sent, in body order.
pub const EVENTS_MS: &str = "_aoaiEventsMs";

/// Whether `path` holds a HAR rather than a scenario: its first line is not a scenario
/// header and its first bytes open a JSON object with a `log`.
pub fn is_har(path: &Path) -> bool {
    let mut head = [0u8; 4096];
    let Ok(n) = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)) else {
        return false;
    };
    let head = String::from_utf8_lossy(&head[..n]);
    let first_line = head.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if crate::domain::scenario::parse_header(first_line.trim_end()).is_ok() {
        return false;
    }
    head.trim_start().starts_with('{') && head.contains("\"log\"")
}
