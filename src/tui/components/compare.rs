//! The Compare screen: one column per prompt variant (up to four side by side, one per 40
//! columns of terminal; paged with ←/→ below that). Each column shows what the variant sends,
//! streams its answer live, then shows its figures and deltas against the baseline; once both
//! have answered, a column's answer is shown as a word diff against the baseline's (added
//! words in the `ok` slot, removed words in the `error` slot, struck through). One scroll
//! offset is shared by every column. `d` duplicates the selected column, `e` edits it (system
//! and user prompt, max tokens, temperature, deployment), Enter runs all.
//!
//! View state only: the variant set, the live state of each column's last call, the
//! selection, the shared scroll and the editor. Calls are started by the app from the specs
//! [`Compare::start`] returns.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::call_panel::{call_style, phase_text};
use super::chat::Chat;
use super::compare_editor::render_editor;
pub use super::compare_editor::{Editor, FIELDS};
pub use super::compare_eval::Verdict;
use super::compare_eval::{BadgeKind, ColumnEval};
use super::{block, ellipsize, put_line};
use crate::domain::call::CallSpec;
use crate::domain::call::{CallRecord, Outcome};
use crate::domain::compare::{Delta, MAX_VARIANTS, Variant, VariantSet};
use crate::domain::diff::{DiffKind, similarity, word_diff};
use crate::tui::component::{Component, Props, Update};
use crate::tui::event::{CallId, CallMsg};
use crate::tui::keymap::{self, CompareAction, CompareEditAction, Hint};
use crate::tui::messages::{ChatParams, Command, CompareCommand, Handled};
use crate::tui::session::LiveCall;
use crate::tui::session::Session;
use crate::tui::theme::Theme;

/// Terminal columns per variant column; at most [`MAX_SIDE_BY_SIDE`] side by side.
pub const COLUMN_WIDTH: u16 = 40;
pub const MAX_SIDE_BY_SIDE: usize = 4;

/// What the screen needs from the app.
/// Why Run did not start the columns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotRun {
    #[error("A compare run is in flight: Esc cancels it")]
    InFlight,
    #[error("Column {0} has no prompt: e edits it")]
    NoPrompt(String),
}

pub struct CompareProps<'a> {
    /// The deployment of variants that name none.
    pub deployment: &'a str,
    pub now: Duration,
}

#[derive(Debug, Clone)]
pub struct Compare {
    pub set: VariantSet,
    /// The last call of each column (parallel to `set.variants`).
    calls: Vec<Option<LiveCall>>,
    pub selected: usize,
    /// Lines scrolled, the same for every column.
    pub scroll: u16,
    pub editor: Option<Editor>,
    /// Rows of answer visible at the last render (for paging).
    page_rows: u16,
    /// The data-set case the columns run (0 for a set without cases).
    case: usize,
    /// The checks of each column's last finished call (parallel to `calls`): assertions
    /// checked once when the call ends, judges graded as their calls come back.
    evals: Vec<Option<ColumnEval>>,
}

impl Compare {
    pub fn new(set: VariantSet) -> Self {
        let n = set.variants.len();
        Compare {
            case: 0,
            set,
            calls: vec![None; n],
            evals: vec![None; n],
            selected: 0,
            scroll: 0,
            editor: None,
            page_rows: 10,
        }
    }

    /// The live state of column `i`'s last call.
    pub fn call(&self, i: usize) -> Option<&LiveCall> {
        self.calls.get(i).and_then(Option::as_ref)
    }

    pub fn owns(&self, id: CallId) -> bool {
        self.calls.iter().flatten().any(|c| c.id == id)
            || self.evals.iter().flatten().any(|e| e.owns(id))
    }

    /// Ids of calls still running: the columns' and their judges'.
    pub fn in_flight(&self) -> Vec<CallId> {
        self.calls
            .iter()
            .flatten()
            .filter(|c| c.phase.in_flight())
            .map(|c| c.id)
            .chain(self.evals.iter().flatten().flat_map(ColumnEval::in_flight))
            .collect()
    }

