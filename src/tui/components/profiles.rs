//! The profile picker (Alt+P, or `p` where no text input has focus): the config file's
//! profiles plus `simulator`. Choosing one asks the app to reconnect; the current one is
//! marked.

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::{block, ellipsize};
use crate::tui::component::{Component, Props};
use crate::tui::keymap::{self, Hint, ProfileAction};
use crate::tui::messages::{Command, Handled, ProfileCommand};
use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq)]
pub struct ProfilePicker {
    pub items: Vec<String>,
    pub selected: usize,
    /// The profile in use (marked).
    pub current: Option<String>,
}

impl ProfilePicker {
    pub fn new(items: Vec<String>, current: Option<String>) -> Self {
        let selected = current
            .as_ref()
            .and_then(|c| items.iter().position(|i| i == c))
            .unwrap_or(0);
        ProfilePicker {
            items,
            selected,
            current,
        }
    }

    /// Modal: every key is consumed.
    pub fn handle_key(&mut self, key: KeyEvent) -> Handled {
        let n = self.items.len();
        match keymap::lookup(keymap::PROFILES, &key) {
            Some(ProfileAction::Up) => self.selected = self.selected.saturating_sub(1),
            Some(ProfileAction::Down) => {
                self.selected = (self.selected + 1).min(n.saturating_sub(1))
            }
            Some(ProfileAction::Choose) => {
                return match self.items.get(self.selected) {
                    Some(name) => {
                        Handled::Command(Command::Profile(ProfileCommand::Switch(name.clone())))
                    }
                    None => Handled::Consumed,
                };
            }
            Some(ProfileAction::Close) => {
                return Handled::Command(Command::Profile(ProfileCommand::ClosePicker));
            }
            None => {}
        }
        Handled::Consumed
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let w = area.width.min(44);
        let h = (self.items.len() as u16 + 4).min(area.height);
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height.saturating_sub(h)) / 3,
            width: w,
            height: h,
        };
        Clear.render(r, buf);
        let blk = block(" Switch profile ", true, theme);
        let inner = blk.inner(r);
        blk.render(r, buf);
        let mut lines: Vec<Line> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mark = if Some(name) == self.current.as_ref() {
                    " (current)"
                } else {
                    ""
                };
                let text = ellipsize(&format!("{name}{mark}"), inner.width as usize - 2);
                let style = if i == self.selected {
                    theme.selection
                } else {
                    theme.text
                };
                Line::from(vec![
                    Span::styled(if i == self.selected { "▶ " } else { "  " }, theme.accent),
                    Span::styled(text, style),
                ])
            })
            .collect();
        lines.push(Line::styled("Enter switches · Esc closes", theme.muted));
        Paragraph::new(lines).render(inner, buf);
    }
}

impl Component for ProfilePicker {
    fn on_key(&mut self, key: KeyEvent, _props: &Props<'_>) -> Handled {
        self.handle_key(key)
    }

    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, _props: &Props<'_>) {
        self.render(area, buf, theme);
    }

    fn hints(&self) -> Vec<Hint> {
        keymap::hints(keymap::PROFILES)
    }

    fn help_sections(&self) -> Vec<&'static str> {
        vec!["Profile picker"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    #[test]
    fn picks_and_closes() {
        let mut p = ProfilePicker::new(
            vec!["jump".into(), "simulator".into()],
            Some("simulator".into()),
        );
        assert_eq!(p.selected, 1);
        let k = |c| KeyEvent::new(c, KeyModifiers::NONE);
        p.handle_key(k(KeyCode::Up));
        assert_eq!(
            p.handle_key(k(KeyCode::Enter)),
            Handled::Command(Command::Profile(ProfileCommand::Switch("jump".into())))
        );
        assert_eq!(p.handle_key(k(KeyCode::Char('x'))), Handled::Consumed);
        assert_eq!(
            p.handle_key(k(KeyCode::Esc)),
            Handled::Command(Command::Profile(ProfileCommand::ClosePicker))
        );
    }
}
