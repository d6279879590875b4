//! The Traffic screen's keys (`aoai --proxy PORT`).

use crossterm::event::KeyCode;

use super::{Binding, b, ch, k};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficAction {
    Up,
    Down,
    Follow,
    Detail,
    Filter,
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
        &[k(KeyCode::Esc)],
        TrafficAction::Close,
        "close details / clear filter",
        false,
    ),
];