    /// Column `i`'s assertions on its finished call; `None` before it ended or when the
    /// column asserts nothing.
    pub fn verdict(&self, i: usize) -> Option<&Verdict> {
        self.evals.get(i)?.as_ref()?.verdict()
    }

    /// The judges' grading calls to start, ids from `next_id` (the app starts them when a
    /// column's call has ended: [`CompareCommand::Judge`]).
    pub fn start_judges(
        &mut self,
        next_id: &mut CallId,
        params: &ChatParams,
    ) -> Vec<(CallId, CallSpec)> {
        self.evals
            .iter_mut()
            .flatten()
            .flat_map(|e| e.take_queued(next_id, &params.retry))
            .collect()
    }

    pub fn animating(&self, now: Duration) -> bool {
        self.calls.iter().flatten().any(|c| c.animating(now))
    }

    /// A set of one column from the chat: its prompt (else the latest call's), system prompt,
    /// parameters and deployment.
    pub fn from_chat(chat: &Chat, session: &Session, deployment: &str) -> Self {
        let prompt = match chat.prompt() {
            p if !p.trim().is_empty() => p,
            _ => session
                .latest()
                .map(|c| c.prompt.clone())
                .unwrap_or_default(),
        };
        let mut v = Variant::new("v1", prompt);
        let system = chat.system_prompt();
        v.system = Some(system).filter(|s| !s.trim().is_empty());
        v.max_tokens = chat.params.max_tokens;
        v.temperature = chat.params.temperature;
        v.deployment = Some(deployment.to_string());
        Compare::new(VariantSet::single(v))
    }

    /// Starts every column, unless a run is in flight or a column has no prompt.
    pub fn run(
        &mut self,
        next_id: &mut CallId,
        deployment: &str,
        params: &ChatParams,
        now: Duration,
    ) -> Result<Vec<(CallId, CallSpec)>, NotRun> {
        if !self.in_flight().is_empty() {
            return Err(NotRun::InFlight);
        }
        if let Some(v) = self
            .set
            .variants
            .iter()
            .find(|v| v.chat_messages().is_empty())
        {
            return Err(NotRun::NoPrompt(v.name.clone()));
        }
        Ok(self.start(next_id, deployment, params, now))
    }

    /// Starts every column: one new call each, ids from `next_id`. Returns the specs to send.
    fn start(
        &mut self,
        next_id: &mut CallId,
        deployment: &str,
        params: &ChatParams,
        now: Duration,
    ) -> Vec<(CallId, CallSpec)> {
        let mut out = Vec::new();
        self.scroll = 0;
        let case = self.set.case(self.case);
        let filled: Vec<Variant> = self
            .set
            .variants
            .iter()
            .map(|v| v.for_case(&case))
            .collect();
        for (i, v) in filled.iter().enumerate() {
            let id = *next_id;
            *next_id += 1;
            let d = v.deployment_or(deployment);
            let mut spec = CallSpec::new(d, v.request());
            spec.stream = v.stream;
            spec.retry = params.retry.clone();
            // The variant's wire API, else the chat's (its parameter row).
            let wire_api = v.wire_api.unwrap_or(params.wire_api);
            spec.wire_api = Some(wire_api);
            let mut call = LiveCall::new(id, d, params.api, v.user.as_deref().unwrap_or(""), now);
            call.wire_api = wire_api;
            self.calls[i] = Some(call);
            self.evals[i] = None;
            out.push((id, spec));
        }
        out
    }

