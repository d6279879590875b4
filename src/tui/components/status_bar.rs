//! The top status bar (screens, target, simulator badge) and the bottom hint bar, which is
//! built from the keymap of the focused context.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{ellipsize, put_line};
use crate::tui::keymap::Hint;
use crate::tui::theme::Theme;

/// The screens the status bar lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Chat,
    History,
    Deployments,
    /// Only listed when a scenario is open (`aoai replay FILE`).
    Replay,
    /// Only listed once a variant set is open (F7, `aoai compare FILE --tui`).
    Compare,
    /// Load test (F5); listed while it is the current screen.
    Bench,
}

impl Screen {
    pub const ALL: [Screen; 6] = [
        Screen::Chat,
        Screen::History,
        Screen::Deployments,
        Screen::Replay,
        Screen::Compare,
        Screen::Bench,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Chat => "Chat",
            Screen::History => "History",
            Screen::Deployments => "Deployments",
            Screen::Replay => "Replay",
            Screen::Compare => "Compare",
            Screen::Bench => "Bench",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Screen::Chat => "F2",
            Screen::History => "F3",
            Screen::Deployments => "F4",
            Screen::Replay => "F9",
            Screen::Compare => "F7",
            Screen::Bench => "F5",
        }
    }
}

pub struct StatusProps<'a> {
    pub screen: Screen,
    pub deployment: &'a str,
    /// `embedded simulator` or the endpoint host.
    pub endpoint: &'a str,
    pub sim: bool,
    pub calls_in_flight: bool,
    /// A scenario is open: list the Replay screen.
    pub replay: bool,
    /// `● REC file.jsonl (3)` while recording.
    pub recording: Option<String>,
    /// A variant set is open: list the Compare screen.
    pub compare: bool,
}

pub fn render_status(area: Rect, buf: &mut Buffer, theme: &Theme, p: &StatusProps<'_>) {
    buf.set_style(area, theme.status_bar);
    let mut left: Vec<Span<'static>> =
        vec![Span::styled(" aoai ", theme.status_bar.patch(theme.accent))];
    for s in Screen::ALL {
        if s == Screen::Replay && !p.replay {
            continue;
        }
        if s == Screen::Compare && !p.compare {
            continue;
        }
        if s == Screen::Bench && p.screen != Screen::Bench {
            continue;
        }
        let style = if s == p.screen {
            theme.tab_active
        } else {
            theme.status_bar
        };
        // The Replay tab needs the room of the long labels.
        let extra = usize::from(p.replay) + usize::from(p.compare);
        let label =
            if area.width >= 70 && (extra == 0 || area.width >= 100 + 12 * (extra as u16 - 1)) {
                format!(" {} {} ", s.key(), s.title())
            } else {
                format!(" {} ", s.title())
            };
        left.push(Span::styled(label, style));
    }
    let badge = if p.sim { " SIMULATOR " } else { " LIVE " };
    let badge_style = if p.sim {
        theme.badge_sim
    } else {
        theme.badge_live
    };
    let rec = p.recording.as_deref().map(|r| {
        let max = (area.width as usize / 3).max(8);
        Span::styled(
            format!("{} ", ellipsize(r, max)),
            theme.status_bar.patch(theme.error),
        )
    });
    let used: usize =
        left.iter().map(Span::width).sum::<usize>() + rec.as_ref().map_or(0, Span::width);
    let room = (area.width as usize).saturating_sub(used + badge.len() + 2);
    let busy = if p.calls_in_flight { "● " } else { "" };
    let target = ellipsize(&format!("{busy}{} @ {}", p.deployment, p.endpoint), room);
    let pad =
        (area.width as usize).saturating_sub(used + Span::raw(&target).width() + badge.len() + 1);
    left.push(Span::styled(" ".repeat(pad), theme.status_bar));
    left.push(Span::styled(target, theme.status_bar));
    left.push(Span::styled(" ", theme.status_bar));
    left.extend(rec);
    left.push(Span::styled(badge, badge_style));
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
