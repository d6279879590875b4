//! The Compare screen's column editor (`e`): the fields of one variant, in Tab order, and
//! how they are checked and drawn.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use crate::domain::compare::Variant;
use crate::tui::theme::Theme;

/// The fields `e` edits, in Tab order.
pub const FIELDS: [&str; 5] = ["user", "system", "max tokens", "temperature", "deployment"];

/// Editing one column's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Editor {
    pub column: usize,
    pub field: usize,
    pub values: [String; 5],
    pub error: Option<String>,
}

impl Editor {
    pub(super) fn of(column: usize, v: &Variant) -> Self {
        Editor {
            column,
            field: 0,
            values: [
                v.user.clone().unwrap_or_default(),
                v.system.clone().unwrap_or_default(),
                v.max_tokens.map_or(String::new(), |n| n.to_string()),
                v.temperature.map_or(String::new(), |t| t.to_string()),
                v.deployment.clone().unwrap_or_default(),
            ],
            error: None,
        }
    }

    /// Writes the values into `v`, or says which field is wrong.
    pub(super) fn apply(&self, v: &mut Variant) -> Result<(), String> {
        let text = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        let max_tokens = match self.values[2].trim() {
            "" => None,
            s => Some(
                s.parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("max tokens: `{s}` is not a positive whole number"))?,
            ),
        };
        let temperature = match self.values[3].trim() {
            "" => None,
            s => Some(
                s.parse::<f64>()
                    .ok()
                    .filter(|t| (0.0..=2.0).contains(t))
                    .ok_or(format!("temperature: `{s}` is not between 0 and 2"))?,
            ),
        };
        v.user = text(&self.values[0]);
        v.system = text(&self.values[1]);
        v.max_tokens = max_tokens;
        v.temperature = temperature;
        v.deployment = text(self.values[4].trim());
        Ok(())
    }
}

pub(super) fn render_editor(ed: &Editor, name: &str, area: Rect, buf: &mut Buffer, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let blk = block(
        format!(" Edit {name} (Enter applies, Esc discards) "),
        true,
        theme,
    );
    let inner = blk.inner(area);
    blk.render(area, buf);
    let mut lines = Vec::new();
    for (j, f) in FIELDS.iter().enumerate() {
        let active = j == ed.field;
        let value = ed.values[j].replace('\n', " ⏎ ");
        let cursor = if active { "▏" } else { "" };
        let room = (inner.width as usize).saturating_sub(14);
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<12}", f),
                if active { theme.accent } else { theme.muted },
            ),
            Span::styled(
                format!("  {}{cursor}", tail(&value, room)),
                if active { theme.text } else { theme.muted },
            ),
        ]));
    }
    if let Some(e) = &ed.error {
        lines.push(Line::styled(e.clone(), theme.error));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// The end of `s` that fits in `max` columns (so the cursor stays visible).
fn tail(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let skip = n - max.saturating_sub(1);
    format!("…{}", s.chars().skip(skip).collect::<String>())
}
