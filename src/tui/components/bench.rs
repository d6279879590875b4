//! The Bench screen (F5): a small form (open loop at a rate, or N closed-loop clients;
//! duration; prompt shape), live sparklines of RPM, TTFT p95 and 429s per second fed by the
//! engine's interval reports, the final report, and the PTU estimate of this session's chat
//! workload. Esc stops a run (the final report still comes).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::metrics::spark;
use super::ptu::{self, SessionWorkload};
use super::{block, ellipsize};
use crate::domain::ptu::PtuTable;
use crate::domain::stats::BenchReport;
use crate::engine::bench::Pacing;
use crate::tui::component::{Component, Props, Update};
use crate::tui::event::{BenchError, BenchMsg};
use crate::tui::keymap::{self, BenchAction, Hint};
use crate::tui::messages::{BenchCommand, BenchSpec, Command, Handled};
use crate::tui::theme::Theme;

/// Prompt shapes offered: the benchmark's named ones, and a small one for quick checks.
pub const SHAPES: [(&str, u32, u32); 5] = [
    ("balanced", 500, 500),
    ("context", 2000, 200),
    ("generation", 500, 1000),
    ("summarization", 7000, 150),
    ("small", 64, 16),
];

const FIELDS: usize = 4;

/// What the form holds; numbers are kept as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchForm {
    pub closed_loop: bool,
    pub rate: String,
    pub clients: String,
    pub duration: String,
    pub shape: usize,
}

impl Default for BenchForm {
    fn default() -> Self {
        BenchForm {
            closed_loop: false,
            rate: "60".into(),
            clients: "4".into(),
            duration: "30".into(),
            shape: 0,
        }
    }
}

impl BenchForm {
    /// The run the form describes, or what is wrong with it.
    pub fn spec(&self) -> Result<BenchSpec, String> {
        let pacing = if self.closed_loop {
            match self.clients.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => Pacing::Clients { n },
                _ => return Err("clients must be 1–1000".into()),
            }
        } else {
            match self.rate.parse::<f64>() {
                Ok(r) if r > 0.0 && r.is_finite() => Pacing::Rate { rpm: r },
                _ => return Err("rate must be a positive number of requests per minute".into()),
            }
        };
        let secs = match self.duration.parse::<u64>() {
            Ok(s) if (1..=3600).contains(&s) => s,
            _ => return Err("duration must be 1–3600 seconds".into()),
        };
        let (name, p, c) = SHAPES[self.shape % SHAPES.len()];
        Ok(BenchSpec {
            pacing,
            duration: std::time::Duration::from_secs(secs),
            shape: name,
            prompt_tokens: p,
            max_tokens: c,
        })
    }

    fn number(&mut self, field: usize) -> Option<&mut String> {
        match (field, self.closed_loop) {
            (1, false) => Some(&mut self.rate),
            (1, true) => Some(&mut self.clients),
            (2, _) => Some(&mut self.duration),
            _ => None,
        }
    }
}

/// One run: its interval reports and, once ended, the final report (or why it failed).
#[derive(Debug, Clone, PartialEq)]
pub struct BenchRun {
    pub generation: u64,
    pub deployment: String,
    pub spec: BenchSpec,
    pub reports: Vec<BenchReport>,
    pub result: Option<Result<BenchReport, BenchError>>,
    pub stopping: bool,
}

impl BenchRun {
    pub fn running(&self) -> bool {
        self.result.is_none()
    }
    fn latest(&self) -> Option<&BenchReport> {
        match &self.result {
            Some(Ok(r)) => Some(r),
            _ => self.reports.last(),
        }
    }
}

pub struct BenchView {
    pub form: BenchForm,
    focus: usize,
    pub run: Option<BenchRun>,
    /// Form errors, shown under the form.
    error: Option<String>,
    table: PtuTable,
    /// Token and PTU prices, for the PTU panel's PAYG-against-reservation line.
    prices: crate::domain::cost::PriceTable,
}

impl Default for BenchView {
    fn default() -> Self {
        BenchView {
            form: BenchForm::default(),
            focus: 0,
            run: None,
            error: None,
            table: PtuTable::builtin(),
            prices: crate::domain::cost::PriceTable::builtin(),
        }
    }
}

/// What the screen needs from the session.
pub struct BenchProps<'a> {
    pub deployment: &'a str,
    pub workload: Option<&'a SessionWorkload>,
}

impl BenchView {
    pub fn running(&self) -> bool {
        self.run.as_ref().is_some_and(BenchRun::running)
    }

