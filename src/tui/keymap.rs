//! Typed actions per context and the one table per context that both handles keys and builds
//! the hint bar and the `?` help. No binding relies only on Ctrl+W/T/N (browser terminals
//! swallow them): screens switch with F-keys, Alt+digit, or a digit when no text has focus.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// One key chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

const fn k(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}
const fn ch(c: char) -> Key {
    k(KeyCode::Char(c))
}
const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}
const fn alt(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::ALT,
    }
}

impl Key {
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        if ev.kind == KeyEventKind::Release {
            return false;
        }
        let mods = ev.modifiers - KeyModifiers::SHIFT;
        let code = match ev.code {
            KeyCode::Char(c) => KeyCode::Char(if self.mods.contains(KeyModifiers::CONTROL) {
                c.to_ascii_lowercase()
            } else {
                c
            }),
            other => other,
        };
        code == self.code && mods == self.mods
    }

    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("Ctrl+");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("Alt+");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("Space"),
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::CONTROL) => {
                s.push(c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => s.push(c),
            KeyCode::F(n) => s.push_str(&format!("F{n}")),
            KeyCode::Enter => s.push_str("Enter"),
            KeyCode::Esc => s.push_str("Esc"),
            KeyCode::Tab => s.push_str("Tab"),
            KeyCode::BackTab => s.push_str("Shift+Tab"),
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            KeyCode::PageUp => s.push_str("PgUp"),
            KeyCode::PageDown => s.push_str("PgDn"),
            KeyCode::Home => s.push_str("Home"),
            KeyCode::End => s.push_str("End"),
            KeyCode::Backspace => s.push_str("Backspace"),
            other => s.push_str(&format!("{other:?}")),
        }
        s
    }
}

/// One row of a keymap: keys, the action, the help text, and whether the hint bar shows it.
#[derive(Debug, Clone, Copy)]
pub struct Binding<A: 'static> {
    pub keys: &'static [Key],
    pub action: A,
    pub help: &'static str,
    pub hint: bool,
}

const fn b<A>(keys: &'static [Key], action: A, help: &'static str, hint: bool) -> Binding<A> {
    Binding {
        keys,
        action,
        help,
        hint,
    }
}

pub fn lookup<A: Copy>(table: &[Binding<A>], ev: &KeyEvent) -> Option<A> {
    table
        .iter()
        .find(|b| b.keys.iter().any(|k| k.matches(ev)))
        .map(|b| b.action)
}

/// Keys joined for display: `Enter`, `Alt+Enter/Ctrl+J`.
pub fn keys_label(keys: &[Key]) -> String {
    keys.iter().map(Key::label).collect::<Vec<_>>().join("/")
}

/// A hint: short key label + short text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub key: String,
    pub text: &'static str,
}

pub fn hints<A>(table: &[Binding<A>]) -> Vec<Hint> {
    table
        .iter()
        .filter(|b| b.hint)
        .map(|b| Hint {
            key: b.keys.first().map(Key::label).unwrap_or_default(),
            text: b.help,
        })
        .collect()
}

// ---- actions ----

mod tables;
mod traffic;
pub use tables::*;
pub use traffic::*;

/// One section of the `?` help: a title and (keys, help) rows, built from the tables above.
pub struct HelpSection {
    pub title: &'static str,
    pub rows: Vec<(String, &'static str)>,
}

fn rows<A>(table: &[Binding<A>]) -> Vec<(String, &'static str)> {
    table.iter().map(|b| (keys_label(b.keys), b.help)).collect()
}

/// Every binding, grouped by context: the source of the help screen and docs/console.md.
pub fn help_sections() -> Vec<HelpSection> {
    vec![
        HelpSection {
            title: "Everywhere",
            rows: rows(GLOBAL_ALWAYS),
        },
        HelpSection {
            title: "Where no text input has focus",
            rows: rows(GLOBAL_UNFOCUSED),
        },
        HelpSection {
            title: "Chat: prompt input",
            rows: rows(CHAT_INPUT),
        },
        HelpSection {
            title: "Chat: system prompt",
            rows: rows(CHAT_SYSTEM),
        },
        HelpSection {
            title: "Chat: parameters",
            rows: rows(CHAT_PARAMS),
        },
        HelpSection {
            title: "Chat: transcript",
            rows: rows(CHAT_TRANSCRIPT),
        },
        HelpSection {
            title: "History",
            rows: rows(HISTORY_TABLE),
        },
        HelpSection {
            title: "History: call details",
            rows: rows(HISTORY_DETAIL),
        },
        HelpSection {
            title: "Deployments",
            rows: rows(DEPLOYMENTS),
        },
        HelpSection {
            title: "Deployments: filter",
            rows: rows(DEPLOYMENTS_FILTER),
        },
        HelpSection {
            title: "Bench",
            rows: rows(BENCH),
        },
        HelpSection {
            title: "Profile picker",
            rows: rows(PROFILES),
        },
        HelpSection {
            title: "Replay",
            rows: rows(REPLAY),
        },
        HelpSection {
            title: "Traffic",
            rows: rows(TRAFFIC),
        },
        HelpSection {
            title: "Traffic: call details",
            rows: rows(TRAFFIC_DETAIL),
        },
        HelpSection {
            title: "Compare",
            rows: rows(COMPARE),
        },
        HelpSection {
            title: "Compare: editing a column",
            rows: rows(COMPARE_EDIT),
        },
        HelpSection {
            title: "Help",
            rows: rows(HELP),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn lookup_matches_modifiers() {
        assert_eq!(
            lookup(CHAT_INPUT, &key(KeyCode::Enter, KeyModifiers::NONE)),
            Some(ChatAction::Send)
        );
        assert_eq!(
            lookup(CHAT_INPUT, &key(KeyCode::Enter, KeyModifiers::ALT)),
            Some(ChatAction::Newline)
        );
        assert_eq!(
            lookup(CHAT_INPUT, &key(KeyCode::Char('j'), KeyModifiers::CONTROL)),
            Some(ChatAction::Newline)
        );
        assert_eq!(
            lookup(CHAT_INPUT, &key(KeyCode::Char('x'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            lookup(
                GLOBAL_ALWAYS,
                &key(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(GlobalAction::Interrupt)
        );
        assert_eq!(
            lookup(HISTORY_TABLE, &key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(HistoryAction::Bottom)
        );
        assert_eq!(
            lookup(CHAT_INPUT, &key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(ChatAction::FocusPrev)
        );
    }

    #[test]
    fn nothing_relies_only_on_browser_swallowed_keys() {
        let swallowed = [ctrl('w'), ctrl('t'), ctrl('n')];
        for s in help_sections() {
            for (keys, help) in s.rows {
                for bad in &swallowed {
                    assert_ne!(
                        keys,
                        bad.label(),
                        "{}: `{help}` is bound only to {keys}",
                        s.title
                    );
                }
            }
        }
    }

    #[test]
    fn labels() {
        assert_eq!(
            keys_label(&[alt(KeyCode::Enter), ctrl('j')]),
            "Alt+Enter/Ctrl+J"
        );
        assert_eq!(k(KeyCode::F(2)).label(), "F2");
    }
}
