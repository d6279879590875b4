//! The Traffic screen's keys (`aoai --proxy PORT`).

use crossterm::event::KeyCode;

use super::{Binding, b, ch, k};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficAction {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Follow,
    Detail,
    Filter,
    StepStatus,
    StepDeployment,
    CopyRequestId,
    CopyAnswer,
    Close,
}

/// The Traffic screen's call list.
pub const TRAFFIC: &[Binding<TrafficAction>] = &[
    b(&[k(KeyCode::Up), ch('k')], TrafficAction::Up, "up", false),
    b(
        &[k(KeyCode::Down), ch('j')],
        TrafficAction::Down,
        "down",
        false,
    ),
    b(
        &[ch('G'), k(KeyCode::End)],
        TrafficAction::Follow,
        "follow the newest",
        true,
    ),
    b(&[k(KeyCode::Enter)], TrafficAction::Detail, "details", true),
    b(&[ch('/')], TrafficAction::Filter, "filter", true),
    b(
        &[ch('s')],
        TrafficAction::StepStatus,
        "status: errors → 429 → ok → live → all",
        true,
    ),
    b(
        &[ch('d')],
        TrafficAction::StepDeployment,
        "deployment: each seen → all",
        true,
    ),
    b(
        &[ch('c')],
        TrafficAction::CopyRequestId,
        "copy request id",
        false,
    ),
    b(&[ch('y')], TrafficAction::CopyAnswer, "copy answer", false),
    b(
        &[k(KeyCode::Esc)],
        TrafficAction::Close,
        "clear filter",
        false,
    ),
];

/// A call's full view on the Traffic screen.
pub const TRAFFIC_DETAIL: &[Binding<TrafficAction>] = &[
    b(
        &[k(KeyCode::Esc), k(KeyCode::Backspace), k(KeyCode::Enter)],
        TrafficAction::Close,
        "back",
        true,
    ),
    b(
        &[k(KeyCode::Up), ch('k')],
        TrafficAction::Up,
        "scroll up",
        false,
    ),
    b(
        &[k(KeyCode::Down), ch('j')],
        TrafficAction::Down,
        "scroll down",
        false,
    ),
    b(
        &[k(KeyCode::PageUp)],
        TrafficAction::PageUp,
        "page up",
        false,
    ),
    b(
        &[k(KeyCode::PageDown)],
        TrafficAction::PageDown,
        "page down",
        false,
    ),
    b(
        &[ch('g'), k(KeyCode::Home)],
        TrafficAction::Top,
        "top",
        false,
    ),
    b(
        &[ch('c')],
        TrafficAction::CopyRequestId,
        "copy request id",
        true,
    ),
    b(&[ch('y')], TrafficAction::CopyAnswer, "copy answer", true),
];
