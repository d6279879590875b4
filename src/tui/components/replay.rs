//! The Replay screen (`aoai replay FILE`): the scenario's calls as a table, the selected
//! call's request summary, the answer of the call being replayed and the live call panel.
//! Enter replays the selected call, `n` the next one, `s` cycles the speed; the replay itself
//! runs in the executor ([`crate::tui::recording`]) and reaches the screen as ordinary call
//! events.

use std::path::PathBuf;
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
use crate::engine::record::index::CallRow;
pub use crate::engine::record::index::last_user_message;
use crate::engine::replay::Speed;
use crate::tui::component::{Component, Props};
use crate::tui::event::CallId;
use crate::tui::keymap::{self, Binding, Hint, ReplayAction};
use crate::tui::messages::{Command, Handled, ReplayCommand, ReplaySource};
use crate::tui::session::{LiveCall, Phase, Session};
use crate::tui::theme::Theme;

/// Facts the screen shows but does not own.
pub struct ReplayProps<'a> {
    pub session: &'a Session,
    pub now: Duration,
}

/// Where the scenario's whole calls are: in memory (a HAR file, a small test) or in the
/// file, read back by line when one is played.
#[derive(Debug)]
enum Store {
    Memory(Vec<ScenarioCall>),
    File(PathBuf),
}

/// The scenario's rows and the screen's view state.
#[derive(Debug)]
pub struct Replay {
    file: String,
    rows: Vec<CallRow>,
    store: Store,
    /// The file is still being read (rows keep arriving).
    loading: bool,
    /// Why reading stopped early, when it did.
    load_error: Option<String>,
    table: TableState,
    /// The first row the table shows.
    offset: usize,
    speed: Speed,
    /// The call id of the latest replay and the scenario row it plays.
    playing: Option<(CallId, usize)>,
    /// Damaged lines of the file that were skipped (`line 3: …`).
    skipped: Vec<String>,
}

fn outcome_label(o: CallOutcome) -> &'static str {
    Phase::Ended(o).label()
}

impl Replay {
    /// A scenario held in memory.
    pub fn new(file: impl Into<String>, calls: Vec<ScenarioCall>, speed: Speed) -> Self {
        let rows = calls.iter().map(|c| CallRow::of(c, None)).collect();
        let mut r = Replay::with(file.into(), Store::Memory(calls), speed);
        r.add_rows(rows);
        r.loading = false;
        r
    }

    /// A scenario read from `path` in the background: rows arrive with [`Replay::add_rows`]
    /// until [`Replay::loaded`].
    pub fn reading(file: impl Into<String>, path: PathBuf, speed: Speed) -> Self {
        Replay::with(file.into(), Store::File(path), speed)
    }

    fn with(file: String, store: Store, speed: Speed) -> Self {
        Replay {
            file,
            rows: Vec::new(),
            store,
            loading: true,
            load_error: None,
            table: TableState::default(),
            offset: 0,
            speed,
            playing: None,
            skipped: Vec::new(),
        }
    }

    /// More rows read from the file.
    pub fn add_rows(&mut self, rows: Vec<CallRow>) {
        self.rows.extend(rows);
        if self.table.selected().is_none() && !self.rows.is_empty() {
            self.table.select(Some(0));
        }
    }

    /// The file has been read to its end (or reading failed: `error`).
    pub fn loaded(&mut self, error: Option<String>) {
        self.loading = false;
        self.load_error = error;
    }

