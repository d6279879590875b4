//! The live call panel: phase, timings, tokens, cost, rate-limit gauges, retry-after
//! countdown, attempts, request id, region, status and error of the latest call.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{bar, block, ellipsize};
use crate::domain::call::{Outcome, WireApi};
use crate::domain::call_text::reset_line;
use crate::domain::doctor;
use crate::domain::num::{fmt_ms, opt_ms};
use crate::tui::session::{LiveCall, Phase};
use crate::tui::theme::Theme;

/// `450000` → `450k`, `1200000` → `1.2M`.
pub fn compact(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1}M", n as f64 / 1e6)
    } else if n >= 10_000 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn dur(d: Duration) -> String {
    fmt_ms(d.as_secs_f64() * 1000.0)
}

pub fn phase_style(phase: Phase, theme: &Theme) -> Style {
    match phase {
        Phase::Connecting | Phase::Waiting | Phase::Streaming => theme.accent,
        Phase::Retrying { .. } => theme.warn,
        Phase::Ended(Outcome::Done) => theme.ok,
        Phase::Ended(Outcome::Throttled) => theme.warn,
        Phase::Ended(Outcome::Failed) => theme.error,
        Phase::Ended(Outcome::Cancelled) => theme.muted,
    }
}

fn phase_icon(phase: Phase) -> &'static str {
    match phase {
        Phase::Connecting => "…",
        Phase::Waiting => "◌",
        Phase::Streaming => "●",
        Phase::Retrying { .. } => "↻",
        Phase::Ended(Outcome::Done) => "✓",
        Phase::Ended(Outcome::Throttled) => "⊘",
        Phase::Ended(Outcome::Failed) => "✗",
        Phase::Ended(Outcome::Cancelled) => "■",
    }
}

/// How a finished answer ended, when `✓ done` would hide it (`finish_reason` other than
/// `stop`, or no text at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `length`: cut at the output budget.
    Cut,
    /// `length` with no text: every output token went to reasoning.
    AllReasoning { reasoning: u64, completion: u64 },
    /// `content_filter`: the output filter stopped it.
    Filtered,
    /// `tool_calls` / `function_call`: the model asks for tools.
    ToolCalls,
    /// `stop` (or none) with an empty answer.
    Empty,
}

impl Ending {
    /// Short form for tables (History).
    pub fn short(self) -> &'static str {
        match self {
            Ending::Cut => "cut",
            Ending::AllReasoning { .. } => "no answer",
            Ending::Filtered => "filtered",
            Ending::ToolCalls => "tools",
            Ending::Empty => "empty",
        }
    }

    /// The phrase in the phase line, `… in 2.8 s` follows.
    fn phrase(self) -> String {
        match self {
            Ending::Cut => "✂ cut at max tokens".into(),
            Ending::AllReasoning {
                reasoning,
                completion,
            } => {
                format!("⚠ no answer: {reasoning} of {completion} output tokens spent on reasoning")
            }
            Ending::Filtered => "⚠ stopped by the content filter".into(),
            Ending::ToolCalls => "⚙ asks for tool calls".into(),
            Ending::Empty => "✓ done, empty answer".into(),
        }
    }

    /// What to do about it, for the call panel.
    pub fn advice(self) -> &'static str {
        match self {
            Ending::Cut => "cut at max tokens: raise max tokens",
            Ending::AllReasoning { .. } => "all on reasoning: raise max tokens",
            Ending::Filtered => "output filter stopped the answer",
            Ending::ToolCalls => "the model asks to call tools",
            Ending::Empty => "empty answer",
        }
    }
}

/// The ending of a call that finished with HTTP success, if worth saying.
pub fn ending(c: &LiveCall) -> Option<Ending> {
    if c.phase != Phase::Ended(Outcome::Done) {
        return None;
    }
    let r = c.record.as_ref()?;
    let empty = c.answer.text().trim().is_empty();
    match r.finish_reason.as_deref() {
        Some("length") => match r.usage {
            Some(u) if empty && u.reasoning_tokens > 0 => Some(Ending::AllReasoning {
                reasoning: u.reasoning_tokens,
                completion: u.completion_tokens,
            }),
            _ => Some(Ending::Cut),
        },
        Some("content_filter") => Some(Ending::Filtered),
        Some("tool_calls" | "function_call") => Some(Ending::ToolCalls),
        _ if empty => Some(Ending::Empty),
        _ => None,
    }
}

/// The style of a call's phase line: a done call that was cut or filtered warns.
pub fn call_style(c: &LiveCall, theme: &Theme) -> Style {
    match ending(c) {
        Some(Ending::Cut | Ending::AllReasoning { .. } | Ending::Filtered) => theme.warn,
        Some(Ending::ToolCalls | Ending::Empty) | None => phase_style(c.phase, theme),
    }
}

/// The outcome word for tables: `done`, `cut`, `filtered`, `cancelled`, …
pub fn outcome_label(c: &LiveCall) -> &'static str {
    ending(c).map_or_else(|| c.phase.label(), Ending::short)
}

