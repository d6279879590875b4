//! The browser's embeddings pane: an embeddings deployment cannot chat, so instead of opening
//! a chat that would fail, the browser says so and offers an embeddings call (`e`), whose
//! figures (latency, tokens, vectors × dimensions) it shows here.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::block;
use crate::domain::arm::Deployment;
use crate::domain::embeddings::{EmbedRecord, is_embeddings_model};
use crate::domain::num::opt_ms;
use crate::tui::messages::{ArmCommand, Command, Handled, OpenTarget};
use crate::tui::theme::Theme;

/// Rows the pane takes (border included).
pub const HEIGHT: u16 = 4;

#[derive(Debug, Clone, Default, PartialEq)]
enum State {
    #[default]
    Idle,
    /// Enter was pressed on this embeddings deployment.
    Refused(String),
    /// An embeddings call to this deployment is in flight.
    Running(String),
    Done(Box<EmbedRecord>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EmbedPane {
    state: State,
}

/// The selected row's name when it is an embeddings deployment (the pane is shown for it).
pub fn embeddings_name(selected: Option<&Deployment>) -> Option<String> {
    selected
        .filter(|d| is_embeddings_model(&d.model))
        .map(|d| d.name.clone())
}

impl EmbedPane {
    /// Enter on `t`: a chat, unless its model embeds (then no failing chat: the pane says so).
    pub fn open(&mut self, t: OpenTarget) -> Handled {
        if is_embeddings_model(&t.model.model) {
            self.refuse(&t.name);
            Handled::Consumed
        } else {
            Handled::Command(Command::Arm(ArmCommand::Open(Box::new(t))))
        }
    }

    /// `e` on `t`: an embeddings call, when its model embeds.
    pub fn call(&mut self, t: OpenTarget) -> Handled {
        if is_embeddings_model(&t.model.model) {
            self.start(&t.name);
            Handled::Command(Command::Arm(ArmCommand::Embed(Box::new(t))))
        } else {
            Handled::Consumed
        }
    }

    /// Enter on an embeddings deployment: no chat; the pane says why.
    pub fn refuse(&mut self, deployment: &str) {
        self.state = State::Refused(deployment.to_string());
    }

    pub fn start(&mut self, deployment: &str) {
        self.state = State::Running(deployment.to_string());
    }

    /// A finished call; dropped unless it answers the call in flight.
    pub fn finish(&mut self, record: EmbedRecord) {
        if self.state == State::Running(record.deployment.clone()) {
            self.state = State::Done(Box::new(record));
        }
    }

    pub fn record(&self) -> Option<&EmbedRecord> {
        match &self.state {
            State::Done(r) => Some(r),
            State::Idle | State::Refused(_) | State::Running(_) => None,
        }
    }

    /// The pane for the selected embeddings deployment `name`.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, name: &str) {
        let blk = block(" Embeddings ", false, theme);
        let inner = blk.inner(area);
        blk.render(area, buf);
        let refused = self.state == State::Refused(name.to_string());
        let first = Line::from(vec![
            Span::styled(
                "embeddings model: cannot chat",
                if refused { theme.warn } else { theme.text },
            ),
            Span::styled(" · ", theme.muted),
            Span::styled("e", theme.hint_key),
            Span::styled(" runs an embeddings call", theme.hint_text),
        ]);
        let second = match &self.state {
            State::Running(d) if d == name => {
                Line::styled(format!("embeddings call to {d} …"), theme.muted)
            }
            State::Done(r) if r.deployment == name => result_line(r, theme),
            State::Idle | State::Refused(_) | State::Running(_) | State::Done(_) => Line::styled(
                "latency, tokens and dimensions of one call show here",
                theme.muted,
            ),
        };
        Paragraph::new(vec![first, second])
            .wrap(Wrap { trim: false })
            .render(inner, buf);
    }
}

fn result_line(r: &EmbedRecord, theme: &Theme) -> Line<'static> {
    if r.error.is_some() {
        return Line::styled(r.summary(), theme.error);
    }
    let mut s = format!(
        "{} · {} × {} · {} tokens · ttfb {} · e2e {}",
        r.status.map_or("—".to_string(), |s| s.to_string()),
        r.vectors,
        r.dimensions.map_or("—".to_string(), |d| d.to_string()),
        r.prompt_tokens.map_or("—".to_string(), |t| t.to_string()),
        opt_ms(r.ttfb_ms),
        opt_ms(r.e2e_ms),
    );
    if let Some(c) = r.cost_usd {
        s.push_str(&format!(" · ${c:.6}"));
    }
    Line::styled(s, theme.ok)
}
