//! Key routing that needs more than one component: the order of the `?` help, and `q` with
//! work in flight.

use super::App;
use crate::tui::component::Component;
use crate::tui::messages::{Effect, TerminalEffect};

impl App {
    /// The help sections of what has focus, for the top of `?`.
    pub(super) fn help_first(&self) -> Vec<&'static str> {
        let mut v = self
            .screens
            .get(self.screen)
            .map_or_else(Vec::new, Component::help_sections);
        if let Some(p) = &self.azure.picker {
            v.splice(0..0, p.help_sections());
        }
        v.dedup();
        v.extend(["Everywhere", "Where no text input has focus"]);
        v
    }

    /// Whether a chat call, a compare run or a bench run is in flight.
    pub fn busy(&self) -> bool {
        self.in_flight().is_some()
            || self
                .screens
                .compare
                .as_ref()
                .is_some_and(|c| !c.in_flight().is_empty())
            || self.bench().running()
    }

    /// `q`: quits at once when idle; with work in flight, a second `q` right away quits.
    pub(super) fn quit_asked(&mut self) -> Vec<Effect> {
        if !self.busy() || self.q_armed_at == Some(self.keys - 1) {
            return vec![Effect::Terminal(TerminalEffect::Quit)];
        }
        self.q_armed_at = Some(self.keys);
        self.say(
            "A call is in flight: q again quits (cancelling it), Esc cancels only the call".into(),
        )
    }
}