    /// Progress of one of this screen's calls (a column's or a judge's): nothing visible
    /// changed, something did, or a column's answer has judges to ask.
    pub fn on_call(
        &mut self,
        id: CallId,
        msg: CallMsg,
        deployment: &str,
        now: Duration,
    ) -> Handled {
        if let Some(i) = self
            .evals
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.owns(id)))
        {
            let CallMsg::Finished(judged) = msg else {
                return Handled::Ignored;
            };
            let rec = self.calls[i].as_ref().and_then(|c| c.record.as_ref());
            return match (self.evals[i].as_mut(), rec) {
                (Some(e), Some(rec)) => match e.on_graded(id, &judged, rec) {
                    true => Handled::Consumed,
                    false => Handled::Ignored,
                },
                _ => Handled::Ignored,
            };
        }
        let Some(i) = self
            .calls
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.id == id))
        else {
            return Handled::Ignored;
        };
        let Some(c) = self.calls[i].as_mut() else {
            return Handled::Ignored;
        };
        match msg {
            CallMsg::Event(ev) => match c.apply(ev, now) {
                true => Handled::Consumed,
                false => Handled::Ignored,
            },
            CallMsg::Finished(rec) => {
                c.finish(*rec, now);
                let case = self.set.case(self.case);
                let eval = c
                    .record
                    .as_ref()
                    .map(|rec| ColumnEval::of(&self.set.variants[i], &case, rec, deployment));
                let judge = eval.as_ref().is_some_and(ColumnEval::has_queued);
                self.evals[i] = eval;
                if judge {
                    Handled::Command(Command::Compare(CompareCommand::Judge))
                } else {
                    Handled::Consumed
                }
            }
        }
    }

    /// Marks every running call cancelled (the judges' too); returns their ids.
    pub fn cancel_all(&mut self, now: Duration) -> Vec<CallId> {
        let ids = self.in_flight();
        for c in self.calls.iter_mut().flatten() {
            c.cancel(now);
        }
        for (e, c) in self.evals.iter_mut().zip(&self.calls) {
            if let Some(e) = e {
                e.cancel(c.as_ref().and_then(|c| c.record.as_ref()));
            }
        }
        ids
    }

    pub fn handle_key(&mut self, k: KeyEvent) -> Handled {
        if self.editor.is_some() {
            return self.edit_key(k);
        }
        let Some(a) = keymap::lookup(keymap::COMPARE, &k) else {
            return Handled::Ignored;
        };
        let last = self.set.variants.len().saturating_sub(1);
        match a {
            CompareAction::RunAll => {
                return Handled::Command(Command::Compare(CompareCommand::Run));
            }
            CompareAction::Cancel if self.in_flight().is_empty() => return Handled::Ignored,
            CompareAction::Cancel => {
                return Handled::Command(Command::Compare(CompareCommand::Cancel));
            }
            CompareAction::Left => self.selected = self.selected.saturating_sub(1),
            CompareAction::Right => self.selected = (self.selected + 1).min(last),
            CompareAction::Up => self.scroll = self.scroll.saturating_sub(1),
            CompareAction::Down => self.scroll = self.scroll.saturating_add(1),
            CompareAction::PageUp => {
                self.scroll = self.scroll.saturating_sub(self.page_rows.max(1))
            }
            CompareAction::PageDown => {
                self.scroll = self.scroll.saturating_add(self.page_rows.max(1))
            }
            CompareAction::Top => self.scroll = 0,
            CompareAction::Duplicate => self.duplicate(),
            CompareAction::Edit => {
                self.editor = Some(Editor::of(self.selected, &self.set.variants[self.selected]))
            }
            CompareAction::Baseline => self.set.baseline = self.selected,
            CompareAction::Remove => self.remove(),
            CompareAction::PrevCase | CompareAction::NextCase => {
                let n = self.set.case_count();
                if n < 2 || !self.in_flight().is_empty() {
                    return Handled::Ignored;
                }
                self.case = if a == CompareAction::NextCase {
                    (self.case + 1) % n
                } else {
                    (self.case + n - 1) % n
                };
                // The answers shown were for another case.
                self.calls = vec![None; self.set.variants.len()];
                self.evals = vec![None; self.set.variants.len()];
                self.scroll = 0;
            }
        }
        Handled::Consumed
    }

    /// A copy of the selected column, placed after the last one and selected.
    pub fn duplicate(&mut self) {
        if self.set.variants.len() >= MAX_VARIANTS {
            return;
        }
        let mut n = self.set.variants.len() + 1;
        while self.set.variants.iter().any(|v| v.name == format!("v{n}")) {
            n += 1;
        }
        let copy = self.set.variants[self.selected].duplicate(format!("v{n}"));
        self.set.variants.push(copy);
        self.calls.push(None);
        self.evals.push(None);
        self.selected = self.set.variants.len() - 1;
    }

    fn remove(&mut self) {
        let i = self.selected;
        if self.set.variants.len() <= 1 || self.call(i).is_some_and(|c| c.phase.in_flight()) {
            return;
        }
        self.set.variants.remove(i);
        self.calls.remove(i);
        self.evals.remove(i);
        if self.set.baseline == i {
            self.set.baseline = 0;
        } else if self.set.baseline > i {
            self.set.baseline -= 1;
        }
        self.selected = i.min(self.set.variants.len() - 1);
    }

    fn edit_key(&mut self, k: KeyEvent) -> Handled {
        let Some(ed) = self.editor.as_mut() else {
            return Handled::Ignored;
        };
        match keymap::lookup(keymap::COMPARE_EDIT, &k) {
            Some(CompareEditAction::Apply) => {
                let column = ed.column;
                match ed.apply(&mut self.set.variants[column]) {
                    Ok(()) => self.editor = None,
                    Err(e) => ed.error = Some(e),
                }
            }
            Some(CompareEditAction::Discard) => self.editor = None,
            Some(CompareEditAction::NextField) => ed.field = (ed.field + 1) % FIELDS.len(),
            Some(CompareEditAction::PrevField) => {
                ed.field = (ed.field + FIELDS.len() - 1) % FIELDS.len()
            }
            Some(CompareEditAction::Newline) if ed.field < 2 => ed.values[ed.field].push('\n'),
            Some(CompareEditAction::Newline) => {}
            None => match k.code {
                KeyCode::Char(c)
                    if !k
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
                {
                    ed.values[ed.field].push(c);
                    ed.error = None;
                }
                KeyCode::Backspace => {
                    ed.values[ed.field].pop();
                    ed.error = None;
                }
                _ => {}
            },
        }
        Handled::Consumed
    }

    /// Pasted text goes into the field being edited.
    fn paste(&mut self, s: &str) {
        if let Some(ed) = self.editor.as_mut() {
            ed.values[ed.field].push_str(s);
        }
    }

    /// How many columns fit side by side in `width`.
    pub fn visible(width: u16) -> usize {
        ((width / COLUMN_WIDTH) as usize).clamp(1, MAX_SIDE_BY_SIDE)
    }

    pub fn render(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, p: &CompareProps<'_>) {
        let n = self.set.variants.len();
        let per_page = Self::visible(area.width).min(n.max(1));
        let first = (self.selected / per_page) * per_page;
        let shown = per_page.min(n - first);
        let editor_h = if self.editor.is_some() { 8 } else { 0 };
        let [head, cols, edit] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(editor_h),
        ])
        .areas(area);
        let running = self.in_flight().len();
        let state = if running > 0 {
            format!(" · {running} running")
        } else {
            String::new()
        };
        let cases = self.set.case_count();
        let case = if cases > 1 {
            format!(
                " · case {}/{cases} {} ([ ])",
                self.case + 1,
                self.set.case(self.case).label
            )
        } else {
            String::new()
        };
        let title = format!(
            " Compare{} · baseline {} · columns {}–{} of {n}{case}{state}",
            self.set
                .name
                .as_ref()
                .map_or(String::new(), |s| format!(" {s}")),
            self.set.baseline().name,
            first + 1,
            first + shown,
        );
        put_line(
            buf,
            head,
            &Line::styled(ellipsize(&title, head.width as usize), theme.title),
        );
        let areas =
            Layout::horizontal(vec![Constraint::Ratio(1, per_page as u32); per_page]).split(cols);
        let base_text = self.done_text(self.set.baseline);
        let base_rec = self.record(self.set.baseline).cloned();
        for (slot, i) in (first..first + shown).enumerate() {
            self.render_column(
                i,
                areas[slot],
                buf,
                theme,
                p,
                base_text.as_deref(),
                base_rec.as_ref(),
            );
        }
        if let Some(ed) = &self.editor {
            render_editor(ed, &self.set.variants[ed.column].name, edit, buf, theme);
        }
    }

    fn record(&self, i: usize) -> Option<&CallRecord> {
        self.call(i).and_then(|c| c.record.as_ref())
    }

    fn done_text(&self, i: usize) -> Option<String> {
        self.record(i)
            .filter(|r| r.outcome == Outcome::Done)
            .map(|r| r.text.clone())
    }

    #[allow(clippy::too_many_arguments)]
    fn render_column(
        &mut self,
        i: usize,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        p: &CompareProps<'_>,
        base_text: Option<&str>,
        base_rec: Option<&CallRecord>,
    ) {
        let v = &self.set.variants[i];
        let is_base = i == self.set.baseline;
        let title = if is_base {
            format!(" {} · baseline ", v.name)
        } else {
            format!(" {} ", v.name)
        };
        let blk = block(title, i == self.selected, theme);
        let inner = blk.inner(area);
        blk.render(area, buf);
        let w = inner.width as usize;
        let mut head: Vec<Line<'static>> = Vec::new();
        let params = format!(
            "{} · max {} · temp {}",
            v.deployment_or(p.deployment),
            v.max_tokens.map_or("—".to_string(), |n| n.to_string()),
            v.temperature
                .map_or("default".to_string(), |t| t.to_string()),
        );
        head.push(Line::styled(ellipsize(&params, w), theme.muted));
        let one_line = |s: Option<&str>| s.map_or("—".to_string(), |s| s.replace('\n', " ⏎ "));
        head.push(Line::from(vec![
            Span::styled("sys  ", theme.muted),
            Span::styled(
                ellipsize(&one_line(v.system.as_deref()), w.saturating_sub(5)),
                theme.system,
            ),
        ]));
        head.push(Line::from(vec![
            Span::styled("user ", theme.muted),
            Span::styled(
                ellipsize(&one_line(v.user.as_deref()), w.saturating_sub(5)),
                theme.user,
            ),
        ]));
        let call = self.call(i);
        match call {
            None => head.push(Line::styled("not run yet (Enter runs all)", theme.muted)),
            Some(c) => {
                let mut phase = phase_text(c, p.now);
                if let Some(f) = c.record.as_ref().and_then(|r| r.finish_reason.as_deref()) {
                    phase.push_str(&format!(" · {f}"));
                }
                head.push(Line::styled(ellipsize(&phase, w), call_style(c, theme)));
                let ms = crate::domain::num::opt_ms;
                let rec = c.record.as_ref();
                let tps = c
                    .tokens_per_s(p.now)
                    .map_or("—".to_string(), |t| format!("{t:.1}"));
                let e2e = rec.and_then(|r| r.timing.e2e_ms);
                head.push(Line::styled(
                    ellipsize(
                        &format!("TTFT {} · e2e {} · {tps} tok/s", ms(c.ttft_ms), ms(e2e)),
                        w,
                    ),
                    theme.text,
                ));
                let tokens = match rec.and_then(|r| r.usage) {
                    Some(u) => format!(
                        "tok {}→{} (cached {}) · {}",
                        u.prompt_tokens,
                        u.completion_tokens,
                        u.cached_tokens,
                        rec.and_then(|r| r.cost_usd)
                            .map_or("unpriced".to_string(), |c| format!("${c:.6}"))
                    ),
                    None => format!(
                        "{} delta{} so far",
                        c.deltas,
                        if c.deltas == 1 { "" } else { "s" }
                    ),
                };
                head.push(Line::styled(ellipsize(&tokens, w), theme.text));
                if let Some(r) = rec
                    && let Some(e) = &r.error
                {
                    head.push(Line::styled(ellipsize(&e.to_string(), w), theme.error));
                }
                if let Some(v) = self.verdict(i) {
                    let (text, kind) = v.badge();
                    let style = match kind {
                        BadgeKind::Pass => theme.ok,
                        BadgeKind::Fail => theme.error,
                        BadgeKind::Pending => theme.accent,
                    };
                    head.push(Line::styled(ellipsize(&text, w), style));
                }
            }
        }
        let answer_text = self.done_text(i);
        if !is_base && let (Some(b), Some(r)) = (base_rec, self.record(i)) {
            head.push(Line::styled(
                ellipsize(&vs_baseline(r, b, base_text, answer_text.as_deref()), w),
                theme.accent,
            ));
        }
        head.push(Line::styled("─".repeat(w), theme.border));
        let head_h = (head.len() as u16).min(inner.height);
        let [top, body] =
            Layout::vertical([Constraint::Length(head_h), Constraint::Min(0)]).areas(inner);
        Paragraph::new(head).render(top, buf);
        let lines = match (is_base, base_text, answer_text.as_deref()) {
            (false, Some(b), Some(a)) => diff_lines(b, a, theme),
            // Rendered as the chat renders it (the diff view stays a word diff).
            _ => call.map_or_else(Vec::new, |c| {
                crate::tui::markdown::render(c.answer.text(), body.width, theme)
            }),
        };
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((self.scroll, 0))
            .render(body, buf);
        self.page_rows = body.height.saturating_sub(1).max(1);
    }
}

