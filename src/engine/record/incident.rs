//! `aoai replay FILE --export markdown`: a ticket-ready incident summary of a scenario (or an
//! imported HAR). The time range, the deployments, regions and endpoints involved, a per-call
//! table (status, TTFT, e2e, tokens, cost, request ids), every HTTP 429 with its cause and
//! retry-after, spillovers, failures, anomalies (the slowest calls, TTFT and token outliers,
//! streams cut short) and the prompt shape. Figures come from the same report as
//! `--report`; no prompt or answer text is written, so the summary can be pasted anywhere.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::Loaded;
use super::report::{CallSummary, Report, ReportBuilder};
use crate::domain::call::{ErrorKind, Outcome};
use crate::domain::cost::PriceTable;
use crate::domain::num::{opt_ms, plural};
use crate::domain::ratelimit::{ThrottleKind, classify_429};
use crate::domain::scenario::ScenarioCall;

/// The per-call table's longest length; the rest is counted (the file keeps every call).
pub const MAX_ROWS: usize = 200;

/// A call is an outlier when its figure is this many times the median of all calls.
const OUTLIER_FACTOR: f64 = 3.0;

/// Escapes a table cell: pipes, and line breaks as spaces.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn started(c: &ScenarioCall) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(c.started.trim_end_matches('Z')).ok()
}

fn ended(c: &ScenarioCall) -> Option<SystemTime> {
    let ms = c.record.call_ms.or(c.record.timing.e2e_ms).unwrap_or(0.0);
    Some(started(c)? + Duration::from_secs_f64(ms.max(0.0) / 1000.0))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[(v.len() - 1) / 2])
}

fn cause_of(kind: ThrottleKind) -> &'static str {
    match kind {
        ThrottleKind::Tokens => "token rate limit (TPM)",
        ThrottleKind::Requests => "request rate limit (RPM)",
        ThrottleKind::Utilization => "provisioned utilisation over 100 %",
        ThrottleKind::GatewayTokens => "API Management token limit",
        ThrottleKind::GatewayRequests => "API Management rate limit",
        ThrottleKind::Unknown => "unstated",
    }
}

