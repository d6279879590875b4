//! The Traffic screen (`aoai --proxy PORT`): the application's calls through the recording
//! proxy as they happen — client, deployment, wire API, status, TTFT, e2e, tokens, cost and
//! what went wrong — newest last, followed like a log. Enter shows the selected call's full
//! figures (the same text as `aoai chat` prints and History shows); `/` filters by deployment,
//! status, client or path. The proxy runs in the executor; its events reach the screen as
//! [`ProxyEvent`]s.

use std::collections::VecDeque;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap};

use super::{block, ellipsize};
use crate::domain::call::{CallRecord, Outcome};
use crate::domain::call_text::metrics_block;
use crate::domain::num::{opt_ms, plural};
use crate::engine::proxy::{ClientInfo, ProxyEvent};
use crate::tui::component::{Component, Props};
use crate::tui::keymap::{self, Binding, Hint, TrafficAction};
use crate::tui::messages::Handled;
use crate::tui::theme::Theme;

/// Most calls kept on screen; older ones scroll away (the recording keeps them all).
const MAX_ROWS: usize = 5_000;

/// One proxied call as the screen knows it so far.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficRow {
    pub id: u64,
    pub client: ClientInfo,
    pub method: String,
    pub path: String,
    pub deployment: String,
    pub wire_api: &'static str,
    pub injected: Option<String>,
    pub status: Option<u16>,
    pub ttft_ms: Option<f64>,
    /// Set once the call ended.
    pub record: Option<CallRecord>,
}

impl TrafficRow {
    fn matches(&self, filter: &str) -> bool {
        if filter.is_empty() {
            return true;
        }
        let f = filter.to_ascii_lowercase();
        let status = self.status.map(|s| s.to_string()).unwrap_or_default();
        [
            self.deployment.as_str(),
            status.as_str(),
            self.path.as_str(),
            &self.client.addr.to_string(),
            self.wire_api,
        ]
        .iter()
        .any(|s| s.to_ascii_lowercase().contains(&f))
    }

    /// What went wrong, shortly: the 429 cause, an injected fault, the error kind.
    fn cause(&self) -> String {
        let mut parts = Vec::new();
        if let Some(i) = &self.injected {
            parts.push(format!("injected {i}"));
        }
        if let Some(r) = &self.record {
            if let Some(e) = &r.error {
                match (&e.throttle, r.ratelimit.retry_after_ms) {
                    (Some(t), Some(ms)) => parts.push(format!("429 {t:?} retry {ms} ms")),
                    (Some(t), None) => parts.push(format!("429 {t:?}")),
                    _ => parts.push(format!("{:?}", e.kind).to_lowercase()),
                }
            }
            if r.ratelimit.spilled_over {
                parts.push("spilled over".into());
            }
        }
        parts.join(" · ")
    }
}

/// The screen's calls and view state.
#[derive(Debug, Default)]
pub struct Traffic {
    /// `http://127.0.0.1:PORT → upstream`, shown in the title.
    listening: String,
    rows: VecDeque<TrafficRow>,
    table: TableState,
    /// Follow the newest call (until the user moves the selection up).
    follow: bool,
    detail: bool,
    filter: String,
    editing_filter: bool,
}

impl Traffic {
    pub fn new(listening: impl Into<String>) -> Self {
        Traffic {
            listening: listening.into(),
            follow: true,
            ..Default::default()
        }
    }

    pub fn rows(&self) -> &VecDeque<TrafficRow> {
        &self.rows
    }

