//! The `?` overlay: every binding, built from the same keymap tables that handle the keys.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::block;
use crate::tui::component::{Component, Props};
use crate::tui::keymap::{self, HelpAction, Hint};
use crate::tui::messages::{Command, Handled};
use crate::tui::theme::Theme;

#[derive(Debug, Default)]
pub struct Help {
    scroll: u16,
    /// Section titles shown first: the keys of the screen (and field) help was opened on.
    first: Vec<&'static str>,
}

impl Help {
    /// Help opened on a screen: its sections first, then everything else.
    pub fn on(first: Vec<&'static str>) -> Self {
        Help { scroll: 0, first }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Handled {
        match keymap::lookup(keymap::HELP, &key) {
            Some(HelpAction::Close) => Handled::Command(Command::CloseHelp),
            Some(HelpAction::Up) => {
                self.scroll = self.scroll.saturating_sub(1);
                Handled::Consumed
            }
            Some(HelpAction::Down) => {
                self.scroll = self.scroll.saturating_add(1);
                Handled::Consumed
            }
            // Modal: every other key is swallowed.
            None => Handled::Consumed,
        }
    }

    /// The help text as lines, in the order of docs/console.md.
    pub fn lines(theme: &Theme) -> Vec<Line<'static>> {
        Self::lines_with_first(theme, &[])
    }

    /// The help text with the sections titled in `first` moved to the top, in that order.
    pub fn lines_with_first(theme: &Theme, first: &[&str]) -> Vec<Line<'static>> {
        let mut sections = keymap::help_sections();
        let rank = |t: &str| first.iter().position(|f| *f == t).unwrap_or(first.len());
        sections.sort_by_key(|s| rank(s.title));
        let mut out = Vec::new();
        for (i, s) in sections.into_iter().enumerate() {
            if i > 0 {
                out.push(Line::default());
            }
            out.push(Line::styled(s.title, theme.heading));
            let w = s
                .rows
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (keys, help) in s.rows {
                out.push(Line::from(vec![
                    Span::styled(format!("  {keys:<w$}  "), theme.accent),
                    Span::styled(help, theme.text),
                ]));
            }
        }
        out
    }

    pub fn render(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let w = area.width.saturating_sub(4).min(72);
        let h = area.height.saturating_sub(2);
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + 1,
            width: w,
            height: h,
        };
        Clear.render(r, buf);
        let lines = Self::lines_with_first(theme, &self.first);
        let max = (lines.len() as u16).saturating_sub(h.saturating_sub(2));
        self.scroll = self.scroll.min(max);
        Paragraph::new(lines)
            .block(block(" Keys (Esc closes, ↑/↓ scroll) ", true, theme))
            .wrap(Wrap { trim: false })
            .scroll((self.scroll, 0))
            .render(r, buf);
    }
}

impl Component for Help {
    fn on_key(&mut self, key: KeyEvent, _props: &Props<'_>) -> Handled {
        self.handle_key(key)
    }

    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, _props: &Props<'_>) {
        self.render(area, buf, theme);
    }

    fn hints(&self) -> Vec<Hint> {
        keymap::hints(keymap::HELP)
    }

    fn help_sections(&self) -> Vec<&'static str> {
        vec![]
    }
}
