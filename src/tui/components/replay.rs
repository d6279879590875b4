//! The Replay screen (`aoai replay FILE`): the scenario's calls as a table, the selected
//! call's request summary, the answer of the call being replayed and the live call panel.
//! Enter replays the selected call, `n` the next one, `s` cycles the speed; the replay itself
//! runs in the executor ([`crate::tui::recording`]) and reaches the screen as ordinary call
//! events.

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap};

use super::call_panel::{self, phase_style};
use super::{block, ellipsize};
use crate::domain::call::Outcome as CallOutcome;
use crate::domain::scenario::ScenarioCall;
use crate::engine::replay::Speed;
use crate::tui::component::{Component, Props};
use crate::tui::event::CallId;
use crate::tui::keymap::{self, Binding, Hint, ReplayAction};
use crate::tui::messages::{Command, Handled, ReplayCommand};
use crate::tui::session::{LiveCall, Phase, Session};
use crate::tui::theme::Theme;

/// Facts the screen shows but does not own.
pub struct ReplayProps<'a> {
    pub session: &'a Session,
    pub now: Duration,
}

/// The loaded scenario and the screen's view state.
#[derive(Debug)]
pub struct Replay {
    file: String,
    calls: Vec<ScenarioCall>,
    table: TableState,
    speed: Speed,
    /// The call id of the latest replay and the scenario row it plays.
    playing: Option<(CallId, usize)>,
    /// Damaged lines of the file that were skipped (`line 3: …`).
    skipped: Vec<String>,
}

/// The last user message of a request (what the transcript shows as the prompt).
pub fn last_user_message(call: &ScenarioCall) -> String {
    call.request
        .body
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.text())
        .unwrap_or_default()
}

fn outcome_label(o: CallOutcome) -> &'static str {
    Phase::Ended(o).label()
}

impl Replay {
    pub fn new(file: impl Into<String>, calls: Vec<ScenarioCall>, speed: Speed) -> Self {
        let mut table = TableState::default();
        if !calls.is_empty() {
            table.select(Some(0));
        }
        Replay {
            file: file.into(),
            calls,
            table,
            speed,
            playing: None,
            skipped: Vec::new(),
        }
    }

