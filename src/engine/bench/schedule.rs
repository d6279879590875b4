//! The open-loop schedule, pure: slot `n` is due at `n × 60 / rpm` seconds after the start,
//! whatever happened to earlier requests. The driver asks, at each wake-up, which slots are
//! due by "now" (an offset it measures — tests inject it); each slot is started at most once,
//! so the generator can fall behind but never runs ahead of the schedule, and a slot that
//! finds `max_in_flight` requests running is dropped (counted), not queued.

use std::time::Duration;

/// A start that came this much after its scheduled time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(2);

#[derive(Debug, Clone, PartialEq)]
pub struct OpenLoop {
    /// Seconds between two starts.
    interval_s: f64,
    /// Slots due strictly before this offset belong to the run.
    duration: Duration,
    next: u64,
}

/// One scheduled start handed to the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub n: u64,
    /// Scheduled offset from the start.
    pub at: Duration,
    /// How late the start is (now − at).
    pub lag: Duration,
}

/// What to do at one wake-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    pub start: Vec<Slot>,
    /// Due slots skipped because too many requests were in flight.
    pub dropped: u64,
    /// Of the started slots, how many are late (lag > [`LATE_AFTER`]).
    pub late: u64,
}

impl OpenLoop {
    /// `rpm` must be positive and finite (the CLI checks).
    pub fn new(rpm: f64, duration: Duration) -> Self {
        OpenLoop {
            interval_s: 60.0 / rpm,
            duration,
            next: 0,
        }
    }

    /// Scheduled offset of slot `n`.
    pub fn at(&self, n: u64) -> Duration {
        Duration::from_secs_f64(n as f64 * self.interval_s)
    }

    /// Offset of the next slot not yet handed out, `None` once the run's slots are all out.
    pub fn next_due(&self) -> Option<Duration> {
        let at = self.at(self.next);
        (at < self.duration).then_some(at)
    }

    /// Slots handed out so far (started or dropped).
    pub fn issued(&self) -> u64 {
        self.next
    }

    /// Hands out every slot due by `now`: those that fit under `max_in_flight` (with
    /// `in_flight` already running) are started, the rest dropped.
    pub fn tick(&mut self, now: Duration, in_flight: u64, max_in_flight: u64) -> Tick {
        let mut t = Tick::default();
        let mut running = in_flight;
        while let Some(at) = self.next_due() {
            if at > now {
                break;
            }
            let n = self.next;
            self.next += 1;
            if running >= max_in_flight {
                t.dropped += 1;
                continue;
            }
            running += 1;
            let lag = now - at;
            if lag > LATE_AFTER {
                t.late += 1;
            }
            t.start.push(Slot { n, at, lag });
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn slots_follow_the_rate() {
        // 600 RPM = one every 100 ms; a 1 s run has slots at 0, 100, … 900 ms.
        let mut s = OpenLoop::new(600.0, Duration::from_secs(1));
        assert_eq!(s.at(3), ms(300));
        let t = s.tick(ms(0), 0, 100);
        assert_eq!(
            t.start,
            vec![Slot {
                n: 0,
                at: ms(0),
                lag: ms(0)
            }]
        );
        assert_eq!(s.next_due(), Some(ms(100)));
        // Woken 1 ms late: slot 1 starts with 1 ms lag (not late).
        let t = s.tick(ms(101), 1, 100);
        assert_eq!(t.start.len(), 1);
        assert_eq!(t.start[0].lag, ms(1));
        assert_eq!(t.late, 0);
    }

    #[test]
    fn starts_stay_on_schedule_when_the_service_is_slow() {
        // No request ever finishes (in_flight only grows): starts still happen at their
        // scheduled times, one per slot — the schedule does not wait for answers.
        let mut s = OpenLoop::new(6000.0, Duration::from_secs(1)); // every 10 ms
        let mut in_flight = 0;
        let mut starts = Vec::new();
        for now in (0..1000).step_by(10) {
            let t = s.tick(ms(now), in_flight, 1_000);
            in_flight += t.start.len() as u64;
            starts.extend(t.start.iter().map(|sl| sl.at));
            assert_eq!(t.dropped, 0);
        }
        assert_eq!(starts.len(), 100);
        assert!(
            starts
                .iter()
                .enumerate()
                .all(|(i, at)| *at == ms(10 * i as u64))
        );
        assert_eq!(s.next_due(), None, "the run's slots are all out");
    }

    #[test]
    fn a_stalled_driver_catches_up_without_running_ahead() {
        // The driver sleeps through 50 ms (5 slots), then wakes: the 5 due slots start now,
        // late, measured from their scheduled times; slot 5 (due at 50 ms) starts on time.
        let mut s = OpenLoop::new(6000.0, Duration::from_secs(1));
        let t = s.tick(ms(50), 0, 100);
        assert_eq!(t.start.len(), 6);
        assert_eq!(t.start[0].lag, ms(50));
        assert_eq!(t.start[5].lag, ms(0));
        assert_eq!(t.late, 5);
        // Nothing more is due until 60 ms: never ahead of the schedule.
        assert!(s.tick(ms(59), 6, 100).start.is_empty());
        assert_eq!(s.issued(), 6);
    }

    #[test]
    fn in_flight_is_bounded_and_excess_slots_dropped() {
        let mut s = OpenLoop::new(6000.0, Duration::from_secs(1));
        let t = s.tick(ms(90), 0, 4); // 10 slots due, room for 4
        assert_eq!(t.start.len(), 4);
        assert_eq!(t.dropped, 6);
        let t = s.tick(ms(100), 4, 4); // still full
        assert_eq!((t.start.len(), t.dropped), (0, 1));
        let t = s.tick(ms(110), 3, 4); // one finished
        assert_eq!((t.start.len(), t.dropped), (1, 0));
        assert_eq!(t.start[0].n, 11);
    }
}
