//! The ranges the chat-completions API accepts for its sampling and budget parameters, in one
//! pure place: `aoai chat`, `bench`, `compare` (variant files), `replay --resend` and the
//! console check a request here before sending it, so an out-of-range value is refused with
//! its range instead of being sent (Azure answers some with a 400, the simulator with 200).
//!
//! Also the choice of the wire field that carries the output budget ([`MaxTokensField`]):
//! `max_completion_tokens` by default (reasoning models refuse `max_tokens`), `max_tokens`
//! for old API versions and deployments that only know it.

use serde_json::Value;

use crate::wire::ChatRequest;

/// An inclusive range of a numeric parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The request-body key.
    pub key: &'static str,
    pub min: f64,
    /// `None`: no upper bound.
    pub max: Option<f64>,
    /// Whole numbers only.
    pub integer: bool,
}

impl Range {
    /// `0..=2`, `>= 1`.
    pub fn describe(&self) -> String {
        match self.max {
            Some(max) => format!("{}..={}", self.min, max),
            None => format!(">= {}", self.min),
        }
    }

    /// `Ok` when `v` lies in the range (and is whole, for integer parameters).
    pub fn check(&self, v: f64) -> Result<(), ParamError> {
        let inside = v.is_finite()
            && v >= self.min
            && self.max.is_none_or(|m| v <= m)
            && (!self.integer || v.fract() == 0.0);
        if inside {
            Ok(())
        } else {
            Err(ParamError::OutOfRange {
                key: self.key,
                value: fmt_value(v),
                range: self.describe(),
            })
        }
    }
}

fn fmt_value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

pub const TEMPERATURE: Range = Range {
    key: "temperature",
    min: 0.0,
    max: Some(2.0),
    integer: false,
};
pub const TOP_P: Range = Range {
    key: "top_p",
    min: 0.0,
    max: Some(1.0),
    integer: false,
};
pub const MAX_TOKENS: Range = Range {
    key: "max_tokens",
    min: 1.0,
    max: None,
    integer: true,
};
pub const MAX_COMPLETION_TOKENS: Range = Range {
    key: "max_completion_tokens",
    min: 1.0,
    max: None,
    integer: true,
};
pub const PRESENCE_PENALTY: Range = Range {
    key: "presence_penalty",
    min: -2.0,
    max: Some(2.0),
    integer: false,
};
pub const FREQUENCY_PENALTY: Range = Range {
    key: "frequency_penalty",
    min: -2.0,
    max: Some(2.0),
    integer: false,
};
/// Choices per request (`n`).
pub const N: Range = Range {
    key: "n",
    min: 1.0,
    max: Some(128.0),
    integer: true,
};
pub const TOP_LOGPROBS: Range = Range {
    key: "top_logprobs",
    min: 0.0,
    max: Some(20.0),
    integer: true,
};

/// Every range checked, in the order they are checked.
pub const ALL: [Range; 8] = [
    TEMPERATURE,
    TOP_P,
    MAX_TOKENS,
    MAX_COMPLETION_TOKENS,
    PRESENCE_PENALTY,
    FREQUENCY_PENALTY,
    N,
    TOP_LOGPROBS,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("{key} {value} is out of range (allowed: {range})")]
    OutOfRange {
        key: &'static str,
        value: String,
        range: String,
    },
    #[error("{key} must be a number, not {found}")]
    NotANumber { key: &'static str, found: String },
}

impl ParamError {
    /// The request-body key at fault.
    pub fn key(&self) -> &'static str {
        match self {
            ParamError::OutOfRange { key, .. } | ParamError::NotANumber { key, .. } => key,
        }
    }
}

/// Checks every parameter of `req` that has a range, typed fields and extra (flattened)
/// body keys alike (`presence_penalty`, `frequency_penalty`, …); `null` counts as absent.
pub fn check_request(req: &ChatRequest) -> Result<(), ParamError> {
    for r in ALL {
        let value = match r.key {
            "temperature" => req.temperature,
            "top_p" => req.top_p,
            "max_tokens" => req.max_tokens.map(f64::from),
            "max_completion_tokens" => req.max_completion_tokens.map(f64::from),
            "n" => req.n.map(f64::from),
            _ => None,
        };
        let value = match (value, req.extra.get(r.key)) {
            (Some(v), _) => Some(v),
            (None, None | Some(Value::Null)) => None,
            (None, Some(Value::Number(n))) => n.as_f64(),
            (None, Some(other)) => {
                return Err(ParamError::NotANumber {
                    key: r.key,
                    found: other.to_string(),
                });
            }
        };
        if let Some(v) = value {
            r.check(v)?;
        }
    }
    Ok(())
}

