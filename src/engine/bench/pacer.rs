//! Waits for the open-loop schedule.
//!
//! tokio's timer has a 1 ms resolution: at 720,000 requests/min a slot is due every 83 µs,
//! and with `sleep_until` alone the generator would start them in bursts of about 12 each
//! millisecond. The service answers a burst together and a single-threaded generator then
//! reads the answers one after another, so the later ones in every burst are timed late;
//! worse, between bursts the thread sleeps, and waking a sleeping thread when an answer
//! arrives costs tens to hundreds of µs (a virtual CPU leaving its idle state). Measured
//! with `cargo bench --bench loadgen` on a 2-core VM at 720,000/min: timing error p50
//! 0.2 ms with tokio's timer; 0.22 ms with a kernel `timerfd` per slot (precise starts, but
//! the thread still sleeps between them); 0.045 ms polling.
//!
//! So when slots are less than a millisecond apart the pacer polls: it sleeps on tokio's
//! timer until a millisecond before the slot, then yields to the runtime (which keeps
//! serving every other task and the network) until the slot is due. The generator's
//! thread is then always busy; at lower rates it sleeps as usual.

use std::time::Duration;

use tokio::time::Instant;

/// Below this interval between slots the pacer polls.
pub const POLL_BELOW: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    poll: bool,
}

impl Pacer {
    /// A pacer for slots `interval` apart.
    pub fn new(interval: Duration) -> Self {
        Pacer {
            poll: interval < POLL_BELOW,
        }
    }

    /// Whether it polls (slots closer than [`POLL_BELOW`]).
    pub fn polls(&self) -> bool {
        self.poll
    }

    /// Waits until `deadline` (returns at once if it has passed).
    pub async fn sleep_until(&self, deadline: Instant) {
        if !self.poll {
            tokio::time::sleep_until(deadline).await;
            return;
        }
        let now = Instant::now();
        if deadline > now + POLL_BELOW {
            tokio::time::sleep_until(deadline - POLL_BELOW).await;
        }
        // Bounded by the deadline: each turn gives the runtime a full pass over its tasks
        // and the reactor before the clock is read again.
        while Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_only_for_sub_millisecond_intervals() {
        assert!(Pacer::new(Duration::from_micros(83)).polls());
        assert!(!Pacer::new(Duration::from_millis(1)).polls());
        assert!(!Pacer::new(Duration::from_secs(6)).polls());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn never_wakes_before_the_deadline_and_lets_other_tasks_run() {
        let p = Pacer::new(Duration::from_micros(100));
        // A past deadline returns at once.
        p.sleep_until(Instant::now() - Duration::from_millis(1))
            .await;
        let other = tokio::spawn(async { 7 });
        for us in [50u64, 300, 900, 2_500] {
            let deadline = Instant::now() + Duration::from_micros(us);
            p.sleep_until(deadline).await;
            assert!(Instant::now() >= deadline, "woke before {us} µs");
        }
        // The spawned task ran while the pacer polled.
        assert!(other.is_finished());
        assert_eq!(other.await.unwrap(), 7);
    }
}