fn count_by(items: impl Iterator<Item = String>) -> String {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    if m.is_empty() {
        return "—".into();
    }
    m.iter()
        .map(|(k, n)| format!("{} ({n})", cell(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn host(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_string(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_else(|| endpoint.to_string())
}

/// The summary of `loaded` (named `name` in the title).
pub fn render_markdown(name: &str, loaded: &Loaded, prices: &PriceTable) -> String {
    let mut b = ReportBuilder::new(prices);
    for c in &loaded.calls {
        b.add(CallSummary::from(c));
    }
    let report = b.finish();
    let mut out = String::new();
    let _ = writeln!(out, "# Incident summary: {}\n", cell(name));
    overview(&mut out, loaded, &report);
    calls_table(&mut out, loaded, &report);
    throttling(&mut out, loaded);
    spillover_and_failures(&mut out, loaded);
    anomalies(&mut out, loaded);
    prompt_shape(&mut out, &report);
    let _ = writeln!(
        out,
        "\n_Written by aoai-console {} from `{}`. No prompt or answer text is included; the file has it._",
        env!("CARGO_PKG_VERSION"),
        cell(name)
    );
    out
}

fn overview(out: &mut String, loaded: &Loaded, report: &Report) {
    let t = &report.total;
    let first = loaded.calls.iter().filter_map(started).min();
    let last = loaded.calls.iter().filter_map(ended).max();
    let range = match (first, last) {
        (Some(a), Some(b)) => format!(
            "{} → {} ({})",
            humantime::format_rfc3339_seconds(a),
            humantime::format_rfc3339_seconds(b),
            opt_ms(b.duration_since(a).ok().map(|d| d.as_secs_f64() * 1000.0))
        ),
        _ => "—".into(),
    };
    let spilled = loaded
        .calls
        .iter()
        .filter(|c| c.record.ratelimit.spilled_over)
        .count();
    let _ = writeln!(out, "- **Time range:** {range}");
    let _ = writeln!(
        out,
        "- **Calls:** {} — {} done, {} failed, {} throttled, {} cancelled · {} · {} · {}",
        t.calls,
        t.done,
        t.failed,
        t.throttled,
        t.cancelled,
        plural(t.http_429, "HTTP 429", "HTTP 429s"),
        plural(t.retries, "retry", "retries"),
        plural(spilled as u64, "spillover", "spillovers"),
    );
    // Per deployment: its calls and the model versions it answered with.
    let mut deployments: BTreeMap<&str, (usize, Vec<&str>)> = BTreeMap::new();
    for c in &loaded.calls {
        let e = deployments
            .entry(c.request.deployment.as_str())
            .or_default();
        e.0 += 1;
        if let Some(m) = c.record.model.as_deref()
            && !e.1.contains(&m)
        {
            e.1.push(m);
        }
    }
    let list: Vec<String> = deployments
        .iter()
        .map(|(d, (n, models))| {
            let models = if models.is_empty() {
                String::new()
            } else {
                format!(", model {}", cell(&models.join(", ")))
            };
            format!(
                "`{}` ({}{models})",
                cell(d),
                plural(*n as u64, "call", "calls")
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "- **Deployments:** {}",
        if list.is_empty() {
            "—".into()
        } else {
            list.join("; ")
        }
    );
    let _ = writeln!(
        out,
        "- **Regions:** {}",
        count_by(loaded.calls.iter().filter_map(|c| c.record.region.clone()))
    );
    let _ = writeln!(
        out,
        "- **Endpoints:** {}",
        count_by(
            loaded
                .calls
                .iter()
                .filter_map(|c| c.request.endpoint.as_deref().map(host))
        )
    );
    let proxied = loaded.calls.iter().filter(|c| c.proxied.is_some()).count();
    if proxied > 0 {
        let _ = writeln!(
            out,
            "- **Captured from the application:** {proxied} of {} calls (clients: {})",
            t.calls,
            count_by(
                loaded
                    .calls
                    .iter()
                    .filter_map(|c| c.proxied.as_ref().map(|p| p.client.clone()))
            )
        );
    }
    let _ = writeln!(
        out,
        "- **Tokens:** prompt {} (cached {}) · completion {} (reasoning {})",
        t.usage.prompt_tokens,
        t.usage.cached_tokens,
        t.usage.completion_tokens,
        t.usage.reasoning_tokens
    );
    let _ = writeln!(
        out,
        "- **Cost:** ${:.6}{}",
        t.cost_usd,
        super::report::unpriced_note(t)
    );
    let p = |x: &crate::domain::rank::Percentiles| {
        format!(
            "p50 {} · p95 {} · max {}",
            opt_ms(x.p50),
            opt_ms(x.p95),
            opt_ms(x.max)
        )
    };
    let _ = writeln!(
        out,
        "- **TTFT:** {} · **e2e:** {}\n",
        p(&t.ttft_ms),
        p(&t.e2e_ms)
    );
}

fn calls_table(out: &mut String, loaded: &Loaded, report: &Report) {
    let _ = writeln!(out, "## Calls\n");
    let _ = writeln!(
        out,
        "| # | started (UTC) | deployment | status | outcome | TTFT | e2e | prompt | completion | cost | request id | region |"
    );
    let _ = writeln!(
        out,
        "|---:|---|---|---:|---|---:|---:|---:|---:|---:|---|---|"
    );
    for (c, row) in loaded.calls.iter().zip(&report.calls).take(MAX_ROWS) {
        let r = &c.record;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.call,
            cell(&c.started),
            cell(&row.deployment),
            r.status.map_or("—".into(), |s| s.to_string()),
            format!("{:?}", r.outcome).to_lowercase(),
            opt_ms(row.ttft_ms),
            opt_ms(row.e2e_ms),
            row.usage.prompt_tokens,
            row.usage.completion_tokens,
            row.cost_usd.map_or("—".into(), |v| format!("${v:.6}")),
            r.request_id
                .as_deref()
                .map_or("—".into(), |s| format!("`{}`", cell(s))),
            r.region.as_deref().map_or("—".into(), cell),
        );
    }
    if loaded.calls.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n_{} more calls are not listed; the file has them all._",
            loaded.calls.len() - MAX_ROWS
        );
    }
    out.push('\n');
}

fn throttling(out: &mut String, loaded: &Loaded) {
    let mut rows = Vec::new();
    for (i, c) in loaded.calls.iter().enumerate() {
        let r = &c.record;
        let last = r.attempts.len().saturating_sub(1);
        for (k, a) in r.attempts.iter().enumerate() {
            if a.status != Some(429) {
                continue;
            }
            // The final attempt's cause is on the record's error; earlier ones in their text.
            let kind = match (&r.error, k == last) {
                (Some(e), true) => e.throttle.unwrap_or_else(|| classify_429(&e.message)),
                _ => classify_429(a.error.as_deref().unwrap_or("")),
            };
            let remaining = if k == last {
                format!(
                    "{} tokens / {} requests",
                    r.ratelimit
                        .remaining_tokens
                        .map_or("—".into(), |v| v.to_string()),
                    r.ratelimit
                        .remaining_requests
                        .map_or("—".into(), |v| v.to_string())
                )
            } else {
                "—".into()
            };
            rows.push(format!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                i + 1,
                k + 1,
                cell(if a.deployment.is_empty() {
                    &c.request.deployment
                } else {
                    &a.deployment
                }),
                cause_of(kind),
                opt_ms(a.retry_after_ms.map(|v| v as f64)),
                remaining,
                a.request_id
                    .as_deref()
                    .map_or("—".into(), |s| format!("`{}`", cell(s))),
            ));
        }
    }
    let _ = writeln!(out, "## Throttling (HTTP 429)\n");
    if rows.is_empty() {
        let _ = writeln!(out, "No call was throttled.\n");
        return;
    }
    let _ = writeln!(
        out,
        "| call | attempt | deployment | cause | retry-after | remaining | request id |"
    );
    let _ = writeln!(out, "|---:|---:|---|---|---:|---|---|");
    for r in rows {
        let _ = writeln!(out, "{r}");
    }
    out.push('\n');
}

fn spillover_and_failures(out: &mut String, loaded: &Loaded) {
    let spilled: Vec<String> = loaded
        .calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.record.ratelimit.spilled_over)
        .map(|(i, c)| {
            let from = c
                .record
                .headers
                .iter()
                .find(|(k, _)| k.starts_with("x-ms-spillover-from-"))
                .map(|(k, v)| format!(" ({}: {})", cell(k), cell(v)))
                .unwrap_or_default();
            format!(
                "- call {}: `{}` spilled over{from}",
                i + 1,
                cell(&c.request.deployment)
            )
        })
        .collect();
    if !spilled.is_empty() {
        let _ = writeln!(out, "## Spillover\n");
        for s in spilled {
            let _ = writeln!(out, "{s}");
        }
        out.push('\n');
    }
    let failed: Vec<String> = loaded
        .calls
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.record.outcome, Outcome::Failed | Outcome::Cancelled))
        .filter_map(|(i, c)| {
            let e = c.record.error.as_ref()?;
            Some(format!(
                "- call {} ({}): {}",
                i + 1,
                format!("{:?}", e.kind).to_lowercase(),
                cell(&e.to_string())
            ))
        })
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "## Failures\n");
        for f in failed {
            let _ = writeln!(out, "{f}");
        }
        out.push('\n');
    }
}

