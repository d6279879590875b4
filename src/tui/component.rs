//! The one shape every screen and overlay has, so the app routes keys, paste, hints, help and
//! drawing to whatever has focus without a match arm per screen.
//!
//! A component keeps view state only. The facts it shows but does not own come in as
//! [`Props`]; what it wants done goes out as a [`Handled::Command`]. Components whose feature
//! gets results back (ARM reads, bench reports, compare calls) also implement [`Update`].

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::keymap::Hint;
use super::messages::Handled;
use super::session::Session;
use super::theme::Theme;

/// The session facts a component may read while handling a key or drawing.
#[derive(Clone, Copy)]
pub struct Props<'a> {
    pub session: &'a Session,
    /// The deployment the chat calls.
    pub deployment: &'a str,
    pub now: Duration,
    /// Connected to the embedded simulator.
    pub sim: bool,
    /// The deployments the browser has listed (failover targets for the chat's retry). Set
    /// for keys and messages; empty while drawing.
    pub known_deployments: &'a [String],
}

impl<'a> Props<'a> {
    /// Whether the session has a call in flight.
    pub fn busy(&self) -> bool {
        self.session.in_flight().is_some()
    }
}

pub trait Component {
    /// A key while this component has focus.
    fn on_key(&mut self, key: KeyEvent, props: &Props<'_>) -> Handled;

    /// Draws into `area`; `&mut` only for scroll and table state.
    fn draw(&mut self, area: Rect, buf: &mut Buffer, theme: &Theme, props: &Props<'_>);

    /// The hint bar, from the keymap that handles the keys.
    fn hints(&self) -> Vec<Hint>;

    /// Whether a text input has focus (then plain letters are text, not commands).
    fn wants_text(&self) -> bool {
        false
    }

    /// Bracketed paste; components without a text input ignore it.
    fn on_paste(&mut self, _text: &str) {}

    /// The `?` help sections about this component, most specific first.
    fn help_sections(&self) -> Vec<&'static str>;
}

/// A component that takes its feature's results.
pub trait Update {
    type Msg;

    /// Applies one result. [`Handled::Ignored`] when it was stale (nothing changed),
    /// [`Handled::Consumed`] when something visible changed, or a command for the next step.
    fn update(&mut self, msg: Self::Msg, props: &Props<'_>) -> Handled;
}
