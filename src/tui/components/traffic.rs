//! The Traffic screen (`aoai --proxy PORT`): the application's calls through the recording
//! proxy as they happen — client, deployment, wire API, status, TTFT, e2e, tokens, cost and
//! what went wrong — newest last, followed like a log. Below the list the selected call
//! streams live (its conversation, and the same call panel as the chat); while following,
//! that is the newest call. Enter opens the call's full view (History's: figures, prompt,
//! answer, response headers). `/` filters (`d:` deployment, `s:` status, `c:` client, any
//! other word: anywhere); `s` and `d` step through status and deployment filters. The proxy
//! runs in the executor; its events reach the screen as [`ProxyEvent`]s.

mod filter;

use std::collections::VecDeque;
use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap};

use super::call_panel::{self, call_style};
use super::{block, ellipsize};
use crate::domain::call::{CallEvent, Outcome};
use crate::domain::num::{opt_ms, plural};
use crate::engine::proxy::{ClientInfo, ProxyEvent};
use crate::tui::component::{Component, Props};
use crate::tui::keymap::{self, Binding, Hint, TrafficAction};
use crate::tui::markdown::plain;
use crate::tui::messages::{Command, Handled, TerminalCommand};
use crate::tui::session::{LiveCall, Phase};
use crate::tui::theme::Theme;
pub use filter::Filter;
use filter::{STATUS_STEPS, next_step, with_word, word_value};

/// Most calls kept on screen; older ones scroll away (the recording keeps them all).
const MAX_ROWS: usize = 5_000;

const STATUS_KEYS: [&str; 2] = ["s", "status"];
const DEPLOYMENT_KEYS: [&str; 2] = ["d", "deployment"];

/// One proxied call as the screen knows it so far: what only the proxy knows, and the same
/// live call the chat's panel shows (its record once it ended).
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficRow {
    pub id: u64,
    pub client: ClientInfo,
    pub method: String,
    pub path: String,
    pub injected: Option<String>,
    pub live: LiveCall,
}