    pub fn table(&self) -> &PtuTable {
        &self.table
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Handled {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if let (KeyCode::Char(c), true) = (key.code, plain)
            && c.is_ascii_digit()
            && let Some(f) = self.form.number(self.focus)
        {
            if f.len() < 6 {
                f.push(c);
            }
            self.error = None;
            return Handled::Consumed;
        }
        if key.code == KeyCode::Backspace
            && let Some(f) = self.form.number(self.focus)
        {
            f.pop();
            return Handled::Consumed;
        }
        let Some(action) = keymap::lookup(keymap::BENCH, &key) else {
            return Handled::Ignored;
        };
        match action {
            BenchAction::Start if self.running() => {
                self.error = Some("a run is in progress: Esc stops it".into());
            }
            BenchAction::Start => match self.form.spec() {
                Ok(spec) => {
                    self.error = None;
                    return Handled::Command(Command::Bench(BenchCommand::Start(spec)));
                }
                Err(e) => self.error = Some(e),
            },
            BenchAction::Stop if self.running() => {
                if let Some(r) = &mut self.run {
                    r.stopping = true;
                }
                return Handled::Command(Command::Bench(BenchCommand::Stop));
            }
            BenchAction::Stop => return Handled::Ignored,
            BenchAction::NextField => self.focus = (self.focus + 1) % FIELDS,
            BenchAction::PrevField => self.focus = (self.focus + FIELDS - 1) % FIELDS,
            BenchAction::Dec => self.step(-1),
            BenchAction::Inc => self.step(1),
        }
        Handled::Consumed
    }

    fn step(&mut self, d: i64) {
        match self.focus {
            0 => self.form.closed_loop = !self.form.closed_loop,
            3 => {
                let n = SHAPES.len() as i64;
                self.form.shape = ((self.form.shape as i64 + d).rem_euclid(n)) as usize;
            }
            f => {
                let stepsize = if f == 1 && !self.form.closed_loop {
                    10
                } else {
                    1
                };
                if let Some(v) = self.form.number(f) {
                    let cur: i64 = v.parse().unwrap_or(0);
                    *v = (cur + d * stepsize).max(1).to_string();
                }
            }
        }
    }

    /// A run was started by the app (after the form's command).
    pub fn started(&mut self, generation: u64, deployment: &str, spec: BenchSpec) {
        self.run = Some(BenchRun {
            generation,
            deployment: deployment.to_string(),
            spec,
            reports: vec![],
            result: None,
            stopping: false,
        });
    }

    /// An interval report; dropped unless it belongs to the current run.
    pub fn on_report(&mut self, generation: u64, r: BenchReport) -> bool {
        match &mut self.run {
            Some(run) if run.generation == generation && run.running() => {
                run.reports.push(r);
                true
            }
            _ => false,
        }
    }

    pub fn on_done(&mut self, generation: u64, result: Result<BenchReport, BenchError>) -> bool {
        match &mut self.run {
            Some(run) if run.generation == generation => {
                run.result = Some(result);
                true
            }
            _ => false,
        }
    }

    pub fn render(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, p: &BenchProps<'_>) {
        let [top, charts, bottom] = Layout::vertical([
            Constraint::Length(8),
            Constraint::Min(6),
            Constraint::Length(5),
        ])
        .areas(area);
        let form_w = if area.width >= 100 { 40 } else { 34 };
        let [form_a, run_a] =
            Layout::horizontal([Constraint::Length(form_w), Constraint::Min(10)]).areas(top);
        self.render_form(form_a, buf, theme, p.deployment);
        self.render_run(run_a, buf, theme);
        self.render_charts(charts, buf, theme);
        ptu::render(bottom, buf, theme, p.workload, &self.table, &self.prices);
    }

    fn render_form(&self, area: Rect, buf: &mut Buffer, theme: &Theme, deployment: &str) {
        let blk = block(format!(" Bench · {deployment} "), true, theme);
        let inner = blk.inner(area);
        blk.render(area, buf);
        let f = &self.form;
        let (shape, p, c) = SHAPES[f.shape % SHAPES.len()];
        let rows = [
            (
                "pacing",
                if f.closed_loop {
                    "clients (closed loop)".to_string()
                } else {
                    "rate (open loop)".to_string()
                },
            ),
            if f.closed_loop {
                ("clients", format!("{}▏", f.clients))
            } else {
                ("RPM", format!("{}▏", f.rate))
            },
            ("duration", format!("{}▏s", f.duration)),
            ("shape", format!("{shape} {p}/{c}")),
        ];
        let mut lines: Vec<Line> = rows
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let focused = i == self.focus;
                let marker = if focused { "▶ " } else { "  " };
                let v = if focused {
                    v.clone()
                } else {
                    v.replace('▏', "")
                };
                Line::from(vec![
                    Span::styled(format!("{marker}{k:<9}"), theme.muted),
                    Span::styled(v, if focused { theme.selection } else { theme.text }),
                ])
            })
            .collect();
        match &self.error {
            Some(e) => lines.push(Line::styled(e.clone(), theme.error)),
            None if self.running() => lines.push(Line::styled("running: Esc stops", theme.accent)),
            None => lines.push(Line::styled("Enter starts a run", theme.muted)),
        }
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(inner, buf);
    }

    fn render_run(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let title = match &self.run {
            None => " Run ".to_string(),
            Some(r) if r.running() && r.stopping => " Run · stopping… ".to_string(),
            Some(r) if r.running() => format!(" Run · {} · running ", r.spec.shape),
            Some(r) => match &r.result {
                Some(Ok(_)) => format!(" Run · {} · final ", r.spec.shape),
                _ => " Run · failed ".to_string(),
            },
        };
        let blk = block(title, false, theme);
        let inner = blk.inner(area);
        blk.render(area, buf);
        let w = inner.width as usize;
        let lines: Vec<Line> = match &self.run {
            None => vec![
                Line::styled("No run yet.", theme.muted),
                Line::styled(
                    "Load-tests the chat's deployment; reports every second.",
                    theme.muted,
                ),
            ],
            Some(run) => match (&run.result, run.latest()) {
                (Some(Err(e)), _) => vec![Line::styled(e.to_string(), theme.error)],
                (_, None) => vec![Line::styled(
                    format!("Starting against {}…", run.deployment),
                    theme.muted,
                )],
                (_, Some(r)) => report_lines(r, theme),
            },
        };
        let lines: Vec<Line> = lines
            .into_iter()
            .map(|l| {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                let style = l.spans.first().map_or(theme.text, |s| s.style);
                Line::styled(ellipsize(&text, w), style)
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }

    fn render_charts(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let reports: &[BenchReport] = self.run.as_ref().map_or(&[], |r| &r.reports);
        let rpm: Vec<f64> = reports.iter().map(|r| r.rpm).collect();
        let ttft: Vec<f64> = reports.iter().map(|r| r.ttft_ms.p95).collect();
        let throttled: Vec<f64> = reports.iter().map(|r| r.http_429 as f64).collect();
        let last = reports.last();
        let charts = [
            (
                format!(
                    " RPM {} ",
                    last.map_or("—".into(), |r| format!("{:.0}", r.rpm))
                ),
                rpm,
                theme.accent,
            ),
            (
                format!(
                    " TTFT p95 {} ",
                    last.filter(|r| r.ttft_ms.count > 0)
                        .map_or("—".into(), |r| crate::domain::num::fmt_ms(r.ttft_ms.p95))
                ),
                ttft,
                theme.ok,
            ),
            (
                format!(
                    " 429s {} ",
                    last.map_or("—".into(), |r| {
                        let mut t = format!("{} ({:.1} %)", r.http_429, r.rate_429 * 100.0);
                        // Calls a PTU deployment passed on instead of refusing them.
                        if r.spilled > 0 {
                            t.push_str(&format!(" · spilled {}", r.spilled));
                        }
                        t
                    })
                ),
                throttled,
                theme.warn,
            ),
        ];
        let areas = Layout::vertical([Constraint::Ratio(1, 3); 3]).split(area);
        for ((title, data, style), a) in charts.into_iter().zip(areas.iter()) {
            chart(*a, buf, theme, title, &data, style);
        }
    }
}

fn chart(area: Rect, buf: &mut Buffer, theme: &Theme, title: String, data: &[f64], style: Style) {
    let blk = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border)
        .title(title)
        .title_style(theme.title);
    let inner = blk.inner(area);
    blk.render(area, buf);
    if data.is_empty() {
        Paragraph::new(Span::styled("no reports yet", theme.muted)).render(inner, buf);
    } else {
        spark(inner, buf, data, style);
    }
}