    pub fn is_loading(&self) -> bool {
        self.loading
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
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn row(&self, index: usize) -> Option<&CallRow> {
        self.rows.get(index)
    }

    /// The whole call `index`: from memory, or where to read it.
    pub fn source(&self, index: usize) -> Option<ReplaySource> {
        let row = self.rows.get(index)?;
        match (&self.store, row.at) {
            (Store::Memory(calls), _) => {
                Some(ReplaySource::Call(Box::new(calls.get(index)?.clone())))
            }
            (Store::File(path), Some(at)) => Some(ReplaySource::Line {
                path: path.clone(),
                at,
            }),
            (Store::File(_), None) => None,
        }
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
        let n = self.rows.len();
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
        let rows = self.rows.len().min(u16::MAX as usize) as u16;
        let table_h = rows.saturating_add(3).clamp(4, (area.height / 2).max(4));
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
        let count = super::count(self.rows.len(), "call");
        let title = if self.loading {
            format!(
                " Replay · {} · reading… {count} · speed {} ",
                self.file,
                self.speed.label()
            )
        } else {
            format!(
                " Replay · {} · {count} · speed {} ",
                self.file,
                self.speed.label()
            )
        };
        let blk = block(title, true, theme);
        if self.rows.is_empty() {
            let inner = blk.inner(area);
            blk.render(area, buf);
            let (text, style) = match (&self.load_error, self.loading) {
                (Some(e), _) => (format!("Reading the scenario failed: {e}"), theme.error),
                (None, true) => ("Reading the scenario…".to_string(), theme.muted),
                (None, false) => ("This scenario has no calls.".to_string(), theme.muted),
            };
            Paragraph::new(text)
                .style(style)
                .wrap(Wrap { trim: true })
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
        // Only the rows on screen are built: a scenario can hold 100,000 calls.
        let visible = area.height.saturating_sub(3).max(1) as usize;
        let sel = self.selected().min(self.rows.len() - 1);
        if sel < self.offset {
            self.offset = sel;
        } else if sel >= self.offset + visible {
            self.offset = sel + 1 - visible;
        }
        self.offset = self.offset.min(self.rows.len().saturating_sub(visible));
        let playing = self.playing.map(|(_, i)| i);
        let end = (self.offset + visible).min(self.rows.len());
        let rows = self.rows[self.offset..end]
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let i = self.offset + k;
                let opt = crate::domain::num::opt_ms;
                let mark = if playing == Some(i) { "•" } else { "" };
                Row::new(vec![
                    Cell::from(format!("{mark}{}", i + 1)),
                    Cell::from(r.deployment.clone()),
                    Cell::from(Span::styled(
                        outcome_label(r.outcome),
                        phase_style(Phase::Ended(r.outcome), theme),
                    )),
                    Cell::from(r.status.map_or("—".into(), |s| s.to_string())),
                    Cell::from(opt(r.ttft_ms)),
                    Cell::from(opt(r.e2e_ms)),
                    Cell::from(r.total_tokens.map_or("—".into(), |t| t.to_string())),
                    Cell::from(r.cost_usd.map_or("—".into(), |v| format!("${v:.5}"))),
                    Cell::from(r.prompt.replace('\n', " ")),
                ])
            });
        // Wide enough for the row numbers of the whole file.
        let digits = self.rows.len().to_string().len() as u16;
        let widths = [
            Constraint::Length(digits.max(2) + 1),
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
        let mut window = TableState::default().with_selected(Some(sel - self.offset));
        StatefulWidget::render(table, area, buf, &mut window);
    }

    fn render_detail(&self, area: Rect, buf: &mut Buffer, theme: &Theme, live: Option<&LiveCall>) {
        let sel = self.selected();
        let Some(row) = self.rows.get(sel) else {
            return;
        };
        let w = area.width.saturating_sub(2) as usize;
        let mut lines = vec![
            Line::from(vec![
                Span::styled("target   ", theme.muted),
                Span::styled(
                    ellipsize(
                        &format!(
                            "{} · {}{} · {} · retry {}",
                            row.deployment,
                            row.api.as_str(),
                            row.api_version
                                .as_deref()
                                .map_or(String::new(), |v| format!(" {v}")),
                            if row.stream { "stream" } else { "no stream" },
                            row.retry
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
                            row.messages,
                            row.system_messages,
                            row.user_messages,
                            row.assistant_messages,
                            row.prompt_tokens
                        ),
                        w.saturating_sub(9),
                    ),
                    theme.text,
                ),
            ]),
            Line::from(vec![
                Span::styled("max tok  ", theme.muted),
                Span::styled(
                    row.output_budget
                        .map_or("— (service default)".into(), |n| n.to_string()),
                    theme.text,
                ),
            ]),
            Line::from(vec![
                Span::styled("› ", theme.user),
                Span::styled(row.prompt.clone(), theme.user),
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
            format!(" Call {} of {} ", sel + 1, self.rows.len()),
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