    /// The file's damaged lines, shown above every call's request.
    pub fn set_skipped(&mut self, lines: Vec<String>) {
        self.skipped = lines;
    }

    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    pub fn keymap(&self) -> &'static [Binding<ReplayAction>] {
        keymap::REPLAY
    }

    pub fn speed(&self) -> Speed {
        self.speed
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    pub fn call(&self, index: usize) -> Option<&ScenarioCall> {
        self.calls.get(index)
    }

    pub fn selected(&self) -> usize {
        self.table.selected().unwrap_or(0)
    }

    /// Row `index` is being replayed as call `id`.
    pub fn playing(&mut self, id: CallId, index: usize) {
        self.playing = Some((id, index));
        self.table.select(Some(index));
    }

    pub fn handle_key(&mut self, key: KeyEvent, in_flight: bool) -> Handled {
        let Some(action) = keymap::lookup(self.keymap(), &key) else {
            return Handled::Ignored;
        };
        let n = self.calls.len();
        let sel = self.selected();
        match action {
            ReplayAction::Up => self.table.select(Some(sel.saturating_sub(1))),
            ReplayAction::Down => self.table.select(Some((sel + 1).min(n.saturating_sub(1)))),
            ReplayAction::Top => self.table.select(Some(0)),
            ReplayAction::Bottom => self.table.select(Some(n.saturating_sub(1))),
            ReplayAction::Play if sel < n => {
                return Handled::Command(Command::Replay(ReplayCommand::Play(sel)));
            }
            ReplayAction::Play => {}
            ReplayAction::Next => {
                let next = self.playing.map_or(sel, |(_, i)| i + 1);
                if next < n {
                    return Handled::Command(Command::Replay(ReplayCommand::Play(next)));
                }
            }
            ReplayAction::Speed => self.speed = self.speed.next(),
            ReplayAction::Stop if in_flight => {
                return Handled::Command(Command::Replay(ReplayCommand::Stop));
            }
            ReplayAction::Stop => return Handled::Ignored,
        }
        Handled::Consumed
    }

    pub fn render(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, p: &ReplayProps<'_>) {
        let rows = self.calls.len() as u16;
        let table_h = (rows + 3).clamp(4, (area.height / 2).max(4));
        let [top, bottom] =
            Layout::vertical([Constraint::Length(table_h), Constraint::Min(1)]).areas(area);
        self.render_table(top, buf, theme);
        let wide = area.width >= 80;
        let panel_w = if area.width >= 120 { 47 } else { 32 };
        let [left, right] = if wide {
            Layout::horizontal([Constraint::Min(20), Constraint::Length(panel_w)]).areas(bottom)
        } else {
            [bottom, Rect::default()]
        };
        let live = self.playing.and_then(|(id, _)| p.session.get(id));
        self.render_detail(left, buf, theme, live);
        match live {
            Some(c) if wide => call_panel::render(right, buf, theme, Some(c), p.now),
            None if wide => {
                let blk = block(" Call ", false, theme);
                let inner = blk.inner(right);
                blk.render(right, buf);
                Paragraph::new("The replayed call's figures show here, as when it was live.")
                    .style(theme.muted)
                    .wrap(Wrap { trim: true })
                    .render(inner, buf);
            }
            _ => {}
        }
    }

    fn render_table(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let title = format!(
            " Replay · {} · {} · speed {} ",
            self.file,
            super::count(self.calls.len(), "call"),
            self.speed.label()
        );
        let blk = block(title, true, theme);
        if self.calls.is_empty() {
            let inner = blk.inner(area);
            blk.render(area, buf);
            Paragraph::new("This scenario has no calls.")
                .style(theme.muted)
                .render(inner, buf);
            return;
        }
        let header = Row::new([
            "#",
            "deployment",
            "outcome",
            "status",
            "TTFT",
            "e2e",
            "tokens",
            "cost",
            "prompt",
        ])
        .style(theme.title);
        let playing = self.playing.map(|(_, i)| i);
        let rows = self.calls.iter().enumerate().map(|(i, c)| {
            let r = &c.record;
            let opt = crate::domain::num::opt_ms;
            let mark = if playing == Some(i) { "•" } else { "" };
            Row::new(vec![
                Cell::from(format!("{mark}{}", i + 1)),
                Cell::from(c.request.deployment.clone()),
                Cell::from(Span::styled(
                    outcome_label(r.outcome),
                    phase_style(Phase::Ended(r.outcome), theme),
                )),
                Cell::from(r.status.map_or("—".into(), |s| s.to_string())),
                Cell::from(opt(r.timing.ttft_ms)),
                Cell::from(opt(r.timing.e2e_ms)),
                Cell::from(r.usage.map_or("—".into(), |u| u.total_tokens.to_string())),
                Cell::from(r.cost_usd.map_or("—".into(), |v| format!("${v:.5}"))),
                Cell::from(last_user_message(c).replace('\n', " ")),
            ])
        });
        let widths = [
            Constraint::Length(3),
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Min(6),
        ];
        let table = Table::new(rows, widths)
            .header(header)
            .block(blk)
            .row_highlight_style(theme.selection)
            .highlight_symbol("▶");
        StatefulWidget::render(table, area, buf, &mut self.table);
    }

    fn render_detail(&self, area: Rect, buf: &mut Buffer, theme: &Theme, live: Option<&LiveCall>) {
        let sel = self.selected();
        let Some(call) = self.calls.get(sel) else {
            return;
        };
        let req = &call.request;
        let w = area.width.saturating_sub(2) as usize;
        let roles = |role: &str| req.body.messages.iter().filter(|m| m.role == role).count();
        let mut lines = vec![
            Line::from(vec![
                Span::styled("target   ", theme.muted),
                Span::styled(
                    ellipsize(
                        &format!(
                            "{} · {}{} · {} · retry {}",
                            req.deployment,
                            req.api.as_str(),
                            req.api_version
                                .as_deref()
                                .map_or(String::new(), |v| format!(" {v}")),
                            if req.stream { "stream" } else { "no stream" },
                            req.retry
                        ),
                        w.saturating_sub(9),
                    ),
                    theme.text,
                ),
            ]),
            Line::from(vec![
                Span::styled("messages ", theme.muted),
                Span::styled(
                    ellipsize(
                        &format!(
                            "{} (system {}, user {}, assistant {}) · {} prompt tokens",
                            req.body.messages.len(),
                            roles("system") + roles("developer"),
                            roles("user"),
                            roles("assistant"),
                            call.prompt_shape.total()
                        ),
                        w.saturating_sub(9),
                    ),
                    theme.text,
                ),
            ]),
            Line::from(vec![
                Span::styled("max tok  ", theme.muted),
                Span::styled(
                    req.body
                        .output_budget()
                        .map_or("— (service default)".into(), |n| n.to_string()),
                    theme.text,
                ),
            ]),
            Line::from(vec![
                Span::styled("› ", theme.user),
                Span::styled(last_user_message(call), theme.user),
            ]),
        ];
        if !self.skipped.is_empty() {
            let n = self.skipped.len();
            let head = format!(
                "⚠ {} of the file skipped (damaged): {}",
                super::count(n, "line"),
                self.skipped.join("; ")
            );
            lines.insert(0, Line::styled(head, theme.warn));
        }
        let playing_this = self.playing.is_some_and(|(_, i)| i == sel);
        let answer = live.filter(|_| playing_this).map(|c| c.answer.text());
        if answer.is_none() {
            lines.push(Line::styled(
                format!(
                    "Enter replays this call at {}; n plays the next; s changes the speed.",
                    self.speed.label()
                ),
                theme.muted,
            ));
        }
        let blk = block(
            format!(" Call {} of {} ", sel + 1, self.calls.len()),
            false,
            theme,
        );
        let inner = blk.inner(area);
        blk.render(area, buf);
        let [req_a, answer_a] = Layout::vertical([
            Constraint::Length((lines.len() as u16 + 1).min(inner.height)),
            Constraint::Min(0),
        ])
        .areas(inner);
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(req_a, buf);
        if let Some(text) = answer {
            // Follow the end of a streaming answer: the last rows that fit.
            let rows = crate::tui::markdown::render(text, answer_a.width, theme);
            let skip = rows.len().saturating_sub(answer_a.height as usize);
            Paragraph::new(rows[skip..].to_vec()).render(answer_a, buf);
        }
    }
}