fn report_lines(r: &BenchReport, theme: &Theme) -> Vec<Line<'static>> {
    use crate::domain::num::fmt_ms;
    let pct = |p: &crate::domain::stats::Percentiles| {
        if p.count == 0 {
            "—".to_string()
        } else {
            format!("p50 {} p95 {}", fmt_ms(p.p50), fmt_ms(p.p95))
        }
    };
    let mut out = vec![
        Line::styled(
            format!(
                "{:.1} s · started {} · done {} · failed {} · 429 {} · in flight {}",
                r.elapsed_s, r.started, r.completed, r.failed, r.throttled, r.in_flight
            ),
            theme.text,
        ),
        Line::styled(
            format!(
                "RPM {:.0} · in {:.0} TPM · out {:.0} TPM · dropped {} · late {}",
                r.rpm, r.input_tpm, r.output_tpm, r.dropped, r.late_starts
            ),
            theme.text,
        ),
        Line::styled(format!("TTFT {}", pct(&r.ttft_ms)), theme.text),
        Line::styled(format!("e2e  {}", pct(&r.e2e_ms)), theme.text),
    ];
    if let Some(p) = &r.ptu {
        out.push(Line::styled(
            format!(
                "PTU {} {} ({:.1} exact) for {:.0}+{:.0} tokens at {:.0} RPM",
                p.ptu,
                p.deployment_type.as_str(),
                p.ptu_exact,
                p.prompt_tokens,
                p.completion_tokens,
                p.rpm
            ),
            theme.accent,
        ));
    } else if let Some(n) = &r.ptu_note {
        out.push(Line::styled(format!("PTU — {n}"), theme.muted));
    }
    if let Some(e) = &r.last_error {
        out.push(Line::styled(format!("last error: {e}"), theme.error));
    }
    out
}