impl TrafficRow {
    /// What went wrong, shortly: the 429 cause, an injected fault, the error kind.
    fn cause(&self) -> String {
        let mut parts = Vec::new();
        if let Some(i) = &self.injected {
            parts.push(format!("injected {i}"));
        }
        if let Some(r) = &self.live.record {
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

    /// The request line and the client, above a call's full view.
    fn preface(&self, theme: &Theme) -> Vec<Line<'static>> {
        let mut lines = vec![
            Line::styled(format!("{} {}", self.method, self.path), theme.title),
            Line::styled(
                format!(
                    "from {} · {}",
                    self.client.addr,
                    self.client.user_agent.as_deref().unwrap_or("no user-agent")
                ),
                theme.muted,
            ),
        ];
        if let Some(i) = &self.injected {
            lines.push(Line::styled(
                format!("injected by the proxy: {i} (never reached the upstream)"),
                theme.warn,
            ));
        }
        lines.push(Line::default());
        lines
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
    /// The full view of the selected call, and its scroll.
    detail: bool,
    scroll: u16,
    filter_text: String,
    filter: Filter,
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

    /// Applies one proxy event that arrived at `now` (the console's clock); returns whether
    /// anything visible changed.
    pub fn on_event(&mut self, ev: ProxyEvent, now: Duration) -> bool {
        match ev {
            ProxyEvent::Started {
                id,
                client,
                method,
                path,
                deployment,
                api,
                wire_api,
                injected,
                prompt,
                ..
            } => {
                let mut live = LiveCall::new(id, &deployment, api, &prompt, now);
                live.wire_api = wire_api;
                self.rows.push_back(TrafficRow {
                    id,
                    client,
                    method,
                    path,
                    injected,
                    live,
                });
                if self.rows.len() > MAX_ROWS {
                    self.rows.pop_front();
                }
                true
            }
            ProxyEvent::Headers {
                id,
                status,
                ttfb_ms,
                ratelimit,
                request_id,
                region,
            } => self.apply(
                id,
                CallEvent::Headers {
                    status,
                    ttfb_ms,
                    ratelimit,
                    request_id,
                    region,
                },
                now,
            ),
            ProxyEvent::FirstToken { id, ttft_ms } => {
                self.apply(id, CallEvent::FirstToken { ttft_ms }, now)
            }
            ProxyEvent::Progress {
                id,
                text,
                summary,
                chunks,
            } => {
                let Some(r) = self.row(id) else {
                    return false;
                };
                if !summary.is_empty() {
                    r.live.apply(CallEvent::Summary(summary), now);
                }
                if !text.is_empty() {
                    r.live.apply(CallEvent::Delta(text), now);
                }
                // A report holds many deltas: the chunk count is the live token count.
                r.live.deltas = chunks;
                true
            }
            ProxyEvent::Finished(call) => {
                let id = call.record.id;
                let Some(r) = self.row(id) else {
                    return false;
                };
                r.injected = call.injected.clone().or(r.injected.take());
                r.live.finish(call.record, now);
                true
            }
            ProxyEvent::Record(_) => false,
        }
    }

    fn apply(&mut self, id: u64, ev: CallEvent, now: Duration) -> bool {
        self.row(id).is_some_and(|r| r.live.apply(ev, now))
    }

    fn row(&mut self, id: u64) -> Option<&mut TrafficRow> {
        self.rows.iter_mut().rev().find(|r| r.id == id)
    }

    fn visible(&self) -> Vec<&TrafficRow> {
        self.rows
            .iter()
            .filter(|r| self.filter.matches(r))
            .collect()
    }

    /// Whether anything shown changes with time alone (a live call's timers).
    pub fn animating(&self, now: Duration) -> bool {
        let v = self.visible();
        let sel = self.selected(v.len());
        v.get(sel).is_some_and(|r| r.live.animating(now))
    }

    fn keymap(&self) -> &'static [Binding<TrafficAction>] {
        if self.detail {
            keymap::TRAFFIC_DETAIL
        } else {
            keymap::TRAFFIC
        }
    }

    fn set_filter(&mut self, text: String) {
        self.filter = Filter::parse(&text);
        self.filter_text = text;
        self.table.select(Some(0));
    }

    /// The deployments seen, in order of first appearance.
    fn deployments(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for r in &self.rows {
            let d = r.live.deployment.as_str();
            if !d.is_empty() && !seen.contains(&d) {
                seen.push(d);
            }
        }
        seen
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Handled {
        if self.editing_filter {
            use crossterm::event::KeyCode;
            let mut text = self.filter_text.clone();
            match key.code {
                KeyCode::Enter | KeyCode::Esc => self.editing_filter = false,
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) => text.push(c),
                _ => return Handled::Ignored,
            }
            self.set_filter(text);
            return Handled::Consumed;
        }
        let Some(action) = keymap::lookup(self.keymap(), &key) else {
            return Handled::Ignored;
        };
        let n = self.visible().len();
        let sel = self.selected(n);
        match action {
            TrafficAction::Up if self.detail => self.scroll = self.scroll.saturating_sub(1),
            TrafficAction::Down if self.detail => self.scroll = self.scroll.saturating_add(1),
            TrafficAction::PageUp => self.scroll = self.scroll.saturating_sub(10),
            TrafficAction::PageDown => self.scroll = self.scroll.saturating_add(10),
            TrafficAction::Top => self.scroll = 0,
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
            TrafficAction::Detail if n > 0 => {
                // The call under the cursor stays put while its view is open.
                self.follow = false;
                self.table.select(Some(sel));
                self.detail = true;
                self.scroll = 0;
            }
            TrafficAction::Detail => {}
            TrafficAction::Filter => {
                self.editing_filter = true;
                self.set_filter(String::new());
            }
            TrafficAction::StepStatus => {
                let next = next_step(STATUS_STEPS, word_value(&self.filter_text, STATUS_KEYS));
                self.set_filter(with_word(&self.filter_text, STATUS_KEYS, next));
            }
            TrafficAction::StepDeployment => {
                let seen = self.deployments();
                let next = next_step(&seen, word_value(&self.filter_text, DEPLOYMENT_KEYS))
                    .map(str::to_string);
                self.set_filter(with_word(
                    &self.filter_text,
                    DEPLOYMENT_KEYS,
                    next.as_deref(),
                ));
            }
            TrafficAction::CopyRequestId | TrafficAction::CopyAnswer => {
                let rows = self.visible();
                let Some(r) = rows.get(sel) else {
                    return Handled::Consumed;
                };
                let (what, text) = if action == TrafficAction::CopyRequestId {
                    ("request id", r.live.request_id.clone())
                } else {
                    ("answer", Some(r.live.answer.text().to_string()))
                };
                return match text.filter(|t| !t.is_empty()) {
                    Some(text) => {
                        Handled::Command(Command::Terminal(TerminalCommand::Copy { what, text }))
                    }
                    None => Handled::Consumed,
                };
            }
            TrafficAction::Close if self.detail => self.detail = false,
            TrafficAction::Close if !self.filter_text.is_empty() => self.set_filter(String::new()),
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

    /// Most important first (narrow terminals cut the end): the count, the filter, where
    /// the proxy listens.
    fn title(&self, n: usize) -> String {
        if self.filter_text.is_empty() && !self.editing_filter {
            format!(
                "Traffic · {} · {}",
                plural(n as u64, "call", "calls"),
                self.listening
            )
        } else {
            format!(
                "Traffic · {n} of {} · filter `{}`{} · {}",
                self.rows.len(),
                self.filter_text,
                if self.editing_filter { "▏" } else { "" },
                self.listening
            )
        }
    }

    pub fn render(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, now: Duration) {
        // Filtered once per frame; the list, the live pane and the detail share it.
        let rows: Vec<&TrafficRow> = self
            .rows
            .iter()
            .filter(|r| self.filter.matches(r))
            .collect();
        let n = rows.len();
        let sel = self.selected(n);
        if self.detail {
            if let Some(r) = rows.get(sel) {
                let preface = r.preface(theme);
                return super::call_detail::render(
                    area,
                    buf,
                    theme,
                    &r.live,
                    false,
                    self.scroll,
                    preface,
                );
            }
            self.detail = false;
        }
        let outer = block(self.title(n), true, theme);
        let inner = outer.inner(area);
        outer.render(area, buf);
        if n == 0 {
            let hint = if self.rows.is_empty() {
                format!(
                    "No calls yet. Point the application at the proxy, e.g.\n  AZURE_OPENAI_ENDPOINT=http://{} your-app\nIts chat, Responses and other calls appear here as they happen.",
                    self.listening
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .trim_start_matches("http://")
                )
            } else {
                "No call matches the filter. Esc clears it.".to_string()
            };
            Paragraph::new(hint)
                .style(theme.muted)
                .wrap(Wrap { trim: false })
                .render(inner, buf);
            return;
        }
        // The live call below the list once there is room for both: the list takes what
        // its rows need, up to half.
        let (list_h, live_h) = if inner.height >= 16 {
            let list = (n as u16 + 1).clamp(3, inner.height / 2);
            (list, inner.height - list)
        } else {
            (inner.height, 0)
        };
        let [list_a, live_a] =
            Layout::vertical([Constraint::Length(list_h), Constraint::Length(live_h)]).areas(inner);
        render_list(&mut self.table, &rows, list_a, buf, theme, sel);
        if live_h > 0 {
            render_live(live_a, buf, theme, rows[sel], now);
        }
    }
}

/// The call list, `sel` highlighted.
fn render_list(
    table: &mut TableState,
    rows: &[&TrafficRow],
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    sel: usize,
) {
    // Narrow terminals drop the client column (Enter's view names it).
    let with_client = area.width >= 100;
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
            let live = &r.live;
            let rec = live.record.as_ref();
            let style = match live.phase {
                Phase::Ended(Outcome::Done) if live.status == Some(429) => theme.warn,
                Phase::Ended(Outcome::Done) => theme.text,
                _ => call_style(live, theme),
            };
            let tokens = rec.and_then(|c| c.usage).map_or_else(
                || {
                    if live.deltas > 0 {
                        format!("…{}", live.deltas)
                    } else {
                        "—".into()
                    }
                },
                |u| format!("{}+{}", u.prompt_tokens, u.completion_tokens),
            );
            let cost = rec
                .and_then(|c| c.cost_usd)
                .map_or("—".into(), |c| format!("${c:.4}"));
            let mut cells = vec![Cell::from(r.id.to_string())];
            if with_client {
                cells.push(Cell::from(r.client.addr.to_string()));
            }
            cells.extend([
                Cell::from(ellipsize(&live.deployment, 16)),
                Cell::from(live.wire_api.as_str()),
                Cell::from(live.status.map_or("…".into(), |s| s.to_string())),
                Cell::from(opt_ms(live.ttft_ms)),
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
    table.select(Some(sel));
    StatefulWidget::render(
        Table::new(body, widths)
            .header(header)
            .column_spacing(1)
            .row_highlight_style(theme.selection),
        area,
        buf,
        table,
    );
}

/// The selected call as it streams: its conversation (last lines first to go) and, from 80
/// columns, the call panel.
fn render_live(area: Rect, buf: &mut Buffer, theme: &Theme, r: &TrafficRow, now: Duration) {
    let panel_w = if area.width >= 120 { 47 } else { 32 };
    let [left, right] = if area.width >= 80 {
        Layout::horizontal([Constraint::Min(20), Constraint::Length(panel_w)]).areas(area)
    } else {
        [area, Rect::default()]
    };
    let live = &r.live;
    let b = block(
        format!(" #{} {} · {} ", r.id, live.deployment, live.phase.label()),
        false,
        theme,
    );
    let inner = b.inner(left);
    b.render(left, buf);
    // The last turn of the conversation, then the answer as it streams, wrapped here so
    // the newest line can be kept in view.
    let w = inner.width;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let prompt: Vec<&str> = live.prompt.lines().collect();
    for l in &prompt[prompt.len().saturating_sub(3)..] {
        lines.extend(plain(l, w, theme.user, Span::raw(""), Span::raw("")));
    }
    for l in live.summary.lines() {
        lines.extend(plain(l, w, theme.muted, Span::raw("∴ "), Span::raw("  ")));
    }
    for l in live.answer.text().lines() {
        lines.extend(plain(l, w, theme.assistant, Span::raw(""), Span::raw("")));
    }
    if live.answer.text().is_empty() && live.phase.in_flight() {
        lines.push(Line::styled("…", theme.muted));
    }
    let skip = lines.len().saturating_sub(inner.height as usize);
    Paragraph::new(lines.split_off(skip)).render(inner, buf);
    if right.width > 0 {
        call_panel::render(right, buf, theme, Some(live), now);
    }
}

impl Component for Traffic {
    fn on_key(&mut self, key: KeyEvent, _props: &Props<'_>) -> Handled {
        self.handle_key(key)
    }

    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, props: &Props<'_>) {
        self.render(area, buf, theme, props.now);
    }

    fn hints(&self) -> Vec<Hint> {
        keymap::hints(self.keymap())
    }

    fn wants_text(&self) -> bool {
        self.editing_filter
    }

    fn help_sections(&self) -> Vec<&'static str> {
        vec!["Traffic", "Traffic: call details"]
    }
}
