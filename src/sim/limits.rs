//! Admission control on an injected clock: every method takes `now` (time since the
//! simulator started), so tests drive a manual clock. Standard deployments enforce a request
//! count per renewal window plus a per-minute token bucket; provisioned (PTU) deployments a
//! leaky-bucket utilisation; ARM a read token bucket.

use std::time::Duration;

use super::fleet::Limits;

/// Why a request was refused, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub kind: ThrottleKind,
    /// Exact wait; `retry-after-ms`. Always >= 1 ms.
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleKind {
    /// Requests-per-window exceeded ("call rate limit").
    Calls,
    /// Token budget exceeded ("token rate limit").
    Tokens,
    /// PTU utilisation at or above 100 %.
    Utilization,
}

impl Throttled {
    /// `retry-after` in whole seconds (ceil), also used in the body text.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_millis().div_ceil(1000).max(1) as u64
    }
    pub fn retry_after_ms(&self) -> u64 {
        (self.retry_after.as_millis() as u64).max(1)
    }
}

fn at_least_1ms(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

/// A request counter over a renewal window that opens with the first request after the
/// previous window ended.
#[derive(Debug, Clone)]
pub struct RequestWindow {
    period: Duration,
    limit: u64,
    start: Option<Duration>,
    count: u64,
}

impl RequestWindow {
    pub fn new(period: Duration, limit: u64) -> Self {
        Self {
            period,
            limit,
            start: None,
            count: 0,
        }
    }

    fn roll(&mut self, now: Duration) {
        if self.start.is_none_or(|s| now >= s + self.period) {
            self.start = Some(now);
            self.count = 0;
        }
    }

    /// Counts one request; `Err(wait)` when the window is full.
    pub fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        self.roll(now);
        if self.count < self.limit {
            self.count += 1;
            Ok(())
        } else {
            let start = self.start.unwrap_or(now);
            Err(at_least_1ms(start + self.period - now))
        }
    }

    pub fn remaining(&mut self, now: Duration) -> u64 {
        self.roll(now);
        self.limit - self.count.min(self.limit)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Time until the current window ends (0 when none is open).
    pub fn reset_in(&mut self, now: Duration) -> Duration {
        self.roll(now);
        match self.start {
            Some(s) if self.count > 0 => (s + self.period).saturating_sub(now),
            _ => Duration::ZERO,
        }
    }

    pub fn period(&self) -> Duration {
        self.period
    }
}

/// Tokens per minute as a bucket of `capacity` refilled continuously at `capacity / 60 s`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    level: f64,
    last: Duration,
}

impl TokenBucket {
    pub fn new(capacity: f64, per_sec: f64) -> Self {
        Self {
            capacity,
            per_sec,
            level: capacity,
            last: Duration::ZERO,
        }
    }

    pub fn per_minute(tpm: u64) -> Self {
        Self::new(tpm as f64, tpm as f64 / 60.0)
    }

    fn refill(&mut self, now: Duration) {
        if now > self.last {
            let dt = (now - self.last).as_secs_f64();
            self.level = (self.level + dt * self.per_sec).min(self.capacity);
            self.last = now;
        }
    }

    /// Takes `amount`; a request larger than the bucket is admitted only from a full bucket.
    pub fn take(&mut self, now: Duration, amount: f64) -> Result<(), Duration> {
        self.refill(now);
        let need = amount.min(self.capacity);
        if self.level + 1e-9 >= need {
            self.level -= amount;
            Ok(())
        } else if self.per_sec <= 0.0 {
            Err(Duration::from_secs(86_400))
        } else {
            Err(at_least_1ms(Duration::from_secs_f64(
                (need - self.level) / self.per_sec,
            )))
        }
    }

    pub fn level(&mut self, now: Duration) -> f64 {
        self.refill(now);
        self.level
    }

    /// Time until the bucket is full again.
    pub fn full_in(&mut self, now: Duration) -> Duration {
        self.refill(now);
        if self.per_sec <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(((self.capacity - self.level) / self.per_sec).max(0.0))
    }
}

