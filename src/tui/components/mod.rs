//! Components: each keeps view state only, takes domain facts as props, answers keys with
//! [`Handled`](super::messages::Handled), implements [`Component`](super::component::Component)
//! when it is a screen or an overlay, and never does I/O.

pub mod bench;
pub mod call_detail;
pub mod call_panel;
pub mod chat;
pub mod compare;
pub mod compare_editor;
pub mod compare_eval;
pub mod deployments;
pub mod headroom;
pub mod help;
pub mod history;
pub mod load;
pub mod metrics;
pub mod probe;
pub mod profiles;
pub mod ptu;
pub mod replay;
pub mod status_bar;
pub mod traffic;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::theme::Theme;

/// A bordered block, highlighted when focused.
pub fn block<'a>(title: impl Into<Line<'a>>, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Plain)
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        })
        .title(title.into())
        .title_style(if focused { theme.accent } else { theme.title })
}

/// A one-line text gauge `▕████░░░░▏` that fits in `width` cells.
pub fn bar(ratio: f64, width: usize, style: Style, empty: Style) -> Vec<Span<'static>> {
    let w = width.max(1);
    let filled = ((ratio.clamp(0.0, 1.0) * w as f64).round() as usize).min(w);
    vec![
        Span::styled("█".repeat(filled), style),
        Span::styled("░".repeat(w - filled), empty),
    ]
}

/// Writes a line clipped to the area's first row.
pub fn put_line(buf: &mut Buffer, area: Rect, line: &Line<'_>) {
    if area.height > 0 {
        buf.set_line(area.x, area.y, line, area.width);
    }
}

/// `1 call`, `2 calls`: a count with its noun in the right number (`noun` is the singular).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Cuts a string to `max` display columns, with `…` when cut.
pub fn ellipsize(s: &str, max: usize) -> String {
    if Span::raw(s).width() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if Span::raw(format!("{out}{c}…")).width() > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_in_number() {
        assert_eq!(count(0, "call"), "0 calls");
        assert_eq!(count(1, "call"), "1 call");
        assert_eq!(count(2, "call"), "2 calls");
    }
}
