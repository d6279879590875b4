//! From a request's facts, a response head and the tap's reading to a [`CallRecord`] and its
//! scenario request: what the proxy does when a call ends, and what a HAR import does for
//! each entry (`crate::engine::har`), so a captured call reads the same whichever way it was
//! captured.

use std::time::Duration;

use super::request::RequestMeta;
use super::tap::Reading;
use crate::domain::call::{
    Attempt, CallError, CallRecord, ErrorKind, Marks, NO_USAGE_NOTE, Outcome, Timings, WireApi,
    keep_response_header,
};
use crate::domain::cost::PriceTable;
use crate::domain::ratelimit::RateLimit;
use crate::domain::scenario::{REQUEST_HEADER_ALLOWLIST, RecordedRequest};
use crate::domain::usage::Usage;

/// The response head of a call.
#[derive(Debug, Clone, Default)]
pub struct Head {
    pub status: u16,
    /// When the head arrived, from the moment the request was sent.
    pub at: Duration,
    pub ratelimit: RateLimit,
    pub request_id: Option<String>,
    pub region: Option<String>,
    /// Filtered through `keep_response_header`.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// Reads a head from its headers (name, value): rate limits, request id, region, and the
    /// headers a record may keep.
    pub fn read<'a>(
        status: u16,
        at: Duration,
        headers: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Head {
        let find = |name: &str| {
            headers
                .clone()
                .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty())
                .map(|(_, v)| v.to_string())
        };
        Head {
            status,
            at,
            ratelimit: RateLimit::from_headers(headers.clone()),
            request_id: find("apim-request-id").or_else(|| find("x-request-id")),
            region: find("x-ms-region"),
            headers: headers
                .filter(|(k, _)| keep_response_header(k))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect(),
        }
    }
}

/// Everything a finished call is read from.
pub struct Ended<'a> {
    pub id: u64,
    pub meta: &'a RequestMeta,
    pub head: Option<Head>,
    pub reading: Reading,
    /// When the body ended (or broke off), from the moment the request was sent.
    pub done: Duration,
    /// How it broke off, `None` when the body ended.
    pub error: Option<CallError>,
    pub injected: Option<&'a str>,
    pub prices: &'a PriceTable,
}

/// The call's record, from the proxy's (or the capture's) vantage point: one attempt.
pub fn record(e: Ended<'_>) -> CallRecord {
    let Ended {
        id,
        meta,
        head,
        reading: r,
        done,
        error,
        injected,
        prices,
    } = e;
    let status = head.as_ref().map(|h| h.status);
    let usage = r.usage.as_ref().map(Usage::from);
    let completion = usage
        .map(|u| u.completion_tokens)
        .or((r.content_chunks > 0).then_some(r.content_chunks));
    let marks = Marks {
        headers: head.as_ref().map(|h| h.at),
        first_content: r.first_content,
        last_content: r.last_content,
        done: Some(done),
        first_summary: r.first_summary,
    };
    let mut notes = r.notes;
    // How the body ended decides the error: a break (given), a failure the body reported,
    // or a stream that closed before its end.
    let error = error.or(r.error).or_else(|| {
        let cut_short = r.sse && !r.ended && r.finish_reason.is_none();
        if cut_short {
            Some(CallError::new(
                ErrorKind::Truncated,
                "the stream closed before its end (no finish reason)",
            ))
        } else {
            if r.sse && !r.ended {
                notes.push("the stream ended without its end marker".into());
            }
            None
        }
    });
    if r.sse && usage.is_none() && error.is_none() {
        notes.push(NO_USAGE_NOTE.to_string());
    }
    if let Some(i) = injected {
        notes.push(format!("injected by the proxy: {i}"));
    }
    let model_for_price = r.model.clone().unwrap_or_else(|| meta.deployment.clone());
    let (ratelimit, request_id, region, headers) = match head {
        Some(h) => (h.ratelimit, h.request_id, h.region, h.headers),
        None => Default::default(),
    };
    let e2e = done.as_secs_f64() * 1000.0;
    CallRecord {
        id,
        deployment: meta.deployment.clone(),
        api: meta.api,
        wire_api: meta.wire_api,
        stream: meta.stream,
        outcome: match &error {
            None => Outcome::Done,
            Some(e) if e.kind == ErrorKind::Cancelled => Outcome::Cancelled,
            Some(e) if e.kind == ErrorKind::Throttled => Outcome::Throttled,
            Some(_) => Outcome::Failed,
        },
        status,
        model: r.model,
        response_id: r.id,
        finish_reason: r.finish_reason,
        text: r.text,
        reasoning_summary: (!r.reasoning_summary.is_empty()).then_some(r.reasoning_summary),
        tool_calls: r.tool_calls,
        timing: Timings::from_marks(&marks, completion),
        call_ms: Some(e2e),
        usage,
        cost_usd: usage.and_then(|u| prices.cost_usd(&model_for_price, None, &u)),
        attempts: vec![Attempt {
            deployment: meta.deployment.clone(),
            status,
            retry_after_ms: ratelimit.retry_after_ms,
            waited_ms: 0,
            request_id: request_id.clone(),
            error: error.as_ref().map(|e| e.to_string()),
            ms: Some(e2e),
        }],
        ratelimit,
        async_filter: None,
        request_id,
        region,
        error,
        notes,
        headers,
        events: r.events,
    }
}

/// The request as a scenario records it: chat form, the Responses body as sent, the
/// diagnostic headers of [`REQUEST_HEADER_ALLOWLIST`] only (credentials cannot pass).
pub fn recorded_request(
    meta: &RequestMeta,
    endpoint: &str,
    request_headers: &[(String, String)],
) -> RecordedRequest {
    RecordedRequest {
        deployment: meta.deployment.clone(),
        api: meta.api,
        api_version: meta.api_version.clone(),
        endpoint: Some(endpoint.to_string()),
        stream: meta.stream,
        retry: "none".into(),
        headers: request_headers
            .iter()
            .filter(|(k, _)| REQUEST_HEADER_ALLOWLIST.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect(),
        wire_api: meta.wire_api,
        wire_body: match meta.wire_api {
            WireApi::Responses => meta.body.clone(),
            WireApi::Chat => None,
        },
        body: meta.chat_form(),
    }
}