    /// Applies one proxy event; returns whether anything visible changed.
    pub fn on_event(&mut self, ev: ProxyEvent) -> bool {
        match ev {
            ProxyEvent::Started {
                id,
                client,
                method,
                path,
                deployment,
                wire_api,
                injected,
                ..
            } => {
                self.rows.push_back(TrafficRow {
                    id,
                    client,
                    method,
                    path,
                    deployment,
                    wire_api: wire_api.as_str(),
                    injected,
                    status: None,
                    ttft_ms: None,
                    record: None,
                });
                if self.rows.len() > MAX_ROWS {
                    self.rows.pop_front();
                }
            }
            ProxyEvent::Headers { id, status, .. } => match self.row(id) {
                Some(r) => r.status = Some(status),
                None => return false,
            },
            ProxyEvent::FirstToken { id, ttft_ms } => match self.row(id) {
                Some(r) => r.ttft_ms = Some(ttft_ms),
                None => return false,
            },
            ProxyEvent::Finished(call) => {
                let id = call.record.id;
                match self.row(id) {
                    Some(r) => {
                        r.status = call.record.status.or(r.status);
                        r.ttft_ms = call.record.timing.ttft_ms.or(r.ttft_ms);
                        r.injected = call.injected.clone().or(r.injected.take());
                        r.record = Some(call.record);
                    }
                    None => return false,
                }
            }
            ProxyEvent::Record(_) => return false,
        }
        true
    }

    fn row(&mut self, id: u64) -> Option<&mut TrafficRow> {
        self.rows.iter_mut().rev().find(|r| r.id == id)
    }

    fn visible(&self) -> Vec<&TrafficRow> {
        self.rows
            .iter()
            .filter(|r| r.matches(&self.filter))
            .collect()
    }

    fn keymap(&self) -> &'static [Binding<TrafficAction>] {
        keymap::TRAFFIC
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Handled {
        if self.editing_filter {
            use crossterm::event::KeyCode;
            match key.code {
                KeyCode::Enter | KeyCode::Esc => self.editing_filter = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => return Handled::Ignored,
            }
            self.table.select(Some(0));
            return Handled::Consumed;
        }
        let Some(action) = keymap::lookup(self.keymap(), &key) else {
            return Handled::Ignored;
        };
        let n = self.visible().len();
        let sel = self.selected(n);
        match action {
            TrafficAction::Up => {
                self.follow = false;
                self.table.select(Some(sel.saturating_sub(1)));
            }
            TrafficAction::Down => {
                let next = (sel + 1).min(n.saturating_sub(1));
                self.follow = next + 1 >= n;
                self.table.select(Some(next));
            }
            TrafficAction::Follow => self.follow = true,
            TrafficAction::Detail => self.detail = !self.detail,
            TrafficAction::Filter => {
                self.editing_filter = true;
                self.filter.clear();
            }
            TrafficAction::Close if self.detail => self.detail = false,
            TrafficAction::Close if !self.filter.is_empty() => self.filter.clear(),
            TrafficAction::Close => return Handled::Ignored,
        }
        Handled::Consumed
    }

    /// The selected visible row: the newest while following.
    fn selected(&self, n: usize) -> usize {
        if self.follow || n == 0 {
            return n.saturating_sub(1);
        }
        self.table.selected().unwrap_or(0).min(n - 1)
    }