/// PTU utilisation: a leaky bucket draining `tpm / 60` per second. Calls are admitted while
/// the level is below one minute of capacity (utilisation < 100 %); each admitted call adds
/// its estimated cost, corrected with the real cost after completion.
#[derive(Debug, Clone)]
pub struct PtuBucket {
    tpm: f64,
    level: f64,
    last: Duration,
}

impl PtuBucket {
    pub fn new(tpm: u64) -> Self {
        Self {
            tpm: tpm as f64,
            level: 0.0,
            last: Duration::ZERO,
        }
    }

    fn drain(&mut self, now: Duration) {
        if now > self.last {
            let dt = (now - self.last).as_secs_f64();
            self.level = (self.level - dt * self.tpm / 60.0).max(0.0);
            self.last = now;
        }
    }

    /// Utilisation in percent.
    pub fn utilization(&mut self, now: Duration) -> f64 {
        self.drain(now);
        if self.tpm <= 0.0 {
            return 100.0;
        }
        self.level / self.tpm * 100.0
    }

    pub fn admit(&mut self, now: Duration, estimate: u64) -> Result<(), Duration> {
        self.drain(now);
        if self.tpm <= 0.0 {
            return Err(Duration::from_secs(86_400));
        }
        if self.level < self.tpm {
            self.level += estimate as f64;
            Ok(())
        } else {
            let excess = self.level - self.tpm;
            Err(at_least_1ms(Duration::from_secs_f64(
                excess / (self.tpm / 60.0) + 0.001,
            )))
        }
    }

    /// Replaces an admitted estimate by the real cost.
    pub fn correct(&mut self, now: Duration, estimate: u64, actual: u64) {
        self.drain(now);
        self.level = (self.level - estimate as f64 + actual as f64).max(0.0);
    }

    pub fn remaining_tokens(&mut self, now: Duration) -> u64 {
        self.drain(now);
        (self.tpm - self.level).max(0.0) as u64
    }

    pub fn tokens_per_minute(&self) -> u64 {
        self.tpm as u64
    }

    /// Time until the bucket has drained empty.
    pub fn empty_in(&mut self, now: Duration) -> Duration {
        self.drain(now);
        if self.tpm <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(self.level / (self.tpm / 60.0))
    }
}

/// PTU cost of one call: prompt − cached + weight × output.
pub fn ptu_cost(prompt: u64, cached: u64, output: u64, weight: u64) -> u64 {
    prompt.saturating_sub(cached) + weight * output
}

/// The result of a successful admission, for the `x-ratelimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Admitted {
    pub remaining_requests: Option<u64>,
    pub limit_requests: Option<u64>,
    pub remaining_tokens: u64,
    pub limit_tokens: u64,
    /// PTU utilisation after admission, in percent.
    pub utilization: Option<f64>,
    /// `x-ratelimit-reset-requests` / `-tokens`: whole seconds (rounded up) until the request
    /// window ends and the token budget is whole again; Azure sends bare integers
    /// (tests/fixtures/conformance/05: `500` / `7`; 11: `0` / `0`).
    pub reset_requests_s: Option<u64>,
    pub reset_tokens_s: u64,
    /// `x-ratelimit-renewalperiod-requests` / `-tokens`, seconds (`60` in 05 and 11).
    pub renewal_requests_s: Option<u64>,
    pub renewal_tokens_s: u64,
}

fn ceil_s(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000) as u64
}

fn standard_state(
    requests: &mut RequestWindow,
    tokens: &mut TokenBucket,
    tpm: u64,
    now: Duration,
) -> Admitted {
    Admitted {
        remaining_requests: Some(requests.remaining(now)),
        limit_requests: Some(requests.limit()),
        remaining_tokens: tokens.level(now).max(0.0) as u64,
        limit_tokens: tpm,
        utilization: None,
        reset_requests_s: Some(ceil_s(requests.reset_in(now))),
        reset_tokens_s: ceil_s(tokens.full_in(now)),
        renewal_requests_s: Some(requests.period().as_secs()),
        renewal_tokens_s: 60,
    }
}

