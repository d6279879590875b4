//! The retry policy as a pure decision: given what an attempt ended with, retry (after how
//! long, against which deployment) or give up. The client does the waiting.
//!
//! `honor` follows the SDKs (azure-wire.md §8): wait `retry-after-ms`, else `retry-after`,
//! else exponential backoff min(0.5·2ⁿ, 8) s; a server-asked wait longer than the cap is not
//! shortened (that would only earn another 429) — the call gives up instead.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RetryPolicy {
    /// One attempt; a 429 is reported as it came.
    #[default]
    None,
    /// Wait as the service asks and try again, up to `max_attempts` attempts in all.
    Honor { max_attempts: u32, max_wait_ms: u64 },
    /// On 429 (or 5xx), send the same request once to another deployment at once: on the
    /// same resource (`failover:DEPLOYMENT`), or on another profile's resource
    /// (`failover:PROFILE/DEPLOYMENT`; see [`failover_target`]).
    Failover { deployment: String },
}

pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
pub const DEFAULT_MAX_WAIT_MS: u64 = 60_000;

impl RetryPolicy {
    pub fn honor() -> Self {
        RetryPolicy::Honor {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_wait_ms: DEFAULT_MAX_WAIT_MS,
        }
    }
}

/// A failover target: `PROFILE/DEPLOYMENT` names another resource (a config profile's
/// endpoint and credential), a bare `DEPLOYMENT` the same one. Azure deployment names cannot
/// hold `/`, so the split is unambiguous.
pub fn failover_target(target: &str) -> (Option<&str>, &str) {
    match target.split_once('/') {
        Some((p, d)) if !p.is_empty() && !d.is_empty() => (Some(p), d),
        _ => (None, target),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "retry policy `{0}` is not one of: none, honor, honor:N (N attempts), failover:DEPLOYMENT, failover:PROFILE/DEPLOYMENT"
)]
pub struct RetryPolicyParseError(String);

impl FromStr for RetryPolicy {
    type Err = RetryPolicyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || RetryPolicyParseError(s.to_string());
        match s.split_once(':') {
            None if s == "none" => Ok(RetryPolicy::None),
            None if s == "honor" => Ok(RetryPolicy::honor()),
            Some(("honor", n)) => {
                let n: u32 = n.parse().map_err(|_| err())?;
                if n == 0 {
                    return Err(err());
                }
                Ok(RetryPolicy::Honor {
                    max_attempts: n,
                    max_wait_ms: DEFAULT_MAX_WAIT_MS,
                })
            }
            Some(("failover", d)) if !d.trim().is_empty() => Ok(RetryPolicy::Failover {
                deployment: d.trim().to_string(),
            }),
            _ => Err(err()),
        }
    }
}

impl fmt::Display for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryPolicy::None => write!(f, "none"),
            RetryPolicy::Honor { max_attempts, .. } if *max_attempts == DEFAULT_MAX_ATTEMPTS => {
                write!(f, "honor")
            }
            RetryPolicy::Honor { max_attempts, .. } => write!(f, "honor:{max_attempts}"),
            RetryPolicy::Failover { deployment } => write!(f, "failover:{deployment}"),
        }
    }
}

/// How an attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// HTTP status with the server's retry-after, if any.
    Status {
        status: u16,
        retry_after_ms: Option<u64>,
    },
    /// Connection refused/reset or a timeout before any response.
    Transport,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Retry {
        after_ms: u64,
        deployment: Option<String>,
    },
    GiveUp,
}

fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Exponential backoff used when the server gives no retry-after: min(0.5·2ⁿ, 8) s, where n is
/// the number of attempts already made minus one. Deterministic (no jitter) so runs compare.
pub fn backoff_ms(attempts_made: u32) -> u64 {
    let n = attempts_made.saturating_sub(1).min(10);
    (500u64 << n).min(8_000)
}

