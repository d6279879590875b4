//! A HAR of an application's calls read as a scenario: every chat-completions or Responses
//! entry becomes a call, read by the proxy's own measurement (`proxy::measure`, the tap), so
//! an imported call has the figures a proxied one would (status, TTFB, e2e, tokens, cost,
//! rate limits, 429 cause, request id, region). Other entries (page loads, embeddings,
//! models) are counted and left out.
//!
//! Lenient where real HARs differ (missing `cache` or `cookies`, base64 bodies, entries
//! without a response), strict about credentials: request headers are read through the
//! scenario allowlist, the URL keeps only `api-version`, cookies are never read.

use std::time::Duration;

use har::v1_2::Entries;
use serde_json::Value;

use super::EVENTS_MS;
use crate::domain::call::{CallError, ErrorKind};
use crate::domain::cost::PriceTable;
use crate::domain::scenario::{Header, LineWarning, Proxied, ScenarioCall};
use crate::engine::proxy::measure::{self, Ended, Head};
use crate::engine::proxy::request::RequestMeta;
use crate::engine::proxy::tap::Tap;
use crate::engine::record::{Loaded, prompt_shape, rfc3339};

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.0) / 1000.0)
}

/// Fills the fields HAR 1.2 requires that some writers leave out, so such an entry still
/// reads (the `har` types require them).
fn fill_defaults(entry: &mut Value) {
    let Some(e) = entry.as_object_mut() else {
        return;
    };
    e.entry("cache").or_insert_with(|| serde_json::json!({}));
    e.entry("time").or_insert(Value::from(0.0));
    let timings = e.entry("timings").or_insert_with(|| serde_json::json!({}));
    if let Some(t) = timings.as_object_mut() {
        for k in ["send", "wait", "receive"] {
            let v = t.entry(k).or_insert(Value::from(0.0));
            if !v.is_number() {
                *v = Value::from(0.0);
            }
        }
    }
    for side in ["request", "response"] {
        let part = e.entry(side).or_insert_with(|| serde_json::json!({}));
        if let Some(p) = part.as_object_mut() {
            for (k, v) in [
                ("cookies", serde_json::json!([])),
                ("headers", serde_json::json!([])),
                ("httpVersion", serde_json::json!("")),
            ] {
                p.entry(k).or_insert(v);
            }
            if side == "request" {
                p.entry("queryString")
                    .or_insert_with(|| serde_json::json!([]));
                p.entry("method")
                    .or_insert_with(|| serde_json::json!("GET"));
                p.entry("headersSize").or_insert(Value::from(-1));
            } else {
                p.entry("statusText")
                    .or_insert_with(|| serde_json::json!(""));
                p.entry("status").or_insert(Value::from(0));
                p.entry("content").or_insert_with(|| serde_json::json!({}));
            }
        }
    }
}

/// RFC 3339 UTC (`…Z`) from a HAR time, which may carry an offset (`+02:00`).
fn utc(started: &str) -> Option<String> {
    let s = started.trim();
    if let Ok(t) = humantime::parse_rfc3339_weak(s.trim_end_matches('Z'))
        && (s.ends_with('Z') || !has_offset(s))
    {
        return Some(rfc3339(t));
    }
    let (local, sign, off) = split_offset(s)?;
    let t = humantime::parse_rfc3339_weak(local).ok()?;
    let (h, m) = off
        .split_once(':')
        .unwrap_or((off.get(..2)?, off.get(2..)?));
    let secs = h.parse::<u64>().ok()? * 3600 + m.parse::<u64>().ok()? * 60;
    let t = if sign == '+' {
        t.checked_sub(Duration::from_secs(secs))?
    } else {
        t.checked_add(Duration::from_secs(secs))?
    };
    Some(rfc3339(t))
}

fn has_offset(s: &str) -> bool {
    split_offset(s).is_some()
}

/// `2024-05-01T10:00:00.1+02:00` → (`2024-05-01T10:00:00.1`, `+`, `02:00`).
fn split_offset(s: &str) -> Option<(&str, char, &str)> {
    let t = s.find('T').or_else(|| s.find(' '))?;
    let i = s[t..].rfind(['+', '-'])? + t;
    let sign = s[i..].chars().next()?;
    Some((&s[..i], sign, &s[i + 1..]))
}

/// The endpoint a scenario records for a URL: scheme, host and port, plus any path before
/// the Azure OpenAI routes (an APIM or gateway prefix); an OpenAI-compatible URL keeps its
/// path up to the operation (`https://host/v1`).
fn endpoint_of(url: &url::Url) -> String {
    let origin = url.origin().ascii_serialization();
    let path = url.path();
    let prefix = match path.find("/openai/") {
        Some(i) => &path[..i],
        None => path
            .trim_end_matches('/')
            .trim_end_matches("/chat/completions")
            .trim_end_matches("/responses"),
    };
    format!("{origin}{}", prefix.trim_end_matches('/'))
}