/// The phase line with its ticking timer.
pub fn phase_text(c: &LiveCall, now: Duration) -> String {
    let icon = phase_icon(c.phase);
    match c.phase {
        Phase::Connecting => format!("{icon} connecting {}", dur(c.elapsed(now))),
        Phase::Waiting => format!("{icon} waiting for first token {}", dur(c.waiting_for(now))),
        Phase::Streaming => format!("{icon} streaming {}", dur(c.elapsed(now))),
        Phase::Retrying { .. } => format!("{icon} retrying (attempt {})", c.attempt + 1),
        Phase::Ended(_) => match ending(c) {
            Some(e) => format!("{} in {}", e.phrase(), dur(c.elapsed(now))),
            None => format!("{icon} {} in {}", c.phase.label(), dur(c.elapsed(now))),
        },
    }
}

fn gauge_line(
    label: &str,
    remaining: Option<u64>,
    limit: Option<u64>,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("{label:<9}"), theme.muted)];
    match (remaining, limit) {
        (Some(r), Some(l)) if l > 0 => {
            let left = r as f64 / l as f64;
            let text = format!(" {}/{}", compact(r), compact(l));
            let w = width.saturating_sub(9 + text.len()).clamp(3, 20);
            spans.extend(bar(left, w, theme.gauge(left), theme.muted));
            spans.push(Span::styled(text, theme.text));
        }
        (Some(r), None) => spans.push(Span::styled(format!("{} left", compact(r)), theme.text)),
        _ => spans.push(Span::styled("—", theme.muted)),
    }
    Line::from(spans)
}

