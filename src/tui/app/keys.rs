//! Key routing that needs more than one component: the chat's keys (failover targets from
//! the browser), the order of the `?` help, and `q` with work in flight.

use crossterm::event::KeyEvent;

use super::App;
use crate::tui::command::{Effect, Outcome};
use crate::tui::components::status_bar::Screen;
use crate::tui::keymap;

impl App {
    /// Keys of the chat screen. The retry parameter fails over to the other deployments the
    /// browser knows; reaching the parameters loads them once in the background.
    pub(super) fn chat_key(&mut self, k: KeyEvent) -> Vec<Effect> {
        let current = self.deployment.clone();
        self.chat.failover_targets = self
            .deployments
            .names()
            .into_iter()
            .filter(|d| *d != current)
            .collect();
        let outcome = self.chat.handle_key(k, self.session.in_flight().is_some());
        let mut effects = match outcome {
            Outcome::Consumed => vec![],
            Outcome::Command(c) => self.command(c),
            Outcome::Ignored => match keymap::lookup(keymap::GLOBAL_UNFOCUSED, &k) {
                Some(a) => self.global(a),
                None => vec![],
            },
        };
        if self.chat.focus == crate::tui::components::chat::Focus::Params
            && self.deployments.needs_load()
        {
            self.deployments.loading();
            effects.push(Effect::LoadAccounts);
        }
        effects
    }

    /// The help sections of what has focus, for the top of `?`.
    pub(super) fn help_first(&self) -> Vec<&'static str> {
        use crate::tui::components::chat::Focus;
        let mut v: Vec<&'static str> = match self.screen {
            Screen::Chat => {
                let focused = match self.chat.focus {
                    Focus::Input => "Chat: prompt input",
                    Focus::System => "Chat: system prompt",
                    Focus::Params => "Chat: parameters",
                    Focus::Transcript => "Chat: transcript",
                };
                let mut v = vec![focused];
                v.extend([
                    "Chat: prompt input",
                    "Chat: transcript",
                    "Chat: parameters",
                    "Chat: system prompt",
                ]);
                v
            }
            Screen::History => vec!["History", "History: call details"],
            Screen::Deployments => vec!["Deployments", "Deployments: filter"],
            Screen::Bench => vec!["Bench"],
            Screen::Replay => vec!["Replay"],
            Screen::Compare => vec!["Compare", "Compare: editing a column"],
        };
        if self.picker_open() {
            v.insert(0, "Profile picker");
        }
        v.dedup();
        v.extend(["Everywhere", "Where no text input has focus"]);
        v
    }

    /// Whether a chat call, a compare run or a bench run is in flight.
    pub fn busy(&self) -> bool {
        self.in_flight().is_some()
            || self
                .compare
                .as_ref()
                .is_some_and(|c| !c.in_flight().is_empty())
            || self.bench().running()
    }

    /// `q`: quits at once when idle; with work in flight, a second `q` right away quits.
    pub(super) fn quit_asked(&mut self) -> Vec<Effect> {
        if !self.busy() || self.q_armed_at == Some(self.keys - 1) {
            return vec![Effect::Quit];
        }
        self.q_armed_at = Some(self.keys);
        self.say(
            "A call is in flight: q again quits (cancelling it), Esc cancels only the call".into(),
        )
    }
}
