//! The chat pane: parameters row, system prompt, transcript of history cells (streamed
//! answers as newline-gated markdown) and the multi-line prompt input.

use std::collections::HashMap;
use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use ratatui_textarea::{TextArea, WrapMode};

use super::call_panel::{call_style, phase_text};
use super::{block, ellipsize, put_line};
use crate::domain::call::Outcome as CallOutcome;
use crate::domain::num::fmt_ms;
use crate::tui::component::{Component, Props};
use crate::tui::event::{CallId, EditTarget};
use crate::tui::keymap::{self, Binding, ChatAction, Hint};
use crate::tui::markdown;
use crate::tui::messages::{ChatCommand, ChatParams, Command, Handled, Submit, TerminalCommand};
use crate::tui::session::{LiveCall, Phase, Session};
use crate::tui::theme::Theme;

mod params;
pub mod request;

use params::PARAMS;
pub use params::retry_choices;

/// Columns answers are indented by in the transcript.
const ANSWER_INDENT: u16 = 2;

/// A run of transcript rows.
enum Segment<'a> {
    Lines(Vec<Line<'static>>),
    /// A rendered answer, drawn indented by [`ANSWER_INDENT`].
    Answer(&'a [Line<'static>]),
}

impl Segment<'_> {
    fn len(&self) -> usize {
        match self {
            Segment::Lines(l) => l.len(),
            Segment::Answer(l) => l.len(),
        }
    }

    /// (indent, line) for each row.
    fn rows(&self) -> Box<dyn Iterator<Item = (u16, &Line<'static>)> + '_> {
        match self {
            Segment::Lines(l) => Box::new(l.iter().map(|l| (0, l))),
            Segment::Answer(l) => Box::new(l.iter().map(|l| (ANSWER_INDENT, l))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Input,
    System,
    Params,
    Transcript,
}

impl Focus {
    fn next(self) -> Focus {
        match self {
            Focus::Input => Focus::System,
            Focus::System => Focus::Params,
            Focus::Params => Focus::Transcript,
            Focus::Transcript => Focus::Input,
        }
    }
    fn prev(self) -> Focus {
        match self {
            Focus::Input => Focus::Transcript,
            Focus::System => Focus::Input,
            Focus::Params => Focus::System,
            Focus::Transcript => Focus::Params,
        }
    }
}

/// The most rows the prompt box grows to.
const MAX_INPUT_ROWS: u16 = 8;

const PLACEHOLDER: &str = "Ask something… (Enter sends)";

pub const DEFAULT_SYSTEM: &str = "You are a helpful assistant.";

pub struct Chat {
    input: TextArea<'static>,
    system: TextArea<'static>,
    pub params: ChatParams,
    param_sel: usize,
    pub focus: Focus,
    /// Lines scrolled up from the bottom; 0 follows the newest output.
    scroll: usize,
    /// Rendered answers, per call, kept between frames (see [`markdown::MarkdownCache`]).
    answers: HashMap<CallId, markdown::MarkdownCache>,
    page: usize,
    /// Other deployments the retry parameter can fail over to (set by the app).
    pub failover_targets: Vec<String>,
}

/// Facts the chat pane shows but does not own.
pub struct ChatProps<'a> {
    pub session: &'a Session,
    pub deployment: &'a str,
    pub now: Duration,
    /// Show a one-line call summary (when the call panel is hidden on narrow terminals).
    pub summary: bool,
}

fn textarea(lines: Vec<String>, placeholder: &str) -> TextArea<'static> {
    let mut t = TextArea::new(lines);
    t.set_wrap_mode(WrapMode::WordOrGlyph);
    t.set_cursor_line_style(Style::default());
    t.set_placeholder_text(placeholder);
    t
}

impl Default for Chat {
    fn default() -> Self {
        Self::new()
    }
}

impl Chat {
    pub fn new() -> Self {
        Chat {
            input: textarea(vec![], PLACEHOLDER),
            system: textarea(vec![DEFAULT_SYSTEM.to_string()], "No system prompt"),
            params: ChatParams::default(),
            param_sel: 0,
            focus: Focus::Input,
            scroll: 0,
            answers: HashMap::new(),
            page: 10,
            failover_targets: Vec::new(),
        }
    }

    pub fn prompt(&self) -> String {
        self.input.lines().join("\n")
    }

    pub fn system_prompt(&self) -> String {
        self.system.lines().join("\n")
    }

    pub fn clear_input(&mut self) {
        self.input = textarea(vec![], PLACEHOLDER);
        self.scroll = 0;
    }

    pub fn set_text(&mut self, target: EditTarget, text: &str) {
        let lines: Vec<String> = text
            .trim_end_matches('\n')
            .split('\n')
            .map(str::to_string)
            .collect();
        match target {
            EditTarget::Prompt => {
                self.input = textarea(lines, PLACEHOLDER);
                self.input.move_cursor(ratatui_textarea::CursorMove::Bottom);
                self.input.move_cursor(ratatui_textarea::CursorMove::End);
            }
            EditTarget::System => self.system = textarea(lines, "No system prompt"),
        }
    }

    /// Bracketed paste: goes into the focused text input (the prompt otherwise).
    fn paste(&mut self, s: &str) {
        let s = s.replace("\r\n", "\n").replace('\r', "\n");
        match self.focus {
            Focus::System => {
                self.system.insert_str(&s);
            }
            Focus::Input | Focus::Params | Focus::Transcript => {
                self.focus = Focus::Input;
                self.input.insert_str(&s);
            }
        }
    }

    pub fn focus_input(&mut self) {
        self.focus = Focus::Input;
    }

    pub fn keymap(&self) -> &'static [Binding<ChatAction>] {
        match self.focus {
            Focus::Input => keymap::CHAT_INPUT,
            Focus::System => keymap::CHAT_SYSTEM,
            Focus::Params => keymap::CHAT_PARAMS,
            Focus::Transcript => keymap::CHAT_TRANSCRIPT,
        }
    }

    /// `busy`: a call is in flight (Esc then cancels it).
    pub fn handle_key(&mut self, key: KeyEvent, busy: bool) -> Handled {
        match keymap::lookup(self.keymap(), &key) {
            Some(action) => self.act(action, busy),
            None => match self.focus {
                Focus::Input => {
                    self.input.input(key);
                    Handled::Consumed
                }
                Focus::System => {
                    self.system.input(key);
                    Handled::Consumed
                }
                Focus::Params | Focus::Transcript => Handled::Ignored,
            },
        }
    }

    fn act(&mut self, action: ChatAction, busy: bool) -> Handled {
        match action {
            ChatAction::Send => self.send(),
            ChatAction::Newline => {
                self.input.insert_newline();
                Handled::Consumed
            }
            ChatAction::ClearLine => {
                // As in a shell: the whole current line goes (the text area's own Ctrl+U
                // would undo instead).
                self.input.move_cursor(ratatui_textarea::CursorMove::End);
                self.input.delete_line_by_head();
                Handled::Consumed
            }
            ChatAction::Cancel if busy => Handled::Command(Command::Chat(ChatCommand::Cancel)),
            ChatAction::Cancel => {
                self.focus = Focus::Transcript;
                Handled::Consumed
            }
            ChatAction::Editor => {
                let (target, text) = match self.focus {
                    Focus::System => (EditTarget::System, self.system_prompt()),
                    Focus::Input | Focus::Params | Focus::Transcript => {
                        (EditTarget::Prompt, self.prompt())
                    }
                };
                Handled::Command(Command::Terminal(TerminalCommand::Edit(target, text)))
            }
            ChatAction::FocusNext => self.set_focus(self.focus.next()),
            ChatAction::FocusPrev => self.set_focus(self.focus.prev()),
            ChatAction::FocusInput => self.set_focus(Focus::Input),
            ChatAction::NewConversation => {
                Handled::Command(Command::Chat(ChatCommand::NewConversation))
            }
            ChatAction::ScrollUp => self.scroll_by(1),
            ChatAction::ScrollDown => self.scroll_by(-1),
            ChatAction::PageUp => self.scroll_by(self.page as isize),
            ChatAction::PageDown => self.scroll_by(-(self.page as isize)),
            ChatAction::Top => self.scroll_by(isize::MAX / 2),
            ChatAction::Bottom => {
                self.scroll = 0;
                Handled::Consumed
            }
            ChatAction::ParamPrev => {
                self.param_sel = (self.param_sel + PARAMS - 1) % PARAMS;
                Handled::Consumed
            }
            ChatAction::ParamNext => {
                self.param_sel = (self.param_sel + 1) % PARAMS;
                Handled::Consumed
            }
            ChatAction::ParamInc => self.step_param(1),
            ChatAction::ParamDec => self.step_param(-1),
        }
    }

    fn set_focus(&mut self, f: Focus) -> Handled {
        self.focus = f;
        Handled::Consumed
    }

    fn scroll_by(&mut self, d: isize) -> Handled {
        self.scroll = (self.scroll as isize).saturating_add(d).max(0) as usize;
        Handled::Consumed
    }

    fn send(&mut self) -> Handled {
        let prompt = self.prompt();
        if prompt.trim().is_empty() {
            return Handled::Consumed;
        }
        Handled::Command(Command::Chat(ChatCommand::Submit(Submit {
            prompt,
            system: self.system_prompt(),
            params: self.params.clone(),
        })))
    }

    // ---- rendering ----

    fn prompt_lines(c: &LiveCall, width: u16, theme: &Theme) -> Vec<Line<'static>> {
        markdown::plain(
            &c.prompt,
            width,
            theme.text,
            Span::styled("› ", theme.user),
            Span::raw("  "),
        )
    }

    fn footer_lines(
        c: &LiveCall,
        width: u16,
        now: Duration,
        theme: &Theme,
        out: &mut Vec<Line<'static>>,
    ) {
        let footer = match c.phase {
            Phase::Streaming
                if !c.answer.pending().is_empty() || c.answer.committed().is_empty() =>
            {
                Line::from(vec![Span::raw("  "), Span::styled("▌", theme.assistant)])
            }
            Phase::Connecting | Phase::Waiting | Phase::Streaming | Phase::Retrying { .. } => {
                Line::from(Span::styled(
                    format!("  {}", phase_text(c, now)),
                    call_style(c, theme),
                ))
            }
            Phase::Ended(outcome) => {
                let mut parts = vec![format!("{}", phase_text(c, now))];
                if let Some(v) = c.ttft_ms {
                    parts.push(format!("TTFT {}", fmt_ms(v)));
                }
                if let Some(v) = c.tokens_per_s(now) {
                    parts.push(format!("{v:.1} tok/s"));
                }
                if let Some(e) = c
                    .record
                    .as_ref()
                    .and_then(|r| r.error.as_ref())
                    .filter(|_| outcome != CallOutcome::Cancelled)
                {
                    parts.push(e.to_string());
                }
                let mut lines = markdown::plain(
                    &parts.join(" · "),
                    width,
                    call_style(c, theme),
                    Span::raw("  "),
                    Span::raw("  "),
                );
                out.append(&mut lines);
                if let Some(left) = c.retry_countdown(now) {
                    out.push(Line::styled(
                        format!("  retry after {}", fmt_ms(left.as_secs_f64() * 1000.0)),
                        theme.warn,
                    ));
                }
                return;
            }
        };
        out.push(footer);
    }

    /// The transcript as segments: owned lines, and answers borrowed from the render cache
    /// (drawn indented by [`ANSWER_INDENT`]). Only the visible rows are ever drawn.
    fn transcript<'a>(
        answers: &'a mut HashMap<CallId, markdown::MarkdownCache>,
        p: &ChatProps<'_>,
        width: u16,
        theme: &Theme,
    ) -> Vec<Segment<'a>> {
        let calls = p.session.conversation();
        let answer_w = width.saturating_sub(ANSWER_INDENT).max(8);
        answers.retain(|id, _| calls.iter().any(|c| c.id == *id));
        for c in calls {
            answers
                .entry(c.id)
                .or_default()
                .update(c.answer.committed(), answer_w, theme);
        }
        let answers: &'a HashMap<_, _> = answers;
        let mut out = Vec::new();
        if calls.is_empty() {
            let intro = format!(
                "Chat with {}. Enter sends, Alt+Enter or Ctrl+J inserts a newline, Ctrl+G opens $EDITOR. \
                 Tab moves between prompt, system prompt, parameters and transcript. F4 browses deployments, ? or F1 shows every key.",
                p.deployment
            );
            out.push(Segment::Lines(markdown::plain(
                &intro,
                width,
                theme.muted,
                Span::raw(""),
                Span::raw(""),
            )));
            return out;
        }
        for (i, c) in calls.iter().enumerate() {
            let mut head = Vec::new();
            if i > 0 {
                head.push(Line::default());
            }
            head.extend(Self::prompt_lines(c, width, theme));
            // A reasoning model's summary (Responses API), muted: it is not the answer.
            if !c.summary.is_empty() {
                head.extend(markdown::plain(
                    &c.summary,
                    width,
                    theme.muted,
                    Span::styled("  ∴ ", theme.muted),
                    Span::raw("    "),
                ));
            }
            out.push(Segment::Lines(head));
            if let Some(cache) = answers.get(&c.id) {
                out.push(Segment::Answer(cache.lines()));
            }
            let mut tail = Vec::new();
            Self::footer_lines(c, width, p.now, theme, &mut tail);
            out.push(Segment::Lines(tail));
        }
        out
    }

    /// Rows the prompt takes wrapped at `width` (as the text area wraps: by word).
    fn input_rows(&self, width: u16) -> u16 {
        let w = width.max(4);
        let rows: usize = self
            .input
            .lines()
            .iter()
            .map(|l| markdown::plain(l, w, Style::default(), Span::raw(""), Span::raw("")).len())
            .sum();
        rows.min(u16::MAX as usize) as u16
    }

    /// The parameters row (target deployment, max tokens, temperature, API path, wire API,
    /// reasoning effort, retry).
    pub fn render_params(&self, area: Rect, buf: &mut Buffer, theme: &Theme, deployment: &str) {
        put_line(buf, area, &self.params_line(deployment, theme, area.width));
    }

    pub fn render(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, p: &ChatProps<'_>) {
        // The prompt box grows with its wrapped rows, up to a limit (a third of the pane).
        let max_rows = (area.height / 3).clamp(1, MAX_INPUT_ROWS);
        let input_lines = self
            .input_rows(area.width.saturating_sub(2))
            .clamp(1, max_rows);
        let system_h = if self.focus == Focus::System { 5 } else { 1 };
        let summary_h = u16::from(p.summary);
        let [system_a, transcript_a, summary_a, input_a] = Layout::vertical([
            Constraint::Length(system_h),
            Constraint::Min(1),
            Constraint::Length(summary_h),
            Constraint::Length(input_lines + 2),
        ])
        .areas(area);

        if self.focus == Focus::System {
            self.system
                .set_block(block(" System prompt (Tab leaves) ", true, theme));
            self.system
                .set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
            (&self.system).render(system_a, buf);
        } else {
            let sys = self.system_prompt().replace('\n', " ⏎ ");
            let line = Line::from(vec![
                Span::styled("system: ", theme.system),
                Span::styled(
                    ellipsize(&sys, system_a.width.saturating_sub(8) as usize),
                    theme.muted,
                ),
            ]);
            put_line(buf, system_a, &line);
        }

        // transcript: the scroll offset is clamped before the title shows it.
        let focused = self.focus == Focus::Transcript;
        let blk = ratatui::widgets::Block::default()
            .borders(ratatui::widgets::Borders::TOP)
            .border_style(if focused {
                theme.border_focused
            } else {
                theme.border
            })
            .title_style(if focused { theme.accent } else { theme.muted });
        let inner = blk.inner(transcript_a);
        let segments = Self::transcript(&mut self.answers, p, inner.width, theme);
        let total: usize = segments.iter().map(Segment::len).sum();
        let h = inner.height as usize;
        self.page = h.saturating_sub(1).max(1);
        let max_scroll = total.saturating_sub(h);
        self.scroll = self.scroll.min(max_scroll);
        let title = if self.scroll > 0 {
            format!(" Transcript ↑{} (G follows) ", self.scroll)
        } else {
            " Transcript ".to_string()
        };
        blk.title(title).render(transcript_a, buf);
        let top = total.saturating_sub(h + self.scroll);
        let rows = segments.iter().flat_map(Segment::rows).skip(top).take(h);
        for (row, (indent, line)) in rows.enumerate() {
            let x = inner.x + indent.min(inner.width);
            buf.set_line(
                x,
                inner.y + row as u16,
                line,
                inner.width.saturating_sub(indent),
            );
        }

        if p.summary
            && let Some(c) = p.session.latest()
        {
            let mut s = phase_text(c, p.now);
            if let Some(v) = c.ttft_ms {
                s.push_str(&format!(" · TTFT {}", fmt_ms(v)));
            }
            if let Some(v) = c.tokens_per_s(p.now) {
                s.push_str(&format!(" · {v:.1} tok/s"));
            }
            if let Some(left) = c.retry_countdown(p.now) {
                s.push_str(&format!(
                    " · retry in {}",
                    fmt_ms(left.as_secs_f64() * 1000.0)
                ));
            }
            put_line(
                buf,
                summary_a,
                &Line::styled(
                    ellipsize(&s, summary_a.width as usize),
                    call_style(c, theme),
                ),
            );
        }

        let focused = self.focus == Focus::Input;
        self.input.set_block(block(" Prompt ", focused, theme));
        self.input.set_cursor_style(if focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        });
        self.input.set_placeholder_style(theme.muted);
        (&self.input).render(input_a, buf);
    }
}

