//! `aoai replay FILE --resend`: sends each recorded request again (to the same or another
//! deployment / endpoint) and compares: tokens, TTFT, e2e, cost, and a word-level diff of the
//! answers.

use std::time::SystemTime;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{Recorder, scenario_call};
use crate::azure::{CallSpec, ChatClient};
use crate::domain::call::{CallRecord, Outcome, WireApi};
use crate::domain::diff::{self, DiffSpan};
use crate::domain::retry::RetryPolicy;
use crate::domain::scenario::ScenarioCall;

#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub deployment: String,
    pub wire_api: WireApi,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub cached_tokens: Option<u64>,
    pub ttft_ms: Option<f64>,
    pub e2e_ms: Option<f64>,
    pub cost_usd: Option<f64>,
    pub error: Option<String>,
}

impl Side {
    fn of(r: &CallRecord) -> Side {
        Side {
            deployment: r.deployment.clone(),
            wire_api: r.wire_api,
            outcome: r.outcome,
            status: r.status,
            prompt_tokens: r.usage.map(|u| u.prompt_tokens),
            completion_tokens: r.usage.map(|u| u.completion_tokens),
            cached_tokens: r.usage.map(|u| u.cached_tokens),
            ttft_ms: r.timing.ttft_ms,
            e2e_ms: r.timing.e2e_ms,
            cost_usd: r.cost_usd,
            error: r.error.as_ref().map(|e| e.to_string()),
        }
    }
}

/// One recorded call against its re-run.
#[derive(Debug, Clone, Serialize)]
pub struct ResendRow {
    /// 1-based position in the scenario.
    pub call: usize,
    pub recorded: Side,
    pub now: Side,
    pub delta_completion_tokens: Option<i64>,
    pub delta_prompt_tokens: Option<i64>,
    pub delta_ttft_ms: Option<f64>,
    pub delta_e2e_ms: Option<f64>,
    pub delta_cost_usd: Option<f64>,
    /// Share of words the answers have in common (1.0 = same text).
    pub similarity: f64,
    pub diff: Vec<DiffSpan>,
}

fn delta_u(a: Option<u64>, b: Option<u64>) -> Option<i64> {
    Some(b? as i64 - a? as i64)
}

fn delta_f(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(b? - a?)
}

pub fn compare(call: usize, recorded: &CallRecord, now: &CallRecord) -> ResendRow {
    let (a, b) = (Side::of(recorded), Side::of(now));
    ResendRow {
        call,
        delta_completion_tokens: delta_u(a.completion_tokens, b.completion_tokens),
        delta_prompt_tokens: delta_u(a.prompt_tokens, b.prompt_tokens),
        delta_ttft_ms: delta_f(a.ttft_ms, b.ttft_ms),
        delta_e2e_ms: delta_f(a.e2e_ms, b.e2e_ms),
        delta_cost_usd: delta_f(a.cost_usd, b.cost_usd),
        similarity: diff::similarity(&recorded.text, &now.text),
        diff: diff::word_diff(&recorded.text, &now.text),
        recorded: a,
        now: b,
    }
}

/// The request of a recorded call, ready to send again: to `deployment` and over `wire_api`
/// when given (chat ↔ responses from the same conversation), else as recorded.
pub fn spec_for(c: &ScenarioCall, deployment: Option<&str>, wire_api: Option<WireApi>) -> CallSpec {
    let mut spec = CallSpec::new(
        deployment.unwrap_or(&c.request.deployment),
        c.request.body.clone(),
    );
    spec.wire_api = Some(wire_api.unwrap_or(c.request.wire_api));
    // A recorded Responses call's reasoning summary request is asked for again.
    spec.reasoning_summary = c
        .request
        .wire_body
        .as_ref()
        .and_then(|b| b.pointer("/reasoning/summary"))
        .and_then(|s| s.as_str())
        .map(String::from);
    spec.stream = c.request.stream;
    spec.retry = c.request.retry.parse().unwrap_or(RetryPolicy::None);
    spec.extra_headers = c.request.headers.clone();
    spec.capture_events = true;
    spec
}

/// Re-sends every call in order (to `deployment` and over `wire_api` when given); `on_row`
/// sees each comparison as soon as it is made.
pub async fn resend(
    client: &ChatClient,
    calls: &[ScenarioCall],
    deployment: Option<&str>,
    wire_api: Option<WireApi>,
    mut recorder: Option<&mut Recorder>,
    cancel: &CancellationToken,
    mut on_row: impl FnMut(&ResendRow),
) -> Result<Vec<ResendRow>, super::RecordError> {
    let mut rows = Vec::with_capacity(calls.len());
    for (i, c) in calls.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        let spec = spec_for(c, deployment, wire_api);
        let started = SystemTime::now();
        let rec = client.run(i as u64 + 1, &spec, cancel, &mut |_| {}).await;
        crate::engine::telemetry::call_finished(client.config(), &spec, &rec, started);
        let row = compare(i + 1, &c.record, &rec);
        on_row(&row);
        if let Some(r) = recorder.as_deref_mut() {
            r.append(scenario_call(client.config(), &spec, rec, started))?;
        }
        rows.push(row);
    }
    Ok(rows)
}
