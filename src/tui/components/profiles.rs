//! The profile picker (Alt+P, or `p` where no text input has focus): the config file's
//! profiles plus `simulator`, and — signed in with the az CLI — every subscription the user
//! can see. Choosing a profile asks the app to reconnect; choosing a subscription points the
//! deployments browser at it. The current ones are marked.

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
    /// `(id, display name)` of the subscriptions to switch to, after the profiles.
    pub subscriptions: Vec<(String, String)>,
    /// The subscription browsed (marked).
    pub current_subscription: Option<String>,
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
            subscriptions: Vec::new(),
            current_subscription: None,
        }
    }

    /// Adds the subscriptions (signed in with the az CLI); the current one is selected.
    pub fn with_subscriptions(
        mut self,
        subscriptions: Vec<(String, String)>,
        current: Option<String>,
    ) -> Self {
        if let Some(i) = current
            .as_ref()
            .and_then(|c| subscriptions.iter().position(|(id, _)| id == c))
        {
            self.selected = self.items.len() + i;
        }
        self.subscriptions = subscriptions;
        self.current_subscription = current;
        self
    }

    /// Modal: every key is consumed.
    pub fn handle_key(&mut self, key: KeyEvent) -> Handled {
        let n = self.items.len() + self.subscriptions.len();
        match keymap::lookup(keymap::PROFILES, &key) {
            Some(ProfileAction::Up) => self.selected = self.selected.saturating_sub(1),
            Some(ProfileAction::Down) => {
                self.selected = (self.selected + 1).min(n.saturating_sub(1))
            }
            Some(ProfileAction::Choose) => {
                if let Some(name) = self.items.get(self.selected) {
                    return Handled::Command(Command::Profile(ProfileCommand::Switch(
                        name.clone(),
                    )));
                }
                return match self.subscriptions.get(self.selected - self.items.len()) {
                    Some((id, _)) => {
                        Handled::Command(Command::Profile(ProfileCommand::Subscription(id.clone())))
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
        let subs = self.subscriptions.len();
        let w = area.width.min(if subs > 0 { 60 } else { 44 });
        let extra = if subs > 0 { subs as u16 + 1 } else { 0 };
        let h = (self.items.len() as u16 + 4 + extra).min(area.height);
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height.saturating_sub(h)) / 3,
            width: w,
            height: h,
        };
        Clear.render(r, buf);
        let title = if subs > 0 {
            " Switch profile or subscription "
        } else {
            " Switch profile "
        };
        let blk = block(title, true, theme);
        let inner = blk.inner(r);
        blk.render(r, buf);
        let room = (inner.width as usize).saturating_sub(2);
        let row = |i: usize, text: String, current: bool| {
            let mark = if current { " (current)" } else { "" };
            let style = if i == self.selected {
                theme.selection
            } else {
                theme.text
            };
            Line::from(vec![
                Span::styled(if i == self.selected { "▶ " } else { "  " }, theme.accent),
                Span::styled(ellipsize(&format!("{text}{mark}"), room), style),
            ])
        };
        let mut lines: Vec<Line> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, name)| row(i, name.clone(), Some(name) == self.current.as_ref()))
            .collect();
        if subs > 0 {
            lines.push(Line::styled("Subscriptions (az CLI)", theme.muted));
        }
        for (j, (id, name)) in self.subscriptions.iter().enumerate() {
            let short: String = id.chars().take(8).collect();
            let current = Some(id) == self.current_subscription.as_ref();
            lines.push(row(
                self.items.len() + j,
                format!("{name} {short}…"),
                current,
            ));
        }
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

    #[test]
    fn subscriptions_follow_the_profiles() {
        let mut p = ProfilePicker::new(vec!["simulator".into()], None).with_subscriptions(
            vec![
                ("1111-a".into(), "Dev".into()),
                ("2222-b".into(), "Prod".into()),
            ],
            Some("2222-b".into()),
        );
        assert_eq!(p.selected, 2);
        let k = |c| KeyEvent::new(c, KeyModifiers::NONE);
        p.handle_key(k(KeyCode::Up));
        assert_eq!(
            p.handle_key(k(KeyCode::Enter)),
            Handled::Command(Command::Profile(ProfileCommand::Subscription(
                "1111-a".into()
            )))
        );
        p.handle_key(k(KeyCode::Up));
        assert_eq!(
            p.handle_key(k(KeyCode::Enter)),
            Handled::Command(Command::Profile(ProfileCommand::Switch("simulator".into())))
        );
    }
}
