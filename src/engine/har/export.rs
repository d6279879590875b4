//! A scenario as a HAR 1.2 document: one entry per call, the request as it went on the wire
//! (URL, method, diagnostic headers, body), the response with its allowlisted headers and its
//! body rebuilt from the recorded events, and the timings (`wait` = TTFB, `receive` = the
//! rest of e2e).

use std::io::Write;

use har::v1_2::{Content, Entries, Headers, Log, PostData, QueryString, Request, Response};
use serde_json::Value;

use super::EVENTS_MS;
use crate::azure::Endpoint;
use crate::azure::endpoint::DEFAULT_API_VERSION;
use crate::domain::call::{ApiPath, WireApi};
use crate::domain::scenario::ScenarioCall;
use crate::engine::record::Loaded;

fn header(name: &str, value: &str) -> Headers {
    Headers {
        name: name.to_string(),
        value: value.to_string(),
        comment: None,
    }
}

/// The URL the call went to: as the application asked (proxied calls), else rebuilt from the
/// recorded endpoint, path style, deployment and api-version.
fn url_of(call: &ScenarioCall) -> String {
    let req = &call.request;
    let endpoint = req.endpoint.as_deref().unwrap_or("http://localhost");
    if let Some(p) = &call.proxied {
        return format!("{}{}", endpoint.trim_end_matches('/'), p.path);
    }
    let version = req.api_version.as_deref().unwrap_or(DEFAULT_API_VERSION);
    match Endpoint::parse(endpoint) {
        Ok(e) => match req.wire_api {
            WireApi::Chat => e.chat_url(req.api, &req.deployment, version).0,
            WireApi::Responses => e.responses_url(req.api, version),
        },
        Err(_) => endpoint.to_string(),
    }
}

/// The body as sent: a Responses body as recorded; a chat body with `model` where the path
/// does not name the deployment, and the stream's usage request.
fn body_of(call: &ScenarioCall) -> String {
    let req = &call.request;
    if let Some(b) = &req.wire_body {
        return b.to_string();
    }
    let body_model = !matches!(req.api, ApiPath::Classic);
    let body =
        crate::azure::data_plane::chat_body(&req.body, &req.deployment, body_model, req.stream);
    serde_json::to_string(&body).unwrap_or_default()
}

/// Whether the recorded response was an event stream.
fn is_sse(call: &ScenarioCall) -> bool {
    let rec = &call.record;
    match rec
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        Some((_, v)) => v.contains("text/event-stream"),
        None => rec.stream && rec.status.is_some_and(|s| (200..300).contains(&s)),
    }
}

/// The response body rebuilt from the recorded events: `data:` lines of an event stream (a
/// Responses event with its `event:` line, as Azure sends it), else the body as received.
fn response_text(call: &ScenarioCall, sse: bool) -> Option<String> {
    let events = &call.record.events;
    if events.is_empty() {
        return None;
    }
    if !sse {
        return Some(events.iter().map(|e| e.data.as_str()).collect());
    }
    let mut out = String::new();
    for e in events {
        if call.record.wire_api == WireApi::Responses
            && let Ok(v) = serde_json::from_str::<Value>(&e.data)
            && let Some(t) = v.get("type").and_then(Value::as_str)
        {
            out.push_str("event: ");
            out.push_str(t);
            out.push('\n');
        }
        out.push_str("data: ");
        out.push_str(&e.data);
        out.push_str("\n\n");
    }
    Some(out)
}

fn entry(call: &ScenarioCall) -> Entries {
    let rec = &call.record;
    let url = url_of(call);
    let query_string = url::Url::parse(&url)
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| QueryString {
                    name: k.into_owned(),
                    value: v.into_owned(),
                    comment: None,
                })
                .collect()
        })
        .unwrap_or_default();
    let body = body_of(call);
    let mut req_headers = vec![header("content-type", "application/json")];
    req_headers.extend(call.request.headers.iter().map(|(k, v)| header(k, v)));
    if let Some(ua) = call.proxied.as_ref().and_then(|p| p.user_agent.as_deref()) {
        req_headers.push(header("user-agent", ua));
    }
    let sse = is_sse(call);
    let text = response_text(call, sse);
    let mime = rec
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| {
            if sse {
                "text/event-stream".into()
            } else {
                "application/json".into()
            }
        });
    let size = text.as_ref().map_or(-1, |t| t.len() as i64);
    let status = rec.status.unwrap_or(0);
    let e2e = rec.timing.e2e_ms.or(rec.call_ms).unwrap_or(0.0);
    let ttfb = rec.timing.ttfb_ms.unwrap_or(e2e).min(e2e);
    Entries {
        pageref: None,
        started_date_time: call.started.clone(),
        time: e2e,
        request: Request {
            method: call
                .proxied
                .as_ref()
                .map_or("POST".into(), |p| p.method.clone()),
            url,
            http_version: "HTTP/1.1".into(),
            cookies: vec![],
            headers: req_headers,
            query_string,
            body_size: body.len() as i64,
            post_data: Some(PostData {
                mime_type: "application/json".into(),
                text: Some(body),
                params: None,
                comment: None,
            }),
            headers_size: -1,
            comment: None,
        },
        response: Response {
            status: status as i64,
            status_text: http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("")
                .into(),
            http_version: "HTTP/1.1".into(),
            cookies: vec![],
            headers: call
                .safe_headers()
                .iter()
                .map(|h| header(h.name(), h.value()))
                .collect(),
            content: Content {
                size,
                compression: None,
                mime_type: Some(mime),
                text,
                encoding: None,
                comment: None,
            },
            redirect_url: Some(String::new()),
            headers_size: -1,
            body_size: size,
            comment: None,
        },
        cache: Default::default(),
        timings: har::v1_2::Timings {
            blocked: None,
            dns: None,
            connect: None,
            send: 0.0,
            wait: ttfb,
            receive: (e2e - ttfb).max(0.0),
            ssl: None,
            comment: None,
        },
        server_ip_address: None,
        connection: None,
        comment: rec.error.as_ref().map(|e| e.to_string()),
    }
}

/// Writes the scenario's calls as a HAR 1.2 document; returns how many entries.
pub fn write_har(loaded: &Loaded, mut w: impl Write) -> anyhow::Result<usize> {
    let entries: Vec<Entries> = loaded.calls.iter().map(entry).collect();
    let log = Log {
        creator: har::v1_2::Creator {
            name: "aoai-console".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            comment: None,
        },
        browser: None,
        pages: None,
        entries,
        comment: None,
    };
    let mut doc = serde_json::to_value(har::Har {
        log: har::Spec::V1_2(log),
    })?;
    // Per-event arrival times, which HAR has no field for.
    if let Some(list) = doc["log"]["entries"].as_array_mut() {
        for (e, call) in list.iter_mut().zip(&loaded.calls) {
            if !call.record.events.is_empty() {
                let times: Vec<f64> = call.record.events.iter().map(|ev| ev.t_ms).collect();
                e[EVENTS_MS] = serde_json::json!(times);
            }
        }
    }
    serde_json::to_writer_pretty(&mut w, &doc)?;
    writeln!(w)?;
    Ok(loaded.calls.len())
}