impl Component for BenchView {
    fn on_key(&mut self, key: KeyEvent, _props: &Props<'_>) -> Handled {
        self.handle_key(key)
    }

    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, props: &Props<'_>) {
        let workload = ptu::session_workload(props.session);
        let bench = BenchProps {
            deployment: props.deployment,
            workload: workload.as_ref(),
        };
        self.render(area, buf, theme, &bench);
    }

    fn hints(&self) -> Vec<Hint> {
        keymap::hints(keymap::BENCH)
    }

    fn wants_text(&self) -> bool {
        matches!(self.focus, 1 | 2)
    }

    fn help_sections(&self) -> Vec<&'static str> {
        vec!["Bench"]
    }
}

impl Update for BenchView {
    type Msg = BenchMsg;

    /// Progress of a run; a superseded run's is dropped.
    fn update(&mut self, msg: BenchMsg, _props: &Props<'_>) -> Handled {
        let changed = match msg {
            BenchMsg::Report { generation, report } => self.on_report(generation, *report),
            BenchMsg::Done { generation, result } => self.on_done(generation, result.map(|r| *r)),
        };
        if changed {
            Handled::Consumed
        } else {
            Handled::Ignored
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn form_edits_and_starts_a_run() {
        let mut b = BenchView::default();
        b.handle_key(key(KeyCode::Down));
        for _ in 0..2 {
            b.handle_key(key(KeyCode::Backspace));
        }
        b.handle_key(key(KeyCode::Char('9')));
        b.handle_key(key(KeyCode::Down));
        b.handle_key(key(KeyCode::Backspace));
        b.handle_key(key(KeyCode::Backspace));
        b.handle_key(key(KeyCode::Char('3')));
        b.handle_key(key(KeyCode::Down));
        b.handle_key(key(KeyCode::Left));
        let out = b.handle_key(key(KeyCode::Enter));
        let Handled::Command(Command::Bench(BenchCommand::Start(spec))) = out else {
            panic!("{out:?}");
        };
        assert_eq!(spec.pacing, Pacing::Rate { rpm: 9.0 });
        assert_eq!(spec.duration.as_secs(), 3);
        assert_eq!(
            (spec.shape, spec.prompt_tokens, spec.max_tokens),
            ("small", 64, 16)
        );
        b.started(1, "gpt-4o", spec);
        assert!(b.running());
        assert!(
            !b.on_report(2, BenchReport::default()),
            "another run's report is dropped"
        );
        assert!(b.on_report(1, BenchReport::default()));
        assert_eq!(
            b.handle_key(key(KeyCode::Esc)),
            Handled::Command(Command::Bench(BenchCommand::Stop))
        );
        assert!(b.on_done(1, Ok(BenchReport::default())));
        assert!(!b.running());
        assert_eq!(b.handle_key(key(KeyCode::Esc)), Handled::Ignored);
    }

    #[test]
    fn bad_numbers_are_reported_in_the_form() {
        let mut b = BenchView::default();
        b.handle_key(key(KeyCode::Down));
        b.handle_key(key(KeyCode::Backspace));
        b.handle_key(key(KeyCode::Backspace));
        assert_eq!(b.handle_key(key(KeyCode::Enter)), Handled::Consumed);
        assert!(b.error.as_deref().unwrap().starts_with("rate must be"));
    }
}