/// The body text of a HAR content (base64-decoded when marked so).
fn content_text(c: &har::v1_2::Content) -> Option<String> {
    use base64::Engine;
    let text = c.text.as_ref()?;
    if c.encoding.as_deref() == Some("base64") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()?;
        return Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    Some(text.clone())
}

/// One entry as a call. `Ok(None)`: not a chat or Responses call.
fn entry_call(
    n: usize,
    e: &Entries,
    events_ms: Option<Vec<f64>>,
    creator: &str,
    prices: &PriceTable,
) -> Result<Option<ScenarioCall>, String> {
    let url =
        url::Url::parse(&e.request.url).map_err(|err| format!("URL {}: {err}", e.request.url))?;
    // `gpt-5.1https://…` parses (any scheme does) but names no HTTP call; it would not
    // survive an export and a re-import either (found by fuzzing: fuzz/regressions/har).
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("URL {}: not an http(s) URL", e.request.url));
    }
    let body = e
        .request
        .post_data
        .as_ref()
        .and_then(|p| p.text.clone())
        .unwrap_or_default();
    let meta = RequestMeta::read(url.path(), url.query(), body.as_bytes());
    if !meta.llm {
        return Ok(None);
    }
    let request_headers: Vec<(String, String)> = e
        .request
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    let user_agent = request_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.clone());
    let t = &e.timings;
    let pos = |v: Option<f64>| v.unwrap_or(0.0).max(0.0);
    // `ssl` is inside `connect` (HAR 1.2); everything before the first byte is TTFB.
    let ttfb_ms = pos(t.blocked) + pos(t.dns) + pos(t.connect) + t.send.max(0.0) + t.wait.max(0.0);
    let done_ms = ttfb_ms + t.receive.max(0.0);
    let status = u16::try_from(e.response.status).unwrap_or(0);
    let mut notes = Vec::new();
    let (head, reading, error) = if status == 0 {
        let err = CallError::new(
            ErrorKind::Connect,
            "no response (the HAR records status 0: blocked, failed or cancelled)",
        );
        (None, Default::default(), Some(err))
    } else {
        let head = Head::read(
            status,
            ms(ttfb_ms),
            e.response
                .headers
                .iter()
                .map(|h| (h.name.as_str(), h.value.as_str())),
        );
        let mut tap = Tap::new(meta.wire_api, status, true);
        let read_at = match content_text(&e.response.content) {
            None => {
                notes.push("the HAR holds no response body".to_string());
                done_ms
            }
            Some(text) => feed(
                &mut tap,
                &text,
                ttfb_ms,
                done_ms,
                events_ms.as_deref(),
                &mut notes,
            ),
        };
        (Some(head), Some(tap.finish(ms(read_at))), None)
    };
    let interpolated = notes.iter().any(|n| n.starts_with(SPREAD_NOTE));
    let mut record = measure::record(Ended {
        id: n as u64,
        meta: &meta,
        head,
        reading: reading.unwrap_or_default(),
        done: ms(done_ms),
        error,
        injected: None,
        prices,
    });
    if interpolated {
        // Event times were spread, not measured: no first-token figures from them.
        record.timing.ttft_ms = None;
        record.timing.last_token_ms = None;
        record.timing.tokens_per_s = None;
        record.timing.first_summary_ms = None;
    }
    record.notes.extend(notes);
    let endpoint = endpoint_of(&url);
    let request = measure::recorded_request(&meta, &endpoint, &request_headers);
    let path = match url.query() {
        Some(_) => {
            let version = meta
                .api_version
                .as_deref()
                .map(|v| {
                    let v: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                    format!("?api-version={v}")
                })
                .unwrap_or_default();
            format!("{}{version}", url.path())
        }
        None => url.path().to_string(),
    };
    let prefix = endpoint.len() - url.origin().ascii_serialization().len();
    Ok(Some(
        ScenarioCall {
            started: utc(&e.started_date_time).unwrap_or_else(|| e.started_date_time.clone()),
            prompt_shape: prompt_shape(&request.body.messages),
            request,
            proxied: Some(Proxied {
                client: format!("HAR ({creator})"),
                user_agent,
                method: e.request.method.clone(),
                path: path.get(prefix..).unwrap_or(&path).to_string(),
                injected: None,
            }),
            record,
        }
        .sanitize(),
    ))
}

const SPREAD_NOTE: &str = "event times spread over the HAR's receive phase";