/// `attempts_made` counts the attempt that just ended (1 after the first).
pub fn decide(
    policy: &RetryPolicy,
    attempts_made: u32,
    outcome: AttemptOutcome,
    failed_over: bool,
) -> Decision {
    let (retryable, retry_after) = match outcome {
        AttemptOutcome::Status {
            status,
            retry_after_ms,
        } => (retryable_status(status), retry_after_ms),
        AttemptOutcome::Transport => (true, None),
    };
    if !retryable {
        return Decision::GiveUp;
    }
    match policy {
        RetryPolicy::None => Decision::GiveUp,
        RetryPolicy::Honor {
            max_attempts,
            max_wait_ms,
        } => {
            if attempts_made >= *max_attempts {
                return Decision::GiveUp;
            }
            let after = retry_after.unwrap_or_else(|| backoff_ms(attempts_made));
            if after > *max_wait_ms {
                Decision::GiveUp
            } else {
                Decision::Retry {
                    after_ms: after,
                    deployment: None,
                }
            }
        }
        RetryPolicy::Failover { deployment } => {
            if failed_over {
                Decision::GiveUp
            } else {
                Decision::Retry {
                    after_ms: 0,
                    deployment: Some(deployment.clone()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for s in ["none", "honor", "honor:5", "failover:gpt-4o"] {
            let p: RetryPolicy = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert!("honour".parse::<RetryPolicy>().is_err());
        assert!("failover:".parse::<RetryPolicy>().is_err());
        assert!("honor:0".parse::<RetryPolicy>().is_err());
    }

    #[test]
    fn honor_waits_as_asked_then_gives_up() {
        let p = RetryPolicy::honor();
        let t = AttemptOutcome::Status {
            status: 429,
            retry_after_ms: Some(6543),
        };
        assert_eq!(
            decide(&p, 1, t, false),
            Decision::Retry {
                after_ms: 6543,
                deployment: None
            }
        );
        assert_eq!(decide(&p, 3, t, false), Decision::GiveUp);
        let long = AttemptOutcome::Status {
            status: 429,
            retry_after_ms: Some(86_400_000),
        };
        assert_eq!(decide(&p, 1, long, false), Decision::GiveUp);
        let bare = AttemptOutcome::Status {
            status: 503,
            retry_after_ms: None,
        };
        assert_eq!(
            decide(&p, 2, bare, false),
            Decision::Retry {
                after_ms: 1000,
                deployment: None
            }
        );
        let bad = AttemptOutcome::Status {
            status: 400,
            retry_after_ms: None,
        };
        assert_eq!(decide(&p, 1, bad, false), Decision::GiveUp);
    }

    #[test]
    fn a_failover_target_may_name_another_resource() {
        assert_eq!(failover_target("gpt-4o"), (None, "gpt-4o"));
        assert_eq!(failover_target("westus/gpt-4o"), (Some("westus"), "gpt-4o"));
        assert_eq!(failover_target("/gpt-4o"), (None, "/gpt-4o"));
        let p: RetryPolicy = "failover:westus/gpt-4o".parse().unwrap();
        assert_eq!(p.to_string(), "failover:westus/gpt-4o");
    }

    #[test]
    fn failover_once() {
        let p: RetryPolicy = "failover:gpt-4o".parse().unwrap();
        let t = AttemptOutcome::Status {
            status: 429,
            retry_after_ms: Some(1000),
        };
        assert_eq!(
            decide(&p, 1, t, false),
            Decision::Retry {
                after_ms: 0,
                deployment: Some("gpt-4o".into())
            }
        );
        assert_eq!(decide(&p, 2, t, true), Decision::GiveUp);
        assert_eq!(decide(&RetryPolicy::None, 1, t, false), Decision::GiveUp);
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(
            [1, 2, 3, 4, 5, 9].map(backoff_ms),
            [500, 1000, 2000, 4000, 8000, 8000]
        );
    }
}