fn provisioned_state(bucket: &mut PtuBucket, now: Duration) -> Admitted {
    Admitted {
        remaining_requests: None,
        limit_requests: None,
        remaining_tokens: bucket.remaining_tokens(now),
        limit_tokens: bucket.tokens_per_minute(),
        utilization: Some(bucket.utilization(now)),
        reset_requests_s: None,
        reset_tokens_s: ceil_s(bucket.empty_in(now)),
        renewal_requests_s: None,
        renewal_tokens_s: 60,
    }
}

/// The limiter of one deployment.
#[derive(Debug, Clone)]
pub enum Limiter {
    Standard {
        requests: RequestWindow,
        tokens: TokenBucket,
        tpm: u64,
    },
    Provisioned {
        bucket: PtuBucket,
        output_weight: u64,
    },
}

impl Limiter {
    pub fn new(limits: &Limits) -> Self {
        match *limits {
            Limits::Standard {
                requests,
                tokens_per_minute,
            } => Self::Standard {
                requests: RequestWindow::new(
                    Duration::from_secs(requests.renewal_period_s),
                    requests.count,
                ),
                tokens: TokenBucket::per_minute(tokens_per_minute),
                tpm: tokens_per_minute,
            },
            Limits::Provisioned {
                tokens_per_minute,
                output_weight,
            } => Self::Provisioned {
                bucket: PtuBucket::new(tokens_per_minute),
                output_weight,
            },
        }
    }

    /// Admits a call whose prompt is `prompt` tokens (`cached` of them cached) and whose output
    /// budget estimate is `max_output`. Returns the PTU estimate to correct later.
    pub fn admit(
        &mut self,
        now: Duration,
        prompt: u64,
        cached: u64,
        max_output: u64,
    ) -> Result<(Admitted, u64), Throttled> {
        match self {
            Self::Standard {
                requests,
                tokens,
                tpm,
            } => {
                let estimate = prompt + max_output;
                // Check tokens first without consuming a request slot on refusal.
                let level = tokens.level(now);
                let need = (estimate as f64).min(*tpm as f64);
                if level + 1e-9 < need {
                    let wait = tokens.take(now, estimate as f64).unwrap_err();
                    return Err(Throttled {
                        kind: ThrottleKind::Tokens,
                        retry_after: wait,
                    });
                }
                requests.admit(now).map_err(|wait| Throttled {
                    kind: ThrottleKind::Calls,
                    retry_after: wait,
                })?;
                // Cannot fail: checked above at the same `now`.
                let _ = tokens.take(now, estimate as f64);
                Ok((standard_state(requests, tokens, *tpm, now), estimate))
            }
            Self::Provisioned {
                bucket,
                output_weight,
            } => {
                let estimate = ptu_cost(prompt, cached, max_output, *output_weight);
                bucket.admit(now, estimate).map_err(|wait| Throttled {
                    kind: ThrottleKind::Utilization,
                    retry_after: wait,
                })?;
                Ok((provisioned_state(bucket, now), estimate))
            }
        }
    }

    /// After completion: PTU buckets replace the estimate by the real cost.
    pub fn complete(
        &mut self,
        now: Duration,
        estimate: u64,
        prompt: u64,
        cached: u64,
        output: u64,
    ) {
        if let Self::Provisioned {
            bucket,
            output_weight,
        } = self
        {
            bucket.correct(
                now,
                estimate,
                ptu_cost(prompt, cached, output, *output_weight),
            );
        }
    }

    /// The current state for headers, without admitting anything.
    pub fn snapshot(&mut self, now: Duration) -> Admitted {
        match self {
            Self::Standard {
                requests,
                tokens,
                tpm,
            } => standard_state(requests, tokens, *tpm, now),
            Self::Provisioned { bucket, .. } => provisioned_state(bucket, now),
        }
    }

