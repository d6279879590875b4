//! Headroom of one deployment (a panel of the deployments screen): the last
//! `x-ratelimit-remaining-*` this session saw from it, its ARM `rateLimits`, the region's
//! quota pool used / limit, how close the next call is to a 429, and which deployments draw
//! on the same pool. The figures come from [`crate::domain::headroom::compute`].

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::call_panel::compact;
use super::{bar, block, ellipsize};
use crate::domain::headroom::{DeploymentLimits, Headroom, Level};
use crate::tui::theme::Theme;

/// What the panel shows.
pub struct HeadroomProps<'a> {
    pub dep: &'a DeploymentLimits,
    pub headroom: &'a Headroom,
    /// This session's calls to the deployment (0: no headers seen yet).
    pub calls: usize,
}

fn level_text(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok: more than 25 % left",
        Level::Warn => "warn: 10–25 % left",
        Level::Near => "near: under 10 % left",
        Level::Exhausted => "429: nothing left",
    }
}

fn level_style(l: Level, theme: &Theme) -> Style {
    match l {
        Level::Ok => theme.ok,
        Level::Warn => theme.warn,
        Level::Near | Level::Exhausted => theme.error,
    }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The panel's lines (also used by tests).
pub fn lines(p: &HeadroomProps<'_>, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let h = p.headroom;
    let kv = |k: &str, v: String, style: Style| {
        Line::from(vec![
            Span::styled(format!("{k:<9}"), theme.muted),
            Span::styled(ellipsize(&v, width.saturating_sub(9)), style),
        ])
    };
    let gauge = |k: &str, pair: Option<(u64, u64)>| {
        let mut spans = vec![Span::styled(format!("{k:<9}"), theme.muted)];
        match pair {
            Some((r, l)) if l > 0 => {
                let left = r as f64 / l as f64;
                let text = format!(" {}/{}", compact(r), compact(l));
                let w = width.saturating_sub(9 + text.len()).clamp(3, 24);
                spans.extend(bar(left, w, theme.gauge(left), theme.muted));
                spans.push(Span::styled(text, theme.text));
            }
            _ => spans.push(Span::styled("— (no call yet)", theme.muted)),
        }
        Line::from(spans)
    };
    let limits = format!(
        "{} RPM · {} TPM · cap {}",
        p.dep.rpm.map_or("—".into(), compact),
        p.dep.tpm.map_or("—".into(), compact),
        p.dep.capacity
    );
    let mut out = vec![
        kv("ARM", limits, theme.text),
        gauge("requests", h.requests),
        gauge("tokens", h.tokens),
    ];
    let close = match h.left_ratio {
        Some(r) => format!("{:.0} % left · {}", r * 100.0, level_text(h.level)),
        None if p.calls == 0 => "unknown until a call to it".into(),
        None => "no rate-limit headers sent".into(),
    };
    out.push(kv("to 429", close, level_style(h.level, theme)));
    if let Some(u) = h.utilization_pct {
        out.push(kv("PTU util", format!("{u:.1} %"), theme.text));
    }
    match &h.pool {
        Some((name, used, limit)) => {
            let ratio = if *limit > 0.0 { used / limit } else { 0.0 };
            let text = format!(" {}/{}", num(*used), num(*limit));
            let w = width.saturating_sub(9 + text.len()).clamp(3, 24);
            out.push(kv("pool", name.clone(), theme.text));
            let mut spans = vec![Span::styled(format!("{:<9}", "used"), theme.muted)];
            spans.extend(bar(ratio, w, theme.gauge(1.0 - ratio), theme.muted));
            spans.push(Span::styled(text, theme.text));
            out.push(Line::from(spans));
            out.push(kv(
                "free",
                format!("{} units to grow by", num(h.pool_free.unwrap_or(0.0))),
                theme.text,
            ));
        }
        None => out.push(kv("pool", "no quota row for it".into(), theme.muted)),
    }
    let sharing = if h.sharing.is_empty() {
        "no other deployment".to_string()
    } else {
        h.sharing
            .iter()
            .map(|(n, c)| format!("{n} ({c})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push(kv("shared", sharing, theme.text));
    out
}

pub fn render(area: Rect, buf: &mut Buffer, theme: &Theme, p: &HeadroomProps<'_>) {
    let blk = block(format!(" Headroom · {} ", p.dep.name), false, theme);
    let inner = blk.inner(area);
    blk.render(area, buf);
    Paragraph::new(lines(p, inner.width as usize, theme))
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}