/// Feeds a body to the tap: an event stream event by event at its recorded time (the
/// [`EVENTS_MS`] field) or, without it, spread evenly over the receive phase; a JSON body
/// at once, when it arrived (its one [`EVENTS_MS`] time) or else when the entry ended.
/// Returns when the tap is to read what it was fed (a whole body: when it arrived).
fn feed(
    tap: &mut Tap,
    text: &str,
    ttfb: f64,
    done: f64,
    times: Option<&[f64]>,
    notes: &mut Vec<String>,
) -> f64 {
    let sse = text.trim_start().starts_with("data:") || text.trim_start().starts_with("event:");
    if !sse {
        let at = times
            .and_then(|t| (t.len() == 1).then(|| t[0]))
            .unwrap_or(done);
        tap.feed(text.as_bytes(), ms(at));
        return at;
    }
    let normalized = text.replace("\r\n", "\n");
    let blocks: Vec<&str> = normalized
        .split("\n\n")
        .filter(|b| b.lines().any(|l| l.starts_with("data:")))
        .collect();
    let times = times.filter(|t| t.len() == blocks.len());
    if times.is_none() {
        notes.push(format!(
            "{SPREAD_NOTE} (a HAR keeps no per-event times): TTFT unknown"
        ));
    }
    let n = blocks.len().max(1) as f64;
    for (i, b) in blocks.iter().enumerate() {
        let at = match times {
            Some(t) => t[i],
            None => ttfb + (done - ttfb) * (i as f64 + 1.0) / n,
        };
        tap.feed(format!("{b}\n\n").as_bytes(), ms(at));
    }
    done
}

/// Reads a HAR document as a scenario. Entries that cannot be read become warnings
/// (`entry N: …`); a document that is not a HAR is an error.
pub fn read_har(bytes: &[u8]) -> Result<Loaded, String> {
    let mut doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let log = doc
        .get_mut("log")
        .and_then(Value::as_object_mut)
        .ok_or("not a HAR: no top-level `log` object")?;
    match log.get("version").and_then(Value::as_str) {
        Some("1.1" | "1.2" | "1.3") | None => {}
        Some(v) => {
            return Err(format!(
                "HAR version {v} is not one this build reads (1.1–1.3)"
            ));
        }
    }
    let creator = log
        .get("creator")
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    let entries = match log.get_mut("entries") {
        Some(Value::Array(a)) => std::mem::take(a),
        _ => return Err("not a HAR: `log.entries` is not a list".into()),
    };
    let prices = PriceTable::builtin();
    let mut calls = Vec::new();
    let mut warnings = Vec::new();
    let mut skipped = 0usize;
    for (i, mut raw) in entries.into_iter().enumerate() {
        let n = i + 1;
        let events_ms = raw
            .get(EVENTS_MS)
            .and_then(|v| serde_json::from_value::<Vec<f64>>(v.clone()).ok());
        fill_defaults(&mut raw);
        let entry: Entries = match serde_json::from_value(raw) {
            Ok(e) => e,
            Err(e) => {
                warnings.push(LineWarning {
                    line: 0,
                    message: format!("entry {n}: {e}"),
                });
                continue;
            }
        };
        match entry_call(n, &entry, events_ms, &creator, &prices) {
            Ok(Some(c)) => calls.push(c),
            Ok(None) => skipped += 1,
            Err(e) => warnings.push(LineWarning {
                line: 0,
                message: format!("entry {n}: {e}"),
            }),
        }
    }
    if skipped > 0 {
        warnings.push(LineWarning {
            line: 0,
            message: format!(
                "{skipped} entries are not chat-completions or Responses calls; left out"
            ),
        });
    }
    let created = calls
        .first()
        .map(|c| c.started.clone())
        .unwrap_or_else(|| rfc3339(std::time::SystemTime::now()));
    Ok(Loaded {
        header: Header::new(created, None),
        calls,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_offsets_become_utc() {
        assert_eq!(
            utc("2024-05-01T10:00:00.123Z").unwrap(),
            "2024-05-01T10:00:00.123Z"
        );
        assert_eq!(
            utc("2024-05-01T10:00:00.123+02:00").unwrap(),
            "2024-05-01T08:00:00.123Z"
        );
        assert_eq!(
            utc("2024-05-01T10:00:00.000-05:30").unwrap(),
            "2024-05-01T15:30:00.000Z"
        );
        assert!(utc("yesterday").is_none());
    }

    #[test]
    fn endpoints_keep_gateway_prefixes_only() {
        let e = |u: &str| endpoint_of(&url::Url::parse(u).unwrap());
        assert_eq!(
            e("https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=1"),
            "https://r.openai.azure.com"
        );
        assert_eq!(
            e("https://apim.azure-api.net/team-a/openai/v1/responses"),
            "https://apim.azure-api.net/team-a"
        );
        assert_eq!(
            e("https://api.example.com/v1/chat/completions"),
            "https://api.example.com/v1"
        );
        assert_eq!(
            e("https://user:pw@r.openai.azure.com/openai/v1/chat/completions"),
            "https://r.openai.azure.com"
        );
    }
}