/// Width from which the call panel sits beside the chat.
const PANEL_FROM: u16 = 80;

impl Component for Chat {
    /// The retry parameter fails over to the other deployments the browser knows; reaching
    /// the parameters asks for them (the browser loads once).
    fn on_key(&mut self, key: KeyEvent, props: &Props<'_>) -> Handled {
        self.failover_targets = props
            .known_deployments
            .iter()
            .filter(|d| *d != props.deployment)
            .cloned()
            .collect();
        match self.handle_key(key, props.busy()) {
            Handled::Consumed if self.focus == Focus::Params => {
                Handled::Command(Command::Chat(ChatCommand::WantDeployments))
            }
            h => h,
        }
    }

    /// The parameters row, the chat pane and, from [`PANEL_FROM`] columns, the call panel.
    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, props: &Props<'_>) {
        let wide = area.width >= PANEL_FROM;
        // From 120 columns the panel is wide enough for a whole request id (36) on one row.
        let panel_w = if area.width >= 120 { 47 } else { 32 };
        let [params_a, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        self.render_params(params_a, buf, theme, props.deployment);
        let [left, right] = if wide {
            Layout::horizontal([Constraint::Min(20), Constraint::Length(panel_w)]).areas(body)
        } else {
            [body, Rect::default()]
        };
        let chat = ChatProps {
            session: props.session,
            deployment: props.deployment,
            now: props.now,
            summary: !wide,
        };
        self.render(left, buf, theme, &chat);
        if wide {
            super::call_panel::render(right, buf, theme, props.session.latest(), props.now);
        }
    }