/// The panel's lines for one call.
pub fn lines(c: &LiveCall, now: Duration, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let kv = |k: &str, v: String, style: Style| {
        Line::from(vec![
            Span::styled(format!("{k:<9}"), theme.muted),
            Span::styled(v, style),
        ])
    };
    let rec = c.record.as_ref();
    let mut out = vec![
        Line::from(Span::styled(
            ellipsize(&phase_text(c, now), width),
            call_style(c, theme),
        )),
        kv(
            "target",
            format!("{} · {}", c.deployment, c.api.as_str()),
            theme.text,
        ),
    ];
    // Only a Responses call spends a row on its wire API (rows are scarce at 80×24).
    if c.wire_api == WireApi::Responses {
        out.push(kv("wire", "responses".into(), theme.text));
    }
    let status = c.status.map_or("—".to_string(), |s| s.to_string());
    let status_style = match c.status {
        Some(s) if (200..300).contains(&s) => theme.ok,
        Some(429) => theme.warn,
        Some(_) => theme.error,
        None => theme.muted,
    };
    out.push(kv("status", status, status_style));
    out.push(kv(
        "region",
        c.region.clone().unwrap_or_else(|| "—".into()),
        theme.text,
    ));
    out.push(kv("TTFB", opt_ms(c.ttfb_ms), theme.text));
    let ttft = match (c.ttft_ms, c.phase) {
        (Some(v), _) => fmt_ms(v),
        (None, Phase::Waiting | Phase::Connecting) => format!("{}…", dur(c.waiting_for(now))),
        (None, _) => "—".into(),
    };
    out.push(kv("TTFT", ttft, theme.text));
    // A reasoning summary streams before the answer and is timed apart (never TTFT).
    if let Some(v) = rec.and_then(|r| r.timing.first_summary_ms) {
        out.push(kv("summary", fmt_ms(v), theme.muted));
    }
    let e2e = match rec.and_then(|r| r.timing.e2e_ms) {
        Some(v) => fmt_ms(v),
        None if c.phase.in_flight() => format!("{}…", dur(c.elapsed(now))),
        None => "—".into(),
    };
    out.push(kv("e2e", e2e, theme.text));
    let tps = c
        .tokens_per_s(now)
        .map_or("—".into(), |v| format!("{v:.1}"));
    out.push(kv("tok/s", tps, theme.accent));
    // How the answer ended (only once known: rows are scarce at 80×24).
    let finish = match (rec.and_then(|r| r.finish_reason.as_deref()), ending(c)) {
        (Some(f), Some(e)) => Some((format!("{f} · {}", e.advice()), theme.warn)),
        (None, Some(e)) => Some((e.advice().to_string(), theme.warn)),
        (Some(f), None) => Some((f.to_string(), theme.text)),
        (None, None) => None,
    };
    if let Some((v, style)) = finish {
        out.push(kv("finish", v, style));
    }
    match rec.and_then(|r| r.usage) {
        Some(u) => {
            out.push(kv(
                "prompt",
                format!("{} (cached {})", u.prompt_tokens, u.cached_tokens),
                theme.text,
            ));
            out.push(kv(
                "output",
                format!("{} (reasoning {})", u.completion_tokens, u.reasoning_tokens),
                theme.text,
            ));
        }
        None => {
            let live = if c.deltas > 0 {
                format!("~{}", super::count(c.deltas as usize, "chunk"))
            } else {
                "—".into()
            };
            out.push(kv("prompt", "—".into(), theme.muted));
            out.push(kv("output", live, theme.muted));
        }
    }
    let cost = match (rec, rec.and_then(|r| r.cost_usd)) {
        (_, Some(c)) => format!("${c:.6}"),
        (Some(r), None) if r.usage.is_some() => "unpriced model".into(),
        _ => "—".into(),
    };
    // Provisioned (PTU) deployments are billed per PTU-hour: utilisation instead of a price.
    match c.model.as_ref().filter(|m| m.is_provisioned()) {
        Some(_) => out.push(kv(
            "PTU util",
            c.ratelimit
                .utilization_pct
                .map_or("— (PTU, no token price)".into(), |u| {
                    format!("{u:.1} % (PTU)")
                }),
            theme.text,
        )),
        None => out.push(kv("cost", cost, theme.text)),
    }
    let rl = &c.ratelimit;
    out.push(gauge_line(
        "requests",
        rl.remaining_requests,
        rl.limit_requests,
        width,
        theme,
    ));
    out.push(gauge_line(
        "tokens",
        rl.remaining_tokens,
        rl.limit_tokens,
        width,
        theme,
    ));
    // When the windows reset: only worth a row when the budget ran low or the call was
    // throttled (rows are scarce at 80×24).
    let low = |r: Option<f64>| r.is_some_and(|r| r < 0.1);
    let pressed = c.phase == Phase::Ended(Outcome::Throttled)
        || low(rl.requests_left_ratio())
        || low(rl.tokens_left_ratio());
    if pressed && let Some(line) = reset_line(rl) {
        // Without the window lengths: one row at 32 columns.
        let v = line.trim_start_matches("resets ");
        let v = v.split(" (").next().unwrap_or(v).to_string();
        out.push(kv("resets", v, theme.warn));
    }
    if let Some(g) = crate::domain::call_text::gateway_line(rl) {
        let v = g.trim_start_matches("gateway ").to_string();
        out.push(kv("gateway", v, theme.text));
    }
    if rl.spilled_over {
        out.push(kv(
            "spilled",
            "yes, by the spillover deployment".into(),
            theme.warn,
        ));
    }
    if let Some(f) = rec.and_then(|r| r.async_filter.as_ref()) {
        let style = if f.passed() { theme.ok } else { theme.warn };
        out.push(kv("filter", f.summary(), style));
    }
    // A live countdown while one runs; afterwards what happened, never a stale "retry in".
    let retried = rec.is_some_and(|r| r.attempts.len() > 1);
    let (label, value, style) = match (c.retry_countdown(now), rl.retry_after_ms) {
        (Some(left), _) => ("retry in", format!("{} left", dur(left)), theme.warn),
        (None, Some(ms)) if retried => (
            "retried",
            format!("after {}", fmt_ms(ms as f64)),
            theme.muted,
        ),
        (None, Some(ms)) => (
            "retry",
            format!("now (asked {})", fmt_ms(ms as f64)),
            theme.muted,
        ),
        // Nothing to say: the row is left out (rows are scarce at 80×24).
        (None, None) => ("", String::new(), theme.muted),
    };
    if !label.is_empty() {
        out.push(kv(label, value, style));
    }
    let attempts = match rec.filter(|r| !r.attempts.is_empty()) {
        Some(r) => {
            let list: Vec<String> = r
                .attempts
                .iter()
                .map(|a| a.status.map_or("—".into(), |s| s.to_string()))
                .collect();
            format!("{} [{}]", r.attempts.len(), list.join(", "))
        }
        None => c.attempt.max(1).to_string(),
    };
    out.push(kv("attempts", attempts, theme.text));
    // The request id whole (support asks for it): wrapped under its label when long.
    match c.request_id.as_deref() {
        None => out.push(kv("req id", "—".into(), theme.text)),
        Some(id) => {
            let w = width.saturating_sub(9).max(8);
            let chars: Vec<char> = id.chars().collect();
            for (i, part) in chars.chunks(w).enumerate() {
                let label = if i == 0 { "req id" } else { "" };
                out.push(kv(label, part.iter().collect(), theme.text));
            }
        }
    }
    // A cancel is the user's doing, not an error worth a red line.
    if let Some(e) = rec
        .and_then(|r| r.error.as_ref())
        .filter(|_| c.phase != Phase::Ended(Outcome::Cancelled))
    {
        out.push(Line::from(Span::styled(format!("error: {e}"), theme.error)));
        if doctor::suggests_doctor(e) {
            out.push(Line::styled(
                format!("hint: {}", doctor::DOCTOR_HINT),
                theme.muted,
            ));
        }
    }
    out
}

pub fn render(area: Rect, buf: &mut Buffer, theme: &Theme, call: Option<&LiveCall>, now: Duration) {
    let title = match call {
        Some(c) => format!(" Call #{} ", c.id),
        None => " Call ".to_string(),
    };
    let blk = block(title, false, theme);
    let inner = blk.inner(area);
    blk.render(area, buf);
    let body = match call {
        Some(c) => lines(c, now, inner.width as usize, theme),
        None => vec![
            Line::styled("No call yet.", theme.muted),
            Line::default(),
            Line::styled("Type a prompt and press Enter.", theme.muted),
        ],
    };
    Paragraph::new(body)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}
