//! The key tables, one per context: each binding names its keys, its action, its help text
//! and whether the hint bar shows it. The keymap module matches keys against them and builds
//! the help overlay and hints from the same tables.

use crossterm::event::KeyCode;

use super::{Binding, alt, b, ch, ctrl, k};

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
    /// The Traffic screen (`aoai --proxy PORT`).
    Traffic,
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
    b(
        &[k(KeyCode::F(10)), alt(KeyCode::Char('7'))],
        GlobalAction::Traffic,
        "traffic (aoai --proxy PORT)",
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
    b(&[ch('7')], GlobalAction::Traffic, "traffic", false),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatAction {
    Send,
    Newline,
    ClearLine,
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
    b(&[ctrl('u')], ChatAction::ClearLine, "clear the line", false),
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

/// The parameter row (max tokens, temperature, API path, wire API, reasoning effort, retry).
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
    Embed,
    Probe,
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
    b(
        &[ch('e')],
        DeployAction::Embed,
        "embeddings call (embeddings models)",
        false,
    ),
    b(
        &[ch('P')],
        DeployAction::Probe,
        "probe every deployment",
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
    PrevCase,
    NextCase,
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
    b(&[ch('[')], CompareAction::PrevCase, "previous case", false),
    b(&[ch(']')], CompareAction::NextCase, "next case", false),
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
