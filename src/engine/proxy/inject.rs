//! Faults the proxy injects for the application (`--inject SPEC`): an Azure-shaped 429 or 500
//! answered by the proxy itself (never sent upstream), a slow first token, a stream cut off.
//! Which calls get a fault is drawn from a seeded RNG, so a run can be repeated.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The retry-after the injected 429 asks for, seconds.
pub const INJECTED_RETRY_AFTER_S: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Answer 429 with `retry-after` and `retry-after-ms`.
    TooManyRequests,
    /// Answer 500.
    ServerError,
    /// Hold the response body back this long before its first bytes.
    SlowFirstToken(Duration),
    /// Break the stream off after its first content.
    CutStream,
}

/// One `--inject` flag: a fault and the share of calls it hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InjectSpec {
    pub fault: Fault,
    /// 0..=1.
    pub probability: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InjectError {
    #[error(
        "--inject `{0}`: expected 429:P, 500:P, cut-stream:P or slow-first-token:DURATION[:P] (P in 0..1)"
    )]
    Shape(String),
    #[error("--inject `{spec}`: probability `{value}` is not a number in 0..1")]
    Probability { spec: String, value: String },
    #[error("--inject `{spec}`: `{value}` is not a duration (e.g. 2s, 500ms)")]
    Duration { spec: String, value: String },
}

impl std::str::FromStr for InjectSpec {
    type Err = InjectError;
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = spec.trim().split(':').collect();
        let prob = |v: &str| -> Result<f64, InjectError> {
            match v.parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
                _ => Err(InjectError::Probability {
                    spec: spec.into(),
                    value: v.into(),
                }),
            }
        };
        let (fault, probability) = match parts.as_slice() {
            ["429", p] => (Fault::TooManyRequests, prob(p)?),
            ["500", p] => (Fault::ServerError, prob(p)?),
            ["cut-stream", p] => (Fault::CutStream, prob(p)?),
            ["slow-first-token", d, rest @ ..] if rest.len() <= 1 => {
                let d = humantime::parse_duration(d).map_err(|_| InjectError::Duration {
                    spec: spec.into(),
                    value: (*d).into(),
                })?;
                let p = rest.first().map_or(Ok(1.0), |p| prob(p))?;
                (Fault::SlowFirstToken(d), p)
            }
            _ => return Err(InjectError::Shape(spec.into())),
        };
        Ok(InjectSpec { fault, probability })
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::TooManyRequests => write!(f, "429"),
            Fault::ServerError => write!(f, "500"),
            Fault::SlowFirstToken(d) => {
                write!(f, "slow-first-token:{}", humantime::format_duration(*d))
            }
            Fault::CutStream => write!(f, "cut-stream"),
        }
    }
}

/// What the proxy does to one call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Plan {
    /// Answer this status here instead of forwarding (429 or 500).
    pub answer: Option<Fault>,
    pub slow_first: Option<Duration>,
    pub cut: bool,
}

impl Plan {
    /// The faults as a record shows them (`429`, `slow-first-token:2s+cut-stream`).
    pub fn label(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(a) = self.answer {
            parts.push(a.to_string());
        }
        if let Some(d) = self.slow_first {
            parts.push(Fault::SlowFirstToken(d).to_string());
        }
        if self.cut {
            parts.push(Fault::CutStream.to_string());
        }
        (!parts.is_empty()).then(|| parts.join("+"))
    }
}

/// Draws each call's faults.
#[derive(Debug)]
pub struct Injector {
    specs: Vec<InjectSpec>,
    rng: Mutex<SmallRng>,
}

impl Injector {
    pub fn new(specs: Vec<InjectSpec>, seed: u64) -> Self {
        Injector {
            specs,
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
        }
    }

    /// One draw per spec, in order; the first answering fault wins.
    pub fn plan(&self) -> Plan {
        let mut plan = Plan::default();
        if self.specs.is_empty() {
            return plan;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        for s in &self.specs {
            let hit = s.probability >= 1.0 || rng.random::<f64>() < s.probability;
            if !hit {
                continue;
            }
            match s.fault {
                Fault::TooManyRequests | Fault::ServerError => {
                    plan.answer.get_or_insert(s.fault);
                }
                Fault::SlowFirstToken(d) => plan.slow_first = Some(d),
                Fault::CutStream => plan.cut = true,
            }
        }
        plan
    }
}

/// The status and body of an injected answer, Azure-shaped.
pub fn answer_body(fault: Fault, operation: &str) -> (u16, String) {
    let (status, code, message) = match fault {
        Fault::ServerError => (
            500,
            "InternalServerError".to_string(),
            "The server had an error while processing your request. Sorry about that! (injected by aoai proxy)".to_string(),
        ),
        _ => (
            429,
            "429".to_string(),
            format!(
                "Requests to the {operation} Operation under Azure OpenAI API have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after {INJECTED_RETRY_AFTER_S} second. (injected by aoai proxy)"
            ),
        ),
    };
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_say_why() {
        let s: InjectSpec = "429:0.1".parse().unwrap();
        assert_eq!((s.fault, s.probability), (Fault::TooManyRequests, 0.1));
        let s: InjectSpec = "slow-first-token:2s".parse().unwrap();
        assert_eq!(s.fault, Fault::SlowFirstToken(Duration::from_secs(2)));
        assert_eq!(s.probability, 1.0);
        assert_eq!(
            "cut-stream:0.05".parse::<InjectSpec>().unwrap().fault,
            Fault::CutStream
        );
        assert!(matches!(
            "429:2".parse::<InjectSpec>(),
            Err(InjectError::Probability { .. })
        ));
        assert!(matches!(
            "404:0.1".parse::<InjectSpec>(),
            Err(InjectError::Shape(_))
        ));
        assert!(matches!(
            "slow-first-token:soon".parse::<InjectSpec>(),
            Err(InjectError::Duration { .. })
        ));
    }

    #[test]
    fn draws_are_seeded_and_near_the_share() {
        let specs = vec!["429:0.25".parse().unwrap()];
        let a = Injector::new(specs.clone(), 7);
        let b = Injector::new(specs, 7);
        let draws: Vec<bool> = (0..4000).map(|_| a.plan().answer.is_some()).collect();
        let again: Vec<bool> = (0..4000).map(|_| b.plan().answer.is_some()).collect();
        assert_eq!(draws, again, "same seed, same calls");
        let hits = draws.iter().filter(|h| **h).count();
        assert!((800..1200).contains(&hits), "{hits} of 4000 at 0.25");
        assert_eq!(Injector::new(vec![], 1).plan(), Plan::default());
    }

    #[test]
    fn injected_bodies_are_azure_shaped() {
        let (status, body) = answer_body(Fault::TooManyRequests, "ChatCompletions_Create");
        assert_eq!(status, 429);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "429");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("retry after 1 second")
        );
        assert_eq!(answer_body(Fault::ServerError, "x").0, 500);
    }
}