impl Component for Replay {
    fn on_key(&mut self, key: KeyEvent, props: &Props<'_>) -> Handled {
        self.handle_key(key, props.busy())
    }

    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, props: &Props<'_>) {
        let replay = ReplayProps {
            session: props.session,
            now: props.now,
        };
        self.render(area, buf, theme, &replay);
    }

    fn hints(&self) -> Vec<Hint> {
        keymap::hints(self.keymap())
    }

    fn help_sections(&self) -> Vec<&'static str> {
        vec!["Replay"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::CallRecord;
    use crate::domain::scenario::{PromptShape, RecordedRequest};
    use crate::wire::{ChatMessage, ChatRequest};
    use crossterm::event::{KeyCode, KeyModifiers};

    fn call(prompt: &str) -> ScenarioCall {
        ScenarioCall {
            proxied: None,
            started: "2026-01-01T00:00:00.000Z".into(),
            request: RecordedRequest {
                wire_api: Default::default(),
                wire_body: None,
                deployment: "gpt-4o".into(),
                api: Default::default(),
                api_version: None,
                endpoint: None,
                stream: true,
                retry: "none".into(),
                headers: vec![],
                body: ChatRequest {
                    messages: vec![ChatMessage::new("user", prompt)],
                    ..Default::default()
                },
            },
            prompt_shape: PromptShape::default(),
            record: CallRecord::default(),
        }
    }

    fn press(r: &mut Replay, c: KeyCode, in_flight: bool) -> Handled {
        r.handle_key(KeyEvent::new(c, KeyModifiers::NONE), in_flight)
    }

    #[test]
    fn keys_play_next_speed_and_stop() {
        let mut r = Replay::new("s.jsonl", vec![call("a"), call("b"), call("c")], Speed::X1);
        assert_eq!(press(&mut r, KeyCode::Down, false), Handled::Consumed);
        assert_eq!(
            press(&mut r, KeyCode::Enter, false),
            Handled::Command(Command::Replay(ReplayCommand::Play(1)))
        );
        r.playing(7, 1);
        assert_eq!(
            press(&mut r, KeyCode::Char('n'), false),
            Handled::Command(Command::Replay(ReplayCommand::Play(2)))
        );
        r.playing(8, 2);
        assert_eq!(
            press(&mut r, KeyCode::Char('n'), false),
            Handled::Consumed,
            "no call after the last"
        );
        for want in [Speed::X2, Speed::X10, Speed::Instant, Speed::X1] {
            press(&mut r, KeyCode::Char('s'), false);
            assert_eq!(r.speed(), want);
        }
        assert_eq!(
            press(&mut r, KeyCode::Esc, true),
            Handled::Command(Command::Replay(ReplayCommand::Stop))
        );
        assert_eq!(press(&mut r, KeyCode::Esc, false), Handled::Ignored);
        assert_eq!(last_user_message(&call("hi")), "hi");
    }
}