fn anomalies(out: &mut String, loaded: &Loaded) {
    let calls = &loaded.calls;
    let mut lines = Vec::new();
    // Answered calls only: a fast failure is no measure of how slow answers were.
    let e2e = |c: &ScenarioCall| {
        (c.record.outcome == Outcome::Done)
            .then_some(c.record.timing.e2e_ms)
            .flatten()
    };
    let mut by_e2e: Vec<(usize, f64)> = calls
        .iter()
        .enumerate()
        .filter_map(|(i, c)| e2e(c).map(|v| (i, v)))
        .collect();
    by_e2e.sort_by(|a, b| b.1.total_cmp(&a.1));
    let med_e2e = median(by_e2e.iter().map(|x| x.1).collect());
    if by_e2e.len() > 1 {
        let list: Vec<String> = by_e2e
            .iter()
            .take(3)
            .map(|(i, v)| {
                let times = med_e2e
                    .filter(|m| *m > 0.0)
                    .map_or(String::new(), |m| format!(", {:.1}× the median", v / m));
                format!("call {} {}{times}", i + 1, opt_ms(Some(*v)))
            })
            .collect();
        lines.push(format!(
            "- Slowest answered calls (e2e): {}",
            list.join("; ")
        ));
    }
    let mut outliers =
        |what: &str, f: &dyn Fn(&ScenarioCall) -> Option<f64>, fmt: &dyn Fn(f64) -> String| {
            let med = median(calls.iter().filter_map(f).collect());
            let Some(m) = med.filter(|m| *m > 0.0) else {
                return;
            };
            let hits: Vec<String> = calls
                .iter()
                .enumerate()
                .filter_map(|(i, c)| f(c).filter(|v| *v > m * OUTLIER_FACTOR).map(|v| (i, v)))
                .map(|(i, v)| format!("call {} {} ({:.1}×)", i + 1, fmt(v), v / m))
                .collect();
            if !hits.is_empty() {
                lines.push(format!(
                    "- {what} over {OUTLIER_FACTOR}× the median ({}): {}",
                    fmt(m),
                    hits.join("; ")
                ));
            }
        };
    let tokens = |v: f64| format!("{v:.0} tokens");
    outliers("TTFT", &|c| c.record.timing.ttft_ms, &|v| opt_ms(Some(v)));
    outliers(
        "Prompt tokens",
        &|c| c.record.usage.map(|u| u.prompt_tokens as f64),
        &tokens,
    );
    outliers(
        "Completion tokens",
        &|c| c.record.usage.map(|u| u.completion_tokens as f64),
        &tokens,
    );
    let cut: Vec<String> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.record
                .error
                .as_ref()
                .is_some_and(|e| e.kind == ErrorKind::Truncated)
        })
        .map(|(i, _)| format!("call {}", i + 1))
        .collect();
    if !cut.is_empty() {
        lines.push(format!("- Streams cut short: {}", cut.join(", ")));
    }
    let filtered = calls
        .iter()
        .filter(|c| c.record.finish_reason.as_deref() == Some("content_filter"))
        .count();
    if filtered > 0 {
        lines.push(format!(
            "- Stopped by the content filter: {}",
            plural(filtered as u64, "call", "calls")
        ));
    }
    let _ = writeln!(out, "## Anomalies\n");
    if lines.is_empty() {
        let _ = writeln!(out, "None found.\n");
        return;
    }
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    out.push('\n');
}

fn prompt_shape(out: &mut String, report: &Report) {
    let s = &report.total.prompt_shape;
    let whole = s.tokens.total().max(1) as f64;
    let _ = writeln!(out, "## Prompt shape\n");
    let _ = writeln!(out, "| part | tokens | share | input cost |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (name, tokens, usd) in [
        ("system / instructions", s.tokens.system, s.system_usd),
        ("user", s.tokens.user, s.user_usd),
        ("assistant history", s.tokens.assistant, s.assistant_usd),
        ("tools", s.tokens.tool, s.tool_usd),
        ("message framing", s.tokens.framing, s.framing_usd),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {tokens} | {:.0} % | ${usd:.6} |",
            tokens as f64 * 100.0 / whole
        );
    }
}
