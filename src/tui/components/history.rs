//! This session's calls as a table; Enter shows a call's full record and all response
//! headers; `c` / `y` copy the request id / the answer (OSC 52).

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget};

use super::block;
use super::call_panel::{call_style, outcome_label};
use crate::tui::component::{Component, Props};
use crate::tui::keymap::{self, Binding, Hint, HistoryAction};
use crate::tui::messages::{Command, Handled, TerminalCommand};
use crate::tui::session::{LiveCall, Session};
use crate::tui::theme::Theme;

#[derive(Debug, Default)]
pub struct History {
    table: TableState,
    detail: bool,
    scroll: u16,
}

impl History {
    pub fn keymap(&self) -> &'static [Binding<HistoryAction>] {
        if self.detail {
            keymap::HISTORY_DETAIL
        } else {
            keymap::HISTORY_TABLE
        }
    }

    pub fn selected<'s>(&self, session: &'s Session) -> Option<&'s LiveCall> {
        let n = session.calls.len();
        // Rows are newest first.
        let i = self.table.selected().unwrap_or(0);
        (i < n).then(|| &session.calls[n - 1 - i])
    }

    pub fn handle_key(&mut self, key: KeyEvent, session: &Session) -> Handled {
        let Some(action) = keymap::lookup(self.keymap(), &key) else {
            return Handled::Ignored;
        };
        let n = session.calls.len();
        let sel = self.table.selected().unwrap_or(0);
        match action {
            HistoryAction::Up if self.detail => self.scroll = self.scroll.saturating_sub(1),
            HistoryAction::Down if self.detail => self.scroll = self.scroll.saturating_add(1),
            HistoryAction::PageUp => self.scroll = self.scroll.saturating_sub(10),
            HistoryAction::PageDown => self.scroll = self.scroll.saturating_add(10),
            HistoryAction::Up => self.table.select(Some(sel.saturating_sub(1))),
            HistoryAction::Down => self.table.select(Some((sel + 1).min(n.saturating_sub(1)))),
            HistoryAction::Top if self.detail => self.scroll = 0,
            HistoryAction::Top => self.table.select(Some(0)),
            HistoryAction::Bottom => self.table.select(Some(n.saturating_sub(1))),
            HistoryAction::Open if n > 0 => {
                self.detail = true;
                self.scroll = 0;
            }
            HistoryAction::Open => {}
            HistoryAction::Back => self.detail = false,
            HistoryAction::CopyRequestId => {
                return match self.selected(session).and_then(|c| c.request_id.clone()) {
                    Some(id) => Handled::Command(Command::Terminal(TerminalCommand::Copy {
                        what: "request id",
                        text: id,
                    })),
                    None => Handled::Consumed,
                };
            }
            HistoryAction::CopyAnswer => {
                return match self
                    .selected(session)
                    .map(|c| c.answer.text().to_string())
                    .filter(|t| !t.is_empty())
                {
                    Some(text) => Handled::Command(Command::Terminal(TerminalCommand::Copy {
                        what: "answer",
                        text,
                    })),
                    None => Handled::Consumed,
                };
            }
        }
        Handled::Consumed
    }

    pub fn render(
        &mut self,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        session: &Session,
        sim: bool,
    ) {
        if self.detail {
            if let Some(c) = self.selected(session) {
                return super::call_detail::render(area, buf, theme, c, sim, self.scroll, vec![]);
            }
            self.detail = false;
        }
        let blk = block(
            format!(" History ({}) ", super::count(session.calls.len(), "call")),
            true,
            theme,
        );
        if session.calls.is_empty() {
            let inner = blk.inner(area);
            blk.render(area, buf);
            Paragraph::new("No calls yet in this session. F2 opens the chat.")
                .style(theme.muted)
                .render(inner, buf);
            return;
        }
        if self.table.selected().is_none() {
            self.table.select(Some(0));
        }
        let header = Row::new([
            "#",
            "deployment",
            "outcome",
            "status",
            "TTFT",
            "e2e",
            "tok/s",
            "tokens",
            "cost",
        ])
        .style(theme.title);
        let rows = session.calls.iter().rev().map(|c| {
            let r = c.record.as_ref();
            let opt = crate::domain::num::opt_ms;
            Row::new(vec![
                Cell::from(c.id.to_string()),
                Cell::from(c.deployment.clone()),
                Cell::from(Span::styled(outcome_label(c), call_style(c, theme))),
                Cell::from(c.status.map_or("—".into(), |s| s.to_string())),
                Cell::from(opt(c.ttft_ms)),
                Cell::from(opt(r.and_then(|r| r.timing.e2e_ms))),
                Cell::from(
                    r.and_then(|r| r.timing.tokens_per_s)
                        .map_or("—".into(), |v| format!("{v:.0}")),
                ),
                Cell::from(
                    r.and_then(|r| r.usage)
                        .map_or("—".into(), |u| u.total_tokens.to_string()),
                ),
                Cell::from(
                    r.and_then(|r| r.cost_usd)
                        .map_or("—".into(), |v| format!("${v:.5}")),
                ),
            ])
        });
        let widths = [
            Constraint::Length(3),
            Constraint::Min(10),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(9),
        ];
        let table = Table::new(rows, widths)
            .header(header)
            .block(blk)
            .row_highlight_style(theme.selection)
            .highlight_symbol("▶");
        StatefulWidget::render(table, area, buf, &mut self.table);
    }
}

impl Component for History {
    fn on_key(&mut self, key: KeyEvent, props: &Props<'_>) -> Handled {
        self.handle_key(key, props.session)
    }

    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, props: &Props<'_>) {
        self.render(area, buf, theme, props.session, props.sim);
    }

    fn hints(&self) -> Vec<Hint> {
        keymap::hints(self.keymap())
    }

    fn help_sections(&self) -> Vec<&'static str> {
        vec!["History", "History: call details"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::{ApiPath, CallRecord};
    use crossterm::event::{KeyCode, KeyModifiers};
    use std::time::Duration;

    fn session() -> Session {
        let mut s = Session::default();
        for id in 1..=2 {
            let mut c = LiveCall::new(id, "gpt-4o", ApiPath::Classic, "hi", Duration::ZERO);
            c.finish(
                CallRecord {
                    id,
                    text: format!("answer {id}"),
                    request_id: Some(format!("req-{id}")),
                    ..Default::default()
                },
                Duration::from_millis(10),
            );
            s.calls.push(c);
        }
        s
    }

    #[test]
    fn copy_commands_follow_selection() {
        let s = session();
        let mut h = History::default();
        let k = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(
            h.handle_key(k('c'), &s),
            Handled::Command(Command::Terminal(TerminalCommand::Copy {
                what: "request id",
                text: "req-2".into()
            }))
        );
        h.handle_key(k('j'), &s);
        assert_eq!(
            h.handle_key(k('y'), &s),
            Handled::Command(Command::Terminal(TerminalCommand::Copy {
                what: "answer",
                text: "answer 1".into()
            }))
        );
        assert_eq!(
            h.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), &s),
            Handled::Consumed
        );
        assert_eq!(h.keymap().len(), keymap::HISTORY_DETAIL.len());
        assert_eq!(
            h.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), &s),
            Handled::Consumed
        );
        assert_eq!(h.handle_key(k('q'), &s), Handled::Ignored);
    }
}
