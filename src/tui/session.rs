//! The console's session: every call made or replayed since launch, one [`LiveCall`] each
//! (the domain's live call life cycle), and where the current conversation starts.
//! Components get it as props.

use std::time::Duration;

use super::event::CallId;
pub use crate::domain::live::{LiveCall, Phase};

/// All calls of this session, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub calls: Vec<LiveCall>,
    /// Index of the first call of the current conversation (older calls stay in history).
    pub conversation_start: usize,
}

impl Session {
    pub fn get(&self, id: CallId) -> Option<&LiveCall> {
        self.calls.iter().find(|c| c.id == id)
    }

    pub fn get_mut(&mut self, id: CallId) -> Option<&mut LiveCall> {
        self.calls.iter_mut().find(|c| c.id == id)
    }

    pub fn in_flight(&self) -> Option<&LiveCall> {
        self.calls.iter().rev().find(|c| c.phase.in_flight())
    }

    pub fn latest(&self) -> Option<&LiveCall> {
        self.calls.last()
    }

    pub fn conversation(&self) -> &[LiveCall] {
        &self.calls[self.conversation_start.min(self.calls.len())..]
    }

    pub fn new_conversation(&mut self) {
        self.conversation_start = self.calls.len();
    }

    pub fn animating(&self, now: Duration) -> bool {
        self.latest().is_some_and(|c| c.animating(now))
    }
}