    fn hints(&self) -> Vec<Hint> {
        keymap::hints(self.keymap())
    }

    fn wants_text(&self) -> bool {
        matches!(self.focus, Focus::Input | Focus::System)
    }

    fn on_paste(&mut self, text: &str) {
        self.paste(text);
    }

    fn help_sections(&self) -> Vec<&'static str> {
        let focused = match self.focus {
            Focus::Input => "Chat: prompt input",
            Focus::System => "Chat: system prompt",
            Focus::Params => "Chat: parameters",
            Focus::Transcript => "Chat: transcript",
        };
        vec![
            focused,
            "Chat: prompt input",
            "Chat: transcript",
            "Chat: parameters",
            "Chat: system prompt",
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::{ApiPath, WireApi};
    use crate::domain::retry::RetryPolicy;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn type_str(c: &mut Chat, s: &str) {
        for ch in s.chars() {
            assert_eq!(
                c.handle_key(key(KeyCode::Char(ch)), false),
                Handled::Consumed
            );
        }
    }

    #[test]
    fn enter_sends_alt_enter_and_ctrl_j_insert_newlines() {
        let mut c = Chat::new();
        type_str(&mut c, "a");
        assert_eq!(
            c.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT), false),
            Handled::Consumed
        );
        type_str(&mut c, "b");
        assert_eq!(
            c.handle_key(
                KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL),
                false
            ),
            Handled::Consumed
        );
        type_str(&mut c, "c");
        match c.handle_key(key(KeyCode::Enter), false) {
            Handled::Command(Command::Chat(ChatCommand::Submit(s))) => {
                assert_eq!(s.prompt, "a\nb\nc");
                assert_eq!(s.system, DEFAULT_SYSTEM);
                assert_eq!(s.params, ChatParams::default());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_prompt_is_not_sent() {
        let mut c = Chat::new();
        assert_eq!(c.handle_key(key(KeyCode::Enter), false), Handled::Consumed);
    }

    #[test]
    fn esc_cancels_when_busy_else_leaves_input() {
        let mut c = Chat::new();
        assert_eq!(
            c.handle_key(key(KeyCode::Esc), true),
            Handled::Command(Command::Chat(ChatCommand::Cancel))
        );
        assert_eq!(c.handle_key(key(KeyCode::Esc), false), Handled::Consumed);
        assert_eq!(c.focus, Focus::Transcript);
        assert!(!c.wants_text());
        assert_eq!(
            c.handle_key(key(KeyCode::Char('q')), false),
            Handled::Ignored,
            "q falls through to quit"
        );
        assert_eq!(
            c.handle_key(key(KeyCode::Char('i')), false),
            Handled::Consumed
        );
        assert_eq!(c.focus, Focus::Input);
    }

    #[test]
    fn params_cycle() {
        let mut c = Chat::new();
        c.handle_key(key(KeyCode::Tab), false);
        c.handle_key(key(KeyCode::Tab), false);
        assert_eq!(c.focus, Focus::Params);
        c.handle_key(key(KeyCode::Char('+')), false);
        assert_eq!(c.params.max_tokens, Some(2048));
        c.handle_key(key(KeyCode::Right), false);
        assert_eq!(c.params.temperature, None, "service default");
        c.handle_key(key(KeyCode::Char('+')), false);
        c.handle_key(key(KeyCode::Char('+')), false);
        assert_eq!(c.params.temperature, Some(0.1));
        c.handle_key(key(KeyCode::Char('-')), false);
        c.handle_key(key(KeyCode::Char('-')), false);
        assert_eq!(c.params.temperature, None);
        c.handle_key(key(KeyCode::Right), false);
        c.handle_key(key(KeyCode::Char('+')), false);
        assert_eq!(c.params.api, ApiPath::V1);
        c.handle_key(key(KeyCode::Right), false);
        c.handle_key(key(KeyCode::Char('+')), false);
        assert_eq!(c.params.wire_api, WireApi::Responses);
        c.handle_key(key(KeyCode::Right), false);
        c.handle_key(key(KeyCode::Char('+')), false);
        c.handle_key(key(KeyCode::Char('+')), false);
        assert_eq!(c.params.reasoning_effort, Some("low"));
        c.handle_key(key(KeyCode::Char('-')), false);
        c.handle_key(key(KeyCode::Char('-')), false);
        assert_eq!(c.params.reasoning_effort, None, "not sent");
        c.handle_key(key(KeyCode::Right), false);
        c.handle_key(key(KeyCode::Char('+')), false);
        assert_eq!(c.params.retry, RetryPolicy::honor());
    }

    #[test]
    fn ctrl_g_asks_for_the_editor() {
        let mut c = Chat::new();
        type_str(&mut c, "draft");
        assert_eq!(
            c.handle_key(
                KeyEvent::new(KeyCode::Char('g'), KeyModifiers::CONTROL),
                false
            ),
            Handled::Command(Command::Terminal(TerminalCommand::Edit(
                EditTarget::Prompt,
                "draft".into()
            )))
        );
        c.set_text(EditTarget::Prompt, "edited\ntext\n");
        assert_eq!(c.prompt(), "edited\ntext");
    }
}