/// `vs base: e2e +120 ms (+10.0%) · $ +5.0% · 83% same`.
fn vs_baseline(
    r: &CallRecord,
    b: &CallRecord,
    base_text: Option<&str>,
    text: Option<&str>,
) -> String {
    let pct = |d: Option<Delta>| {
        d.and_then(|d| d.pct)
            .map_or("—".to_string(), |p| format!("{p:+.1}%"))
    };
    let e2e = Delta::between(r.timing.e2e_ms, b.timing.e2e_ms);
    let e2e = match e2e {
        Some(d) => format!("{:+.0} ms ({})", d.abs, pct(Some(d))),
        None => "—".into(),
    };
    let cost = pct(Delta::between(r.cost_usd, b.cost_usd));
    let same = match (base_text, text) {
        (Some(b), Some(a)) => format!(" · {:.0}% same", similarity(b, a) * 100.0),
        _ => String::new(),
    };
    format!("vs base: e2e {e2e} · $ {cost}{same}")
}

/// The answer as a word diff against the baseline's, split into lines.
pub fn diff_lines(baseline: &str, answer: &str, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::default()];
    let mut prev = DiffKind::Same;
    for span in word_diff(baseline, answer) {
        // Removed words right before added ones read as one word without colour: space them.
        if prev == DiffKind::Removed
            && span.kind == DiffKind::Added
            && !span.text.starts_with(char::is_whitespace)
            && let Some(l) = lines.last_mut()
        {
            l.push_span(Span::raw(" "));
        }
        prev = span.kind;
        let style: Style = match span.kind {
            DiffKind::Same => theme.text,
            DiffKind::Added => theme.ok.add_modifier(Modifier::BOLD),
            DiffKind::Removed => theme.error.add_modifier(Modifier::CROSSED_OUT),
        };
        for (j, part) in span.text.split('\n').enumerate() {
            if j > 0 {
                lines.push(Line::default());
            }
            if !part.is_empty()
                && let Some(l) = lines.last_mut()
            {
                l.push_span(Span::styled(part.to_string(), style));
            }
        }
    }
    lines
}

impl Component for Compare {
    fn on_key(&mut self, key: KeyEvent, _props: &Props<'_>) -> Handled {
        self.handle_key(key)
    }

    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, props: &Props<'_>) {
        let compare = CompareProps {
            deployment: props.deployment,
            now: props.now,
        };
        self.render(area, buf, theme, &compare);
    }

    fn hints(&self) -> Vec<Hint> {
        match self.editor {
            Some(_) => keymap::hints(keymap::COMPARE_EDIT),
            None => keymap::hints(keymap::COMPARE),
        }
    }

    fn wants_text(&self) -> bool {
        self.editor.is_some()
    }

    fn on_paste(&mut self, text: &str) {
        self.paste(text);
    }

    fn help_sections(&self) -> Vec<&'static str> {
        vec!["Compare", "Compare: editing a column"]
    }
}

impl Update for Compare {
    type Msg = (CallId, CallMsg);

    /// Progress of one of this screen's calls.
    fn update(&mut self, (id, msg): (CallId, CallMsg), props: &Props<'_>) -> Handled {
        self.on_call(id, msg, props.deployment, props.now)
    }
}
