//! A call's full view — figures, prompt, answer, every response header — as History and
//! the Traffic screen show it on Enter. `preface` lines come first (the Traffic screen
//! names the client and the request line there).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::block;
use crate::domain::call_text::metrics_block;
use crate::tui::markdown::plain;
use crate::tui::session::LiveCall;
use crate::tui::theme::Theme;

#[allow(clippy::too_many_arguments)]
pub fn render(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    c: &LiveCall,
    sim: bool,
    scroll: u16,
    preface: Vec<Line<'static>>,
) {
    let blk = block(
        format!(" Call #{} · {} ", c.id, c.phase.label()),
        true,
        theme,
    );
    // Every line is wrapped here so that a wrapped line keeps its indent.
    let inner_w = area.width.saturating_sub(2);
    let indented = |text: &str, style: ratatui::style::Style, first: Span<'static>| {
        let rest = Span::raw(" ".repeat(first.width() + 2));
        plain(text, inner_w, style, first, rest)
    };
    let mut lines: Vec<Line<'static>> = preface;
    match &c.record {
        Some(r) => {
            for l in metrics_block(r, sim).lines() {
                let body = l.trim_start();
                let lead = " ".repeat(l.len() - body.len());
                lines.extend(indented(body, theme.text, Span::raw(lead)));
            }
        }
        None => lines.push(Line::styled(
            "in flight — the full record appears when the call ends",
            theme.muted,
        )),
    }
    lines.push(Line::default());
    // A heading and its text, indented under it.
    let section = |lines: &mut Vec<Line<'static>>, title: &'static str, head, text: &str, style| {
        lines.push(Line::styled(title, head));
        for l in text.lines() {
            lines.extend(plain(l, inner_w, style, Span::raw("  "), Span::raw("  ")));
        }
        lines.push(Line::default());
    };
    section(&mut lines, "Prompt", theme.user, &c.prompt, theme.text);
    if !c.summary.is_empty() {
        let muted = theme.muted;
        section(&mut lines, "Reasoning summary", muted, &c.summary, muted);
    }
    lines.push(Line::styled("Answer", theme.assistant));
    // Markdown as in the chat, indented under its heading.
    for l in crate::tui::markdown::render(c.answer.text(), inner_w.saturating_sub(2), theme) {
        let mut spans = vec![Span::raw("  ")];
        spans.extend(l.spans);
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    lines.push(Line::styled("Response headers", theme.title));
    match c.record.as_ref().map(|r| &r.headers) {
        Some(h) if !h.is_empty() => {
            for (k, v) in h {
                let first = Span::styled(format!("  {k}: "), theme.muted);
                lines.extend(plain(v, inner_w, theme.text, first, Span::raw("      ")));
            }
        }
        _ => lines.push(Line::styled("  —", theme.muted)),
    }
    Paragraph::new(lines)
        .block(blk)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .render(area, buf);
}