    pub fn render(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let rows = self.visible();
        let n = rows.len();
        let sel = self.selected(n);
        let title = if self.filter.is_empty() && !self.editing_filter {
            format!(
                "Traffic · {} · {}",
                self.listening,
                plural(n as u64, "call", "calls")
            )
        } else {
            format!(
                "Traffic · {} · filter `{}`{} · {n} of {}",
                self.listening,
                self.filter,
                if self.editing_filter { "▏" } else { "" },
                self.rows.len()
            )
        };
        let outer = block(title.clone(), true, theme);
        let inner = outer.inner(area);
        outer.render(area, buf);
        if n == 0 {
            let hint = format!(
                "No calls yet. Point the application at the proxy, e.g.\n  AZURE_OPENAI_ENDPOINT=http://{} your-app\nIts chat, Responses and other calls appear here as they happen.",
                self.listening
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("http://")
            );
            Paragraph::new(hint)
                .style(theme.muted)
                .wrap(Wrap { trim: false })
                .render(inner, buf);
            return;
        }
        let detail_rows = if self.detail {
            (inner.height / 2).max(6)
        } else {
            0
        };
        let [list_a, detail_a] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(detail_rows)]).areas(inner);
        // Narrow terminals drop the client column (Enter's details name it).
        let with_client = inner.width >= 100;
        let titles = [
            "#",
            "client",
            "deployment",
            "wire",
            "st",
            "TTFT",
            "e2e",
            "tokens",
            "cost",
            "cause",
        ];
        let header = Row::new(
            titles
                .iter()
                .enumerate()
                .filter(|(i, _)| with_client || *i != 1)
                .map(|(_, h)| Cell::from(Span::styled(*h, theme.muted))),
        );
        let body: Vec<Row> = rows
            .iter()
            .map(|r| {
                let rec = r.record.as_ref();
                let style = match (r.status, rec.map(|c| c.outcome)) {
                    (_, Some(Outcome::Throttled)) | (Some(429), _) => theme.warn,
                    (_, Some(Outcome::Failed)) => theme.error,
                    (_, Some(Outcome::Cancelled)) => theme.muted,
                    (_, None) => theme.accent,
                    _ => theme.text,
                };
                let tokens = rec.and_then(|c| c.usage).map_or("—".into(), |u| {
                    format!("{}+{}", u.prompt_tokens, u.completion_tokens)
                });
                let cost = rec
                    .and_then(|c| c.cost_usd)
                    .map_or("—".into(), |c| format!("${c:.4}"));
                let mut cells = vec![Cell::from(r.id.to_string())];
                if with_client {
                    cells.push(Cell::from(r.client.addr.to_string()));
                }
                cells.extend([
                    Cell::from(ellipsize(&r.deployment, 16)),
                    Cell::from(r.wire_api),
                    Cell::from(r.status.map_or("…".into(), |s| s.to_string())),
                    Cell::from(opt_ms(r.ttft_ms)),
                    Cell::from(opt_ms(rec.and_then(|c| c.timing.e2e_ms))),
                    Cell::from(tokens),
                    Cell::from(cost),
                    Cell::from(r.cause()),
                ]);
                Row::new(cells).style(style)
            })
            .collect();
        let mut widths = vec![
            Constraint::Length(4),
            Constraint::Length(15),
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Length(3),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Min(8),
        ];
        if !with_client {
            widths.remove(1);
        }
        let detail_text = self.detail.then(|| {
            let r = rows[sel];
            let mut text = format!(
                "{} {} from {} ({})\n",
                r.method,
                r.path,
                r.client.addr,
                r.client.user_agent.as_deref().unwrap_or("no user-agent")
            );
            match &r.record {
                Some(rec) => text.push_str(&metrics_block(rec, false)),
                None => text.push_str("in flight…\n"),
            }
            text
        });
        self.table.select(Some(sel));
        StatefulWidget::render(
            Table::new(body, widths)
                .header(header)
                .column_spacing(1)
                .row_highlight_style(theme.selection),
            list_a,
            buf,
            &mut self.table,
        );
        if let Some(text) = detail_text {
            let lines: Vec<Line> = text.lines().map(|l| Line::raw(l.to_string())).collect();
            let b = block("Call", false, theme);
            let inner = b.inner(detail_a);
            b.render(detail_a, buf);
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .render(inner, buf);
        }
    }
}

impl Component for Traffic {
    fn on_key(&mut self, key: KeyEvent, _props: &Props<'_>) -> Handled {
        self.handle_key(key)
    }

    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, _props: &Props<'_>) {
        self.render(area, buf, theme);
    }

    fn hints(&self) -> Vec<Hint> {
        keymap::hints(self.keymap())
    }

    fn wants_text(&self) -> bool {
        self.editing_filter
    }

    fn help_sections(&self) -> Vec<&'static str> {
        vec!["Traffic"]
    }
}