    /// Current PTU utilisation (for 429 headers).
    pub fn utilization(&mut self, now: Duration) -> Option<f64> {
        match self {
            Self::Provisioned { bucket, .. } => Some(bucket.utilization(now)),
            Self::Standard { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::fleet::RateLimitRule;

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    #[test]
    fn request_window_opens_at_first_request() {
        let mut w = RequestWindow::new(s(10.0), 2);
        assert!(w.admit(s(3.0)).is_ok());
        assert!(w.admit(s(4.0)).is_ok());
        assert_eq!(w.admit(s(5.0)), Err(s(8.0)));
        assert_eq!(w.remaining(s(12.9)), 0);
        assert!(w.admit(s(13.0)).is_ok());
        assert_eq!(w.remaining(s(13.0)), 1);
    }

    #[test]
    fn token_bucket_refills_per_minute() {
        let mut b = TokenBucket::per_minute(600); // 10 tokens/s
        assert!(b.take(s(0.0), 550.0).is_ok());
        assert_eq!(b.take(s(0.0), 100.0), Err(s(5.0)));
        assert!(b.take(s(5.0), 100.0).is_ok());
        // Bigger than the bucket: only from a full bucket, then in debt.
        assert!(b.take(s(5.0), 1000.0).is_err());
        assert!(b.take(s(65.0), 1000.0).is_ok());
        assert!(b.level(s(65.0)) < 0.0);
    }

    #[test]
    fn standard_limiter_reports_call_and_token_limits() {
        let limits = Limits::Standard {
            requests: RateLimitRule {
                key: "request",
                renewal_period_s: 10,
                count: 2,
            },
            tokens_per_minute: 2000,
        };
        let mut l = Limiter::new(&limits);
        let (a, _) = l.admit(s(0.0), 20, 0, 256).unwrap();
        assert_eq!(a.remaining_requests, Some(1));
        assert_eq!(a.remaining_tokens, 2000 - 276);
        assert!(l.admit(s(0.1), 20, 0, 256).is_ok());
        let t = l.admit(s(0.2), 20, 0, 256).unwrap_err();
        assert_eq!(t.kind, ThrottleKind::Calls);
        assert_eq!(t.retry_after, s(9.8));
        assert_eq!(t.retry_after_secs(), 10);
        assert_eq!(t.retry_after_ms(), 9800);
        // A new window, but the token budget is short.
        let t = l.admit(s(10.0), 1700, 0, 256).unwrap_err();
        assert_eq!(t.kind, ThrottleKind::Tokens);
    }

    #[test]
    fn ptu_utilisation_leaks_and_corrects() {
        let limits = Limits::Provisioned {
            tokens_per_minute: 6000, // drains 100/s
            output_weight: 4,
        };
        let mut l = Limiter::new(&limits);
        // Estimate 1000 + 4*1000 = 5000.
        let (a, est) = l.admit(s(0.0), 1000, 0, 1000).unwrap();
        assert_eq!(est, 5000);
        assert!((a.utilization.unwrap() - 83.333).abs() < 0.01);
        // Real cost: 1000 + 4*100 = 1400.
        l.complete(s(0.0), est, 1000, 0, 100);
        assert!((l.utilization(s(0.0)).unwrap() - 23.333).abs() < 0.01);
        // Push over 100 %: admitted while below, refused once at/above.
        assert!(l.admit(s(0.0), 5000, 0, 0).is_ok());
        let t = l.admit(s(0.0), 10, 0, 0).unwrap_err();
        assert_eq!(t.kind, ThrottleKind::Utilization);
        // Level 6400 vs 6000 at 100/s: 4 s.
        assert_eq!(t.retry_after_ms(), 4001);
        assert_eq!(t.retry_after_secs(), 5);
        assert!(l.admit(s(4.1), 10, 0, 0).is_ok());
    }

    #[test]
    fn ptu_cost_deducts_cache() {
        assert_eq!(ptu_cost(2048, 1024, 10, 4), 1064);
    }
}
