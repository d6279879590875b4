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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalAction {
    Help,
    Chat,
    History,
    Deployments,
    /// Ctrl+C: cancel the call in flight, else (pressed twice) quit.
    Interrupt,
    Quit,
    /// The Replay screen (`aoai replay FILE`).
    Replay,
    /// Start or stop recording calls to a scenario file.
    Record,
    /// The Compare screen (prompt variants side by side).
    Compare,
    /// The Bench screen (load test the current deployment).
    Bench,
    /// The profile picker.
    Profiles,
}

/// Keys that work everywhere, checked before the focused component.
pub const GLOBAL_ALWAYS: &[Binding<GlobalAction>] = &[
    b(&[k(KeyCode::F(1))], GlobalAction::Help, "help", false),
    b(
        &[k(KeyCode::F(2)), alt(KeyCode::Char('1'))],
        GlobalAction::Chat,
        "chat",
        false,
    ),
    b(
        &[k(KeyCode::F(3)), alt(KeyCode::Char('2'))],
        GlobalAction::History,
        "history",
        false,
    ),
    b(
        &[k(KeyCode::F(4)), alt(KeyCode::Char('3'))],
        GlobalAction::Deployments,
        "deployments",
        false,
    ),
    b(
        &[ctrl('c')],
        GlobalAction::Interrupt,
        "cancel call / twice to quit",
        false,
    ),
    b(
        &[k(KeyCode::F(9)), alt(KeyCode::Char('5'))],
        GlobalAction::Replay,
        "replay (aoai replay FILE)",
        false,
    ),
    b(
        &[ctrl('r'), k(KeyCode::F(8))],
        GlobalAction::Record,
        "record calls on/off",
        false,
    ),
    b(
        &[k(KeyCode::F(7)), alt(KeyCode::Char('6'))],
        GlobalAction::Compare,
        "compare prompt variants",
        false,
    ),
    b(
        &[k(KeyCode::F(5)), alt(KeyCode::Char('4'))],
        GlobalAction::Bench,
        "bench (load test)",
        false,
    ),
    b(
        &[alt(KeyCode::Char('p'))],
        GlobalAction::Profiles,
        "switch profile",
        false,
    ),
];