/// Which body field carries the output budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxTokensField {
    /// `max_completion_tokens`: what current API versions and every reasoning model expect.
    #[default]
    MaxCompletionTokens,
    /// `max_tokens`: the legacy field, for API versions before 2024-09-01-preview and
    /// deployments that refuse `max_completion_tokens`.
    MaxTokens,
}

impl MaxTokensField {
    pub fn as_str(self) -> &'static str {
        match self {
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            MaxTokensField::MaxTokens => "max_tokens",
        }
    }

    /// Puts `budget` in this field of `req` and clears the other one.
    pub fn apply(self, req: &mut ChatRequest, budget: Option<u32>) {
        match self {
            MaxTokensField::MaxCompletionTokens => {
                req.max_completion_tokens = budget;
                req.max_tokens = None;
            }
            MaxTokensField::MaxTokens => {
                req.max_tokens = budget;
                req.max_completion_tokens = None;
            }
        }
    }

    /// Moves whatever budget `req` carries (in either field) into this one.
    pub fn normalise(self, req: &mut ChatRequest) {
        let budget = req.output_budget();
        self.apply(req, budget);
    }
}

impl std::str::FromStr for MaxTokensField {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "max_completion_tokens" | "max-completion-tokens" => {
                Ok(MaxTokensField::MaxCompletionTokens)
            }
            "max_tokens" | "max-tokens" => Ok(MaxTokensField::MaxTokens),
            other => Err(format!(
                "`{other}` is not a budget field (expected max_completion_tokens or max_tokens)"
            )),
        }
    }
}

impl std::fmt::Display for MaxTokensField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn req(edit: impl FnOnce(&mut ChatRequest)) -> ChatRequest {
        let mut r = ChatRequest::default();
        edit(&mut r);
        r
    }

    #[test]
    fn out_of_range_is_refused_with_the_range() {
        let cases: Vec<(ChatRequest, &str)> = vec![
            (
                req(|r| r.temperature = Some(5.0)),
                "temperature 5 is out of range (allowed: 0..=2)",
            ),
            (
                req(|r| r.temperature = Some(-0.1)),
                "temperature -0.1 is out of range (allowed: 0..=2)",
            ),
            (
                req(|r| r.temperature = Some(f64::NAN)),
                "temperature NaN is out of range (allowed: 0..=2)",
            ),
            (
                req(|r| r.top_p = Some(1.5)),
                "top_p 1.5 is out of range (allowed: 0..=1)",
            ),
            (
                req(|r| r.max_tokens = Some(0)),
                "max_tokens 0 is out of range (allowed: >= 1)",
            ),
            (
                req(|r| r.max_completion_tokens = Some(0)),
                "max_completion_tokens 0 is out of range (allowed: >= 1)",
            ),
            (
                req(|r| r.n = Some(0)),
                "n 0 is out of range (allowed: 1..=128)",
            ),
            (
                req(|r| {
                    r.extra.insert("presence_penalty".into(), 3.into());
                }),
                "presence_penalty 3 is out of range (allowed: -2..=2)",
            ),
            (
                req(|r| {
                    r.extra.insert("frequency_penalty".into(), (-2.5).into());
                }),
                "frequency_penalty -2.5 is out of range (allowed: -2..=2)",
            ),
            (
                req(|r| {
                    r.extra.insert("frequency_penalty".into(), "high".into());
                }),
                "frequency_penalty must be a number, not \"high\"",
            ),
        ];
        for (r, msg) in cases {
            assert_eq!(check_request(&r).unwrap_err().to_string(), msg);
        }
    }

    #[test]
    fn in_range_passes() {
        let cases = [
            req(|_| {}),
            req(|r| {
                r.temperature = Some(0.0);
                r.top_p = Some(1.0);
                r.max_tokens = Some(1);
            }),
            req(|r| {
                r.temperature = Some(2.0);
                r.extra.insert("presence_penalty".into(), (-2.0).into());
            }),
            req(|r| {
                r.extra.insert("frequency_penalty".into(), Value::Null);
            }),
        ];
        for r in cases {
            assert_eq!(check_request(&r), Ok(()), "{r:?}");
        }
    }

    #[test]
    fn the_budget_field_moves_the_budget() {
        let mut r = req(|r| r.max_tokens = Some(7));
        MaxTokensField::MaxCompletionTokens.normalise(&mut r);
        assert_eq!((r.max_tokens, r.max_completion_tokens), (None, Some(7)));
        MaxTokensField::MaxTokens.normalise(&mut r);
        assert_eq!((r.max_tokens, r.max_completion_tokens), (Some(7), None));
        assert_eq!(
            "max_tokens".parse::<MaxTokensField>(),
            Ok(MaxTokensField::MaxTokens)
        );
        assert!("tokens".parse::<MaxTokensField>().is_err());
    }
}
