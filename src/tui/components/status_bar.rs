//! The top status bar (screens, target, simulator badge) and the bottom hint bar, which is
//! built from the keymap of the focused context.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{ellipsize, put_line};
use crate::tui::keymap::Hint;
use crate::tui::theme::Theme;

/// One screen's tab in the top line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tab {
    /// Its function key, `F2`.
    pub key: &'static str,
    pub title: &'static str,
    pub active: bool,
}

pub struct StatusProps<'a> {
    /// The screens listed, in order, the current one active.
    pub tabs: &'a [Tab],
    pub deployment: &'a str,
    /// `embedded simulator` or the endpoint host.
    pub endpoint: &'a str,
    /// `user · subscription`, signed in with the az CLI (kept when the endpoint is cut).
    pub signed_in: Option<&'a str>,
    pub sim: bool,
    pub calls_in_flight: bool,
    /// `● REC file.jsonl (3)` while recording.
    pub recording: Option<String>,
    /// The short form, `● REC 3`, for narrow terminals.
    pub recording_short: Option<String>,
}

/// How much the tab labels say: `F2 Chat`, `Chat`, or only the current one named.
#[derive(Clone, Copy, PartialEq)]
enum Tabs {
    Long,
    Short,
    Keys,
}

fn tab_spans(p: &StatusProps<'_>, theme: &Theme, tabs: Tabs, brand: bool) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    if brand {
        out.push(Span::styled(" aoai ", theme.status_bar.patch(theme.accent)));
    }
    for s in p.tabs {
        let style = if s.active {
            theme.tab_active
        } else {
            theme.status_bar
        };
        let label = match tabs {
            Tabs::Long => format!(" {} {} ", s.key, s.title),
            Tabs::Short => format!(" {} ", s.title),
            Tabs::Keys if s.active => format!(" {} ", s.title),
            Tabs::Keys => format!(" {} ", s.key),
        };
        out.push(Span::styled(label, style));
    }
    out
}

/// The top line. Degrades, in order, to fit: short tab labels, the short recording badge,
/// only the current tab named, then the target is cut. The SIMULATOR / LIVE badge and the
/// recording badge are never cut.
pub fn render_status(area: Rect, buf: &mut Buffer, theme: &Theme, p: &StatusProps<'_>) {
    buf.set_style(area, theme.status_bar);
    let width = area.width as usize;
    let badge = if p.sim { " SIMULATOR " } else { " LIVE " };
    let badge_style = if p.sim {
        theme.badge_sim
    } else {
        theme.badge_live
    };
    let busy = if p.calls_in_flight { "● " } else { "" };
    let who = p.signed_in.map_or(String::new(), |w| format!(" · {w}"));
    let who_w = Span::raw(&who).width();
    let target_full = format!("{busy}{} @ {}{who}", p.deployment, p.endpoint);
    let dep = format!("{busy}{}", p.deployment);
    let dep_w = Span::raw(&dep).width();
    let rec_style = theme.status_bar.patch(theme.error);
    let rec_long = p
        .recording
        .as_deref()
        .map(|r| format!("{} ", ellipsize(r, (width / 3).max(8))));
    let rec_short = p.recording_short.as_deref().map(|r| format!("{r} "));
    let full_w = Span::raw(&target_full).width();
    // In order of preference: (tabs, brand, recording badge, target width wanted).
    // Signed in, who and where outrank the endpoint host and the tab names.
    let tiers = [
        (Tabs::Long, true, &rec_long, full_w),
        (Tabs::Short, true, &rec_long, full_w),
        (Tabs::Short, false, &rec_long, full_w),
        (Tabs::Short, false, &rec_short, full_w),
        (Tabs::Short, false, &rec_short, dep_w + who_w),
        (Tabs::Keys, false, &rec_short, full_w),
        (Tabs::Keys, false, &rec_short, dep_w + who_w),
        (Tabs::Keys, false, &rec_short, dep_w),
    ];
    let fixed = |tabs: &[Span<'_>], rec: &Option<String>| {
        tabs.iter().map(Span::width).sum::<usize>()
            + rec.as_deref().map_or(0, |r| Span::raw(r).width())
            + badge.len()
            + 2
    };
    let chosen = tiers.iter().find_map(|(tabs, brand, rec, want)| {
        let spans = tab_spans(p, theme, *tabs, *brand);
        let used = fixed(&spans, rec);
        (used + want <= width).then(|| (spans, (*rec).clone(), used))
    });
    let (mut left, rec, used) = chosen.unwrap_or_else(|| {
        let spans = tab_spans(p, theme, Tabs::Keys, false);
        let used = fixed(&spans, &rec_short);
        (spans, rec_short.clone(), used)
    });
    // The deployment stays whole while it fits; the endpoint is what gets cut.
    let room = width.saturating_sub(used);
    let target = if Span::raw(&target_full).width() <= room {
        target_full
    } else if who_w > 0 && room >= dep_w + who_w + 8 {
        let cut = room.saturating_sub(dep_w + who_w + 3);
        format!("{dep} @ {}{who}", ellipsize(p.endpoint, cut))
    } else if who_w > 0 && room > dep_w + who_w {
        format!("{dep}{who}")
    } else if room >= dep_w + 5 {
        format!(
            "{dep} @ {}",
            ellipsize(p.endpoint, room.saturating_sub(dep_w + 3))
        )
    } else {
        ellipsize(&dep, room)
    };
    let pad = width.saturating_sub(used + Span::raw(&target).width()) + 1;
    left.push(Span::styled(" ".repeat(pad), theme.status_bar));
    left.push(Span::styled(target, theme.status_bar));
    left.push(Span::styled(" ", theme.status_bar));
    if let Some(r) = rec {
        left.push(Span::styled(r, rec_style));
    }
    left.push(Span::styled(badge, badge_style));
    // Too narrow even for that: the badge stays at the right edge.
    let total: usize = left.iter().map(Span::width).sum();
    if total > width {
        let bw = badge.len() as u16;
        put_line(buf, area, &Line::from(left));
        if area.width >= bw {
            let x = area.x + area.width - bw;
            buf.set_line(x, area.y, &Line::styled(badge, badge_style), bw);
        }
        return;
    }
    put_line(buf, area, &Line::from(left));
}

/// Bottom line: a transient message if any, else the hints of the focused context.
pub fn render_hints(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    hints: &[Hint],
    message: Option<&str>,
) {
    if let Some(m) = message {
        let line = Line::from(Span::styled(
            format!(" {}", ellipsize(m, area.width.saturating_sub(1) as usize)),
            theme.warn,
        ));
        put_line(buf, area, &line);
        return;
    }
    let mut spans = Vec::new();
    let mut used = 0usize;
    for h in hints {
        let key = format!(" {} ", h.key);
        let text = format!(" {} ", h.text);
        let w = Span::raw(&key).width() + Span::raw(&text).width();
        if used + w > area.width as usize {
            break;
        }
        used += w;
        spans.push(Span::styled(key, theme.hint_key));
        spans.push(Span::styled(text, theme.hint_text));
    }
    put_line(buf, area, &Line::from(spans));
}