/// Keys that work where no text input has focus (checked after the component ignores a key).
pub const GLOBAL_UNFOCUSED: &[Binding<GlobalAction>] = &[
    b(&[ch('?')], GlobalAction::Help, "help", true),
    b(&[ch('1')], GlobalAction::Chat, "chat", false),
    b(&[ch('2')], GlobalAction::History, "history", false),
    b(&[ch('3')], GlobalAction::Deployments, "deployments", false),
    b(&[ch('q')], GlobalAction::Quit, "quit", true),
    b(&[ch('5')], GlobalAction::Replay, "replay", false),
    b(&[ch('R')], GlobalAction::Record, "record on/off", false),
    b(&[ch('6')], GlobalAction::Compare, "compare", false),
    b(&[ch('4')], GlobalAction::Bench, "bench", false),
    b(&[ch('p')], GlobalAction::Profiles, "switch profile", false),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatAction {
    Send,
    Newline,
    Cancel,
    Editor,
    FocusNext,
    FocusPrev,
    NewConversation,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
    FocusInput,
    ParamPrev,
    ParamNext,
    ParamDec,
    ParamInc,
}

/// The prompt (and the system prompt) text inputs.
pub const CHAT_INPUT: &[Binding<ChatAction>] = &[
    b(&[k(KeyCode::Enter)], ChatAction::Send, "send", true),
    b(
        &[alt(KeyCode::Enter), ctrl('j')],
        ChatAction::Newline,
        "newline",
        true,
    ),
    b(&[k(KeyCode::Esc)], ChatAction::Cancel, "cancel/leave", true),
    b(
        &[ctrl('g'), k(KeyCode::F(6))],
        ChatAction::Editor,
        "$EDITOR",
        true,
    ),
    b(
        &[k(KeyCode::Tab)],
        ChatAction::FocusNext,
        "next field",
        true,
    ),
    b(
        &[k(KeyCode::BackTab)],
        ChatAction::FocusPrev,
        "previous field",
        false,
    ),
    b(
        &[k(KeyCode::PageUp)],
        ChatAction::PageUp,
        "scroll transcript up",
        false,
    ),
    b(
        &[k(KeyCode::PageDown)],
        ChatAction::PageDown,
        "scroll transcript down",
        false,
    ),
    b(
        &[ctrl('l')],
        ChatAction::NewConversation,
        "new conversation",
        false,
    ),
];

/// The system prompt: Enter inserts a newline there, Tab leaves.
pub const CHAT_SYSTEM: &[Binding<ChatAction>] = &[
    b(
        &[k(KeyCode::Esc)],
        ChatAction::FocusInput,
        "back to prompt",
        true,
    ),
    b(
        &[k(KeyCode::Tab)],
        ChatAction::FocusNext,
        "next field",
        true,
    ),
    b(
        &[k(KeyCode::BackTab)],
        ChatAction::FocusPrev,
        "previous field",
        false,
    ),
    b(
        &[ctrl('g'), k(KeyCode::F(6))],
        ChatAction::Editor,
        "edit in $EDITOR",
        true,
    ),
];

/// The parameter row (max tokens, temperature, API path, retry).
pub const CHAT_PARAMS: &[Binding<ChatAction>] = &[
    b(
        &[k(KeyCode::Left), ch('h')],
        ChatAction::ParamPrev,
        "previous parameter",
        true,
    ),
    b(
        &[k(KeyCode::Right), ch('l')],
        ChatAction::ParamNext,
        "next parameter",
        true,
    ),
    b(
        &[ch('-'), k(KeyCode::Down), ch('j')],
        ChatAction::ParamDec,
        "decrease / previous value",
        true,
    ),
    b(
        &[ch('+'), ch('='), k(KeyCode::Up), ch('k')],
        ChatAction::ParamInc,
        "increase / next value",
        true,
    ),
    b(
        &[k(KeyCode::Tab)],
        ChatAction::FocusNext,
        "next field",
        false,
    ),
    b(
        &[k(KeyCode::BackTab)],
        ChatAction::FocusPrev,
        "previous field",
        false,
    ),
    b(
        &[k(KeyCode::Esc), k(KeyCode::Enter), ch('i')],
        ChatAction::FocusInput,
        "back to prompt",
        true,
    ),
];

/// The transcript (no text input: `q` quits here).
pub const CHAT_TRANSCRIPT: &[Binding<ChatAction>] = &[
    b(
        &[ch('i'), k(KeyCode::Enter)],
        ChatAction::FocusInput,
        "type",
        true,
    ),
    b(
        &[k(KeyCode::Up), ch('k')],
        ChatAction::ScrollUp,
        "scroll up",
        false,
    ),
    b(
        &[k(KeyCode::Down), ch('j')],
        ChatAction::ScrollDown,
        "scroll down",
        false,
    ),
    b(&[k(KeyCode::PageUp)], ChatAction::PageUp, "page up", false),
    b(
        &[k(KeyCode::PageDown), ch(' ')],
        ChatAction::PageDown,
        "page down",
        false,
    ),
    b(&[ch('g'), k(KeyCode::Home)], ChatAction::Top, "top", false),
    b(
        &[ch('G'), k(KeyCode::End)],
        ChatAction::Bottom,
        "bottom (follow)",
        false,
    ),
    b(
        &[ch('n'), ctrl('l')],
        ChatAction::NewConversation,
        "new conversation",
        true,
    ),
    b(&[k(KeyCode::Esc)], ChatAction::Cancel, "cancel call", false),
    b(
        &[ctrl('g'), k(KeyCode::F(6))],
        ChatAction::Editor,
        "edit prompt in $EDITOR",
        false,
    ),
    b(
        &[k(KeyCode::Tab)],
        ChatAction::FocusNext,
        "next field",
        true,
    ),
    b(
        &[k(KeyCode::BackTab)],
        ChatAction::FocusPrev,
        "previous field",
        false,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryAction {
    Up,
    Down,
    Top,
    Bottom,
    Open,
    Back,
    CopyRequestId,
    CopyAnswer,
    PageUp,
    PageDown,
}

pub const HISTORY_TABLE: &[Binding<HistoryAction>] = &[
    b(&[k(KeyCode::Up), ch('k')], HistoryAction::Up, "up", false),
    b(
        &[k(KeyCode::Down), ch('j')],
        HistoryAction::Down,
        "down",
        false,
    ),
    b(
        &[ch('g'), k(KeyCode::Home)],
        HistoryAction::Top,
        "first",
        false,
    ),
    b(
        &[ch('G'), k(KeyCode::End)],
        HistoryAction::Bottom,
        "last",
        false,
    ),
    b(&[k(KeyCode::Enter)], HistoryAction::Open, "details", true),
    b(
        &[ch('c')],
        HistoryAction::CopyRequestId,
        "copy request id",
        true,
    ),
    b(&[ch('y')], HistoryAction::CopyAnswer, "copy answer", true),
];

pub const HISTORY_DETAIL: &[Binding<HistoryAction>] = &[
    b(
        &[k(KeyCode::Esc), k(KeyCode::Backspace)],
        HistoryAction::Back,
        "back",
        true,
    ),
    b(
        &[k(KeyCode::Up), ch('k')],
        HistoryAction::Up,
        "scroll up",
        false,
    ),
    b(
        &[k(KeyCode::Down), ch('j')],
        HistoryAction::Down,
        "scroll down",
        false,
    ),
    b(
        &[k(KeyCode::PageUp)],
        HistoryAction::PageUp,
        "page up",
        false,
    ),
    b(
        &[k(KeyCode::PageDown), ch(' ')],
        HistoryAction::PageDown,
        "page down",
        false,
    ),
    b(
        &[ch('g'), k(KeyCode::Home)],
        HistoryAction::Top,
        "top",
        false,
    ),
    b(
        &[ch('c')],
        HistoryAction::CopyRequestId,
        "copy request id",
        true,
    ),
    b(&[ch('y')], HistoryAction::CopyAnswer, "copy answer", true),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployAction {
    Up,
    Down,
    Top,
    Bottom,
    OpenChat,
    Filter,
    Sort,
    Reverse,
    Reload,
    NextAccount,
    PrevAccount,
    Details,
    ReloadMetrics,
}

pub const DEPLOYMENTS: &[Binding<DeployAction>] = &[
    b(&[k(KeyCode::Up), ch('k')], DeployAction::Up, "up", false),
    b(
        &[k(KeyCode::Down), ch('j')],
        DeployAction::Down,
        "down",
        false,
    ),
    b(
        &[ch('g'), k(KeyCode::Home)],
        DeployAction::Top,
        "first",
        false,
    ),
    b(
        &[ch('G'), k(KeyCode::End)],
        DeployAction::Bottom,
        "last",
        false,
    ),
    b(
        &[k(KeyCode::Enter)],
        DeployAction::OpenChat,
        "chat with it",
        true,
    ),
    b(&[ch('/')], DeployAction::Filter, "filter", true),
    b(&[ch('s')], DeployAction::Sort, "sort column", true),
    b(&[ch('S')], DeployAction::Reverse, "reverse sort", false),
    b(&[ch('r')], DeployAction::Reload, "reload", true),
    b(
        &[ch(']'), k(KeyCode::Right)],
        DeployAction::NextAccount,
        "next account",
        false,
    ),
    b(
        &[ch('['), k(KeyCode::Left)],
        DeployAction::PrevAccount,
        "previous account",
        false,
    ),
    b(
        &[ch('d')],
        DeployAction::Details,
        "headroom & metrics",
        false,
    ),
    b(
        &[ch('m')],
        DeployAction::ReloadMetrics,
        "reload metrics",
        false,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchAction {
    PrevField,
    NextField,
    Dec,
    Inc,
    Start,
    Stop,
}

/// The Bench screen (digits and Backspace edit the focused number).
pub const BENCH: &[Binding<BenchAction>] = &[
    b(&[k(KeyCode::Enter)], BenchAction::Start, "start run", true),
    b(&[k(KeyCode::Esc)], BenchAction::Stop, "stop run", true),
    b(
        &[k(KeyCode::Down), ch('j'), k(KeyCode::Tab)],
        BenchAction::NextField,
        "next field",
        true,
    ),
    b(
        &[k(KeyCode::Up), ch('k'), k(KeyCode::BackTab)],
        BenchAction::PrevField,
        "previous field",
        false,
    ),
    b(
        &[k(KeyCode::Left), ch('h'), ch('-')],
        BenchAction::Dec,
        "previous choice / less",
        true,
    ),
    b(
        &[k(KeyCode::Right), ch('l'), ch('+')],
        BenchAction::Inc,
        "next choice / more",
        true,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileAction {
    Up,
    Down,
    Choose,
    Close,
}

/// The profile picker (Alt+P, or `p` where no text input has focus).
pub const PROFILES: &[Binding<ProfileAction>] = &[
    b(&[k(KeyCode::Up), ch('k')], ProfileAction::Up, "up", false),
    b(
        &[k(KeyCode::Down), ch('j')],
        ProfileAction::Down,
        "down",
        false,
    ),
    b(
        &[k(KeyCode::Enter)],
        ProfileAction::Choose,
        "switch to it",
        true,
    ),
    b(
        &[k(KeyCode::Esc), ch('q')],
        ProfileAction::Close,
        "close",
        true,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAction {
    Apply,
    Clear,
}

/// While typing a `/` filter (other keys edit the filter text).
pub const DEPLOYMENTS_FILTER: &[Binding<FilterAction>] = &[
    b(
        &[k(KeyCode::Enter)],
        FilterAction::Apply,
        "keep filter",
        true,
    ),
    b(
        &[k(KeyCode::Esc)],
        FilterAction::Clear,
        "clear filter",
        true,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpAction {
    Close,
    Up,
    Down,
}

pub const HELP: &[Binding<HelpAction>] = &[
    b(
        &[k(KeyCode::Esc), ch('?'), ch('q'), k(KeyCode::F(1))],
        HelpAction::Close,
        "close help",
        true,
    ),
    b(
        &[k(KeyCode::Up), ch('k')],
        HelpAction::Up,
        "scroll up",
        false,
    ),
    b(
        &[k(KeyCode::Down), ch('j')],
        HelpAction::Down,
        "scroll down",
        false,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayAction {
    Up,
    Down,
    Top,
    Bottom,
    Play,
    Next,
    Speed,
    Stop,
}

/// The Replay screen's call list.
pub const REPLAY: &[Binding<ReplayAction>] = &[
    b(&[k(KeyCode::Up), ch('k')], ReplayAction::Up, "up", false),
    b(
        &[k(KeyCode::Down), ch('j')],
        ReplayAction::Down,
        "down",
        false,
    ),
    b(
        &[ch('g'), k(KeyCode::Home)],
        ReplayAction::Top,
        "first",
        false,
    ),
    b(
        &[ch('G'), k(KeyCode::End)],
        ReplayAction::Bottom,
        "last",
        false,
    ),
    b(&[k(KeyCode::Enter)], ReplayAction::Play, "play", true),
    b(&[ch('n')], ReplayAction::Next, "play next", true),
    b(
        &[ch('s')],
        ReplayAction::Speed,
        "speed 1x/2x/10x/instant",
        true,
    ),
    b(&[k(KeyCode::Esc)], ReplayAction::Stop, "stop replay", true),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareAction {
    Left,
    Right,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    RunAll,
    Duplicate,
    Edit,
    Baseline,
    Remove,
    Cancel,
}

/// The Compare screen (columns of variants).
pub const COMPARE: &[Binding<CompareAction>] = &[
    b(
        &[k(KeyCode::Enter), ch('r')],
        CompareAction::RunAll,
        "run all",
        true,
    ),
    b(
        &[ch('d')],
        CompareAction::Duplicate,
        "duplicate column",
        true,
    ),
    b(&[ch('e')], CompareAction::Edit, "edit column", true),
    b(&[ch('b')], CompareAction::Baseline, "make baseline", true),
    b(
        &[ch('x'), k(KeyCode::Delete)],
        CompareAction::Remove,
        "remove column",
        false,
    ),
    b(
        &[k(KeyCode::Left), ch('h')],
        CompareAction::Left,
        "previous column",
        false,
    ),
    b(
        &[k(KeyCode::Right), ch('l')],
        CompareAction::Right,
        "next column",
        false,
    ),
    b(
        &[k(KeyCode::Up), ch('k')],
        CompareAction::Up,
        "scroll up (all columns)",
        false,
    ),
    b(
        &[k(KeyCode::Down), ch('j')],
        CompareAction::Down,
        "scroll down (all columns)",
        false,
    ),
    b(
        &[k(KeyCode::PageUp)],
        CompareAction::PageUp,
        "page up",
        false,
    ),
    b(
        &[k(KeyCode::PageDown), ch(' ')],
        CompareAction::PageDown,
        "page down",
        false,
    ),
    b(
        &[ch('g'), k(KeyCode::Home)],
        CompareAction::Top,
        "top",
        false,
    ),
    b(
        &[k(KeyCode::Esc)],
        CompareAction::Cancel,
        "cancel run",
        false,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareEditAction {
    Apply,
    Discard,
    NextField,
    PrevField,
    Newline,
}

/// Editing a column's fields (other keys edit the field's text).
pub const COMPARE_EDIT: &[Binding<CompareEditAction>] = &[
    b(
        &[k(KeyCode::Enter)],
        CompareEditAction::Apply,
        "apply",
        true,
    ),
    b(
        &[k(KeyCode::Esc)],
        CompareEditAction::Discard,
        "discard",
        true,
    ),
    b(
        &[k(KeyCode::Tab), k(KeyCode::Down)],
        CompareEditAction::NextField,
        "next field",
        true,
    ),
    b(
        &[k(KeyCode::BackTab), k(KeyCode::Up)],
        CompareEditAction::PrevField,
        "previous field",
        false,
    ),
    b(
        &[alt(KeyCode::Enter), ctrl('j')],
        CompareEditAction::Newline,
        "newline",
        false,
    ),
];

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
