//! The screens the app routes between, and the components behind them.

use crate::tui::component::Component;
use crate::tui::components::bench::BenchView;
use crate::tui::components::chat::Chat;
use crate::tui::components::compare::Compare;
use crate::tui::components::deployments::Deployments;
use crate::tui::components::history::History;
use crate::tui::components::replay::Replay;
use crate::tui::components::status_bar::Tab;
use crate::tui::components::traffic::Traffic;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Chat,
    History,
    Deployments,
    /// Only listed when a scenario is open (`aoai replay FILE`).
    Replay,
    /// Prompt variants side by side (F7, `aoai compare FILE --tui`); always listed.
    Compare,
    /// Load test (F5); always listed.
    Bench,
    /// The application's calls through the proxy; only listed with `aoai --proxy PORT`.
    Traffic,
}

impl Screen {
    /// In F-key order.
    pub const ALL: [Screen; 7] = [
        Screen::Chat,
        Screen::History,
        Screen::Deployments,
        Screen::Bench,
        Screen::Compare,
        Screen::Replay,
        Screen::Traffic,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Chat => "Chat",
            Screen::History => "History",
            Screen::Deployments => "Deployments",
            Screen::Replay => "Replay",
            Screen::Compare => "Compare",
            Screen::Bench => "Bench",
            Screen::Traffic => "Traffic",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Screen::Chat => "F2",
            Screen::History => "F3",
            Screen::Deployments => "F4",
            Screen::Replay => "F9",
            Screen::Compare => "F7",
            Screen::Bench => "F5",
            Screen::Traffic => "F10",
        }
    }
}

/// One component per screen; Replay and Compare exist once something is open on them.
#[derive(Default)]
pub struct Screens {
    pub chat: Chat,
    pub history: History,
    pub deployments: Deployments,
    pub bench: BenchView,
    pub replay: Option<Replay>,
    pub compare: Option<Compare>,
    pub traffic: Option<Traffic>,
}

impl Screens {
    pub fn get(&self, s: Screen) -> Option<&dyn Component> {
        match s {
            Screen::Chat => Some(&self.chat),
            Screen::History => Some(&self.history),
            Screen::Deployments => Some(&self.deployments),
            Screen::Bench => Some(&self.bench),
            Screen::Replay => self.replay.as_ref().map(|r| r as &dyn Component),
            Screen::Compare => self.compare.as_ref().map(|c| c as &dyn Component),
            Screen::Traffic => self.traffic.as_ref().map(|c| c as &dyn Component),
        }
    }

    pub fn get_mut(&mut self, s: Screen) -> Option<&mut dyn Component> {
        match s {
            Screen::Chat => Some(&mut self.chat),
            Screen::History => Some(&mut self.history),
            Screen::Deployments => Some(&mut self.deployments),
            Screen::Bench => Some(&mut self.bench),
            Screen::Replay => self.replay.as_mut().map(|r| r as &mut dyn Component),
            Screen::Compare => self.compare.as_mut().map(|c| c as &mut dyn Component),
            Screen::Traffic => self.traffic.as_mut().map(|c| c as &mut dyn Component),
        }
    }

    /// The status bar's tabs: every screen, Replay only while a scenario is open, Traffic
    /// only while the proxy runs.
    pub fn tabs(&self, current: Screen) -> Vec<Tab> {
        Screen::ALL
            .into_iter()
            .filter(|s| *s != Screen::Replay || self.replay.is_some())
            .filter(|s| *s != Screen::Traffic || self.traffic.is_some())
            .map(|s| Tab {
                key: s.key(),
                title: s.title(),
                active: s == current,
            })
            .collect()
    }
}
