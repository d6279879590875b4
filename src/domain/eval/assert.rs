//! Assertions in promptfoo's shape: `{ type = "contains", value = "PTU" }`. Each checks one
//! answer (its text, finish reason, tokens, timings or cost) and says why it failed. Judges
//! are assertions too; their grade comes from a second call (`engine::compare`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::judge::{Grade, Judge, Rubric};
use super::template::fill;
use super::{EvalError, err};
use crate::domain::call::CallRecord;

/// The assertion types, as written in `type`.
pub const TYPES: [&str; 14] = [
    "contains",
    "not_contains",
    "icontains",
    "regex",
    "equals",
    "is_json",
    "json_schema",
    "finish_reason",
    "max_output_tokens",
    "max_ttft_ms",
    "max_e2e_ms",
    "max_cost_usd",
    "judge",
    "not_icontains",
];

/// One assertion as written (`[defaults]`, a variant, or a case).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertFile {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub value: Option<Value>,
    /// `judge`: the lowest passing score (1–5; default 3).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// `judge`: a built-in rubric name or the grading instructions.
    #[serde(default)]
    pub rubric: Option<String>,
    /// `judge`: the deployment that grades; default: the variant's.
    #[serde(default)]
    pub deployment: Option<String>,
}

/// A checked assertion.
#[derive(Debug, Clone, PartialEq)]
pub enum Assertion {
    Contains(String),
    NotContains(String),
    IContains(String),
    NotIContains(String),
    Regex(String),
    Equals(String),
    IsJson,
    JsonSchema(Value),
    FinishReason(String),
    MaxOutputTokens(u64),
    MaxTtftMs(f64),
    MaxE2eMs(f64),
    MaxCostUsd(f64),
    Judge(Judge),
}

fn string_value(v: &Option<Value>, key: &str) -> Result<String, EvalError> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(other) => Err(err(
            format!("{key}.value"),
            format!("must be a string, not {other}"),
        )),
        None => Err(err(format!("{key}.value"), "is missing")),
    }
}

fn number_value(v: &Option<Value>, key: &str) -> Result<f64, EvalError> {
    match v.as_ref().and_then(Value::as_f64) {
        Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Some(x) => Err(err(
            format!("{key}.value"),
            format!("{x} must be a number >= 0"),
        )),
        None => Err(err(format!("{key}.value"), "must be a number")),
    }
}

fn has_placeholder(s: &str) -> bool {
    !super::template::placeholders(s).is_empty()
}

/// Why `pattern` is not a regular expression (the last line of the regex crate's message,
/// which names the problem), or `None` when it compiles.
pub fn regex_problem(pattern: &str) -> Option<String> {
    let e = regex::Regex::new(pattern).err()?;
    Some(
        e.to_string()
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_string(),
    )
}

fn check_regex(pattern: &str, key: &str) -> Result<(), EvalError> {
    match regex_problem(pattern) {
        None => Ok(()),
        Some(why) => Err(err(
            format!("{key}.value"),
            format!("not a regular expression: {why}"),
        )),
    }
}

/// A schema given as a table or as JSON text, checked to compile.
fn schema_value(v: &Option<Value>, key: &str) -> Result<Value, EvalError> {
    let schema = match v {
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| {
            err(
                format!("{key}.value"),
                format!("not a JSON schema text: {e}"),
            )
        })?,
        Some(v @ Value::Object(_)) => v.clone(),
        Some(other) => {
            return Err(err(
                format!("{key}.value"),
                format!("must be a schema (table or JSON text), not {other}"),
            ));
        }
        None => return Err(err(format!("{key}.value"), "is missing")),
    };
    jsonschema::validator_for(&schema).map_err(|e| {
        err(
            format!("{key}.value"),
            format!("not a valid JSON Schema: {e}"),
        )
    })?;
    Ok(schema)
}

impl AssertFile {
    /// Checks the assertion; `key` names it in errors (`variant[2].assert[1]`).
    pub fn resolve(self, key: &str) -> Result<Assertion, EvalError> {
        let only_judge = |present: bool, what: &str| {
            if present && self.kind != "judge" {
                Err(err(
                    format!("{key}.{what}"),
                    format!("only a `judge` assertion takes `{what}`"),
                ))
            } else {
                Ok(())
            }
        };
        only_judge(self.threshold.is_some(), "threshold")?;
        only_judge(self.rubric.is_some(), "rubric")?;
        only_judge(self.deployment.is_some(), "deployment")?;
        let v = &self.value;
        Ok(match self.kind.as_str() {
            "contains" => Assertion::Contains(string_value(v, key)?),
            "not_contains" => Assertion::NotContains(string_value(v, key)?),
            "icontains" => Assertion::IContains(string_value(v, key)?),
            "not_icontains" => Assertion::NotIContains(string_value(v, key)?),
            "regex" => {
                let p = string_value(v, key)?;
                if !has_placeholder(&p) {
                    check_regex(&p, key)?;
                }
                Assertion::Regex(p)
            }
            "equals" => Assertion::Equals(string_value(v, key)?),
            "is_json" => {
                if v.is_some() {
                    return Err(err(format!("{key}.value"), "`is_json` takes no value"));
                }
                Assertion::IsJson
            }
            "json_schema" => Assertion::JsonSchema(schema_value(v, key)?),
            "finish_reason" => Assertion::FinishReason(string_value(v, key)?),
            "max_output_tokens" => Assertion::MaxOutputTokens(number_value(v, key)? as u64),
            "max_ttft_ms" => Assertion::MaxTtftMs(number_value(v, key)?),
            "max_e2e_ms" => Assertion::MaxE2eMs(number_value(v, key)?),
            "max_cost_usd" => Assertion::MaxCostUsd(number_value(v, key)?),
            "judge" => {
                // promptfoo's `llm-rubric` puts the rubric in `value`.
                let rubric = match (&self.rubric, v) {
                    (Some(r), None) => r.clone(),
                    (None, Some(_)) => string_value(v, key)?,
                    (Some(_), Some(_)) => {
                        return Err(err(
                            format!("{key}.value"),
                            "give the rubric in `rubric` or `value`, not both",
                        ));
                    }
                    (None, None) => {
                        return Err(err(format!("{key}.rubric"), "is missing"));
                    }
                };
                Assertion::Judge(Judge::new(
                    Rubric::parse(&rubric),
                    self.deployment,
                    self.threshold,
                    key,
                )?)
            }
            other => {
                return Err(err(
                    format!("{key}.type"),
                    format!("`{other}` is not one of: {}", TYPES.join(", ")),
                ));
            }
        })
    }
}

/// The outcome of one assertion on one answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    /// The assertion's `type`.
    pub kind: String,
    pub passed: bool,
    /// Why it failed, or what was seen (`score 4: …`).
    pub message: String,
    /// A judge's score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
}

fn check(kind: &str, passed: bool, message: impl Into<String>) -> Check {
    Check {
        kind: kind.to_string(),
        passed,
        message: message.into(),
        score: None,
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 80;
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > MAX {
        format!("{}…", one_line.chars().take(MAX).collect::<String>())
    } else {
        one_line
    }
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text.trim()).map_err(|e| format!("not JSON: {e}"))
}

impl Assertion {
    /// The `type` as written.
    pub fn kind(&self) -> &'static str {
        match self {
            Assertion::Contains(_) => "contains",
            Assertion::NotContains(_) => "not_contains",
            Assertion::IContains(_) => "icontains",
            Assertion::NotIContains(_) => "not_icontains",
            Assertion::Regex(_) => "regex",
            Assertion::Equals(_) => "equals",
            Assertion::IsJson => "is_json",
            Assertion::JsonSchema(_) => "json_schema",
            Assertion::FinishReason(_) => "finish_reason",
            Assertion::MaxOutputTokens(_) => "max_output_tokens",
            Assertion::MaxTtftMs(_) => "max_ttft_ms",
            Assertion::MaxE2eMs(_) => "max_e2e_ms",
            Assertion::MaxCostUsd(_) => "max_cost_usd",
            Assertion::Judge(_) => "judge",
        }
    }

    /// The placeholder names its values use.
    pub fn placeholders(&self) -> Vec<String> {
        let s = match self {
            Assertion::Contains(s)
            | Assertion::NotContains(s)
            | Assertion::IContains(s)
            | Assertion::NotIContains(s)
            | Assertion::Regex(s)
            | Assertion::Equals(s)
            | Assertion::FinishReason(s) => s.as_str(),
            _ => "",
        };
        super::template::placeholders(s)
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// The assertion with a case's fields in its values.
    pub fn filled(&self, fields: &BTreeMap<String, String>) -> Assertion {
        let f = |s: &String| fill(s, fields);
        match self {
            Assertion::Contains(s) => Assertion::Contains(f(s)),
            Assertion::NotContains(s) => Assertion::NotContains(f(s)),
            Assertion::IContains(s) => Assertion::IContains(f(s)),
            Assertion::NotIContains(s) => Assertion::NotIContains(f(s)),
            Assertion::Regex(s) => Assertion::Regex(f(s)),
            Assertion::Equals(s) => Assertion::Equals(f(s)),
            Assertion::FinishReason(s) => Assertion::FinishReason(f(s)),
            other => other.clone(),
        }
    }

    /// Checks a finished call's answer. A judge needs its grade: `grade` is the judge
    /// call's outcome (`None` when it was not run).
    pub fn check(&self, r: &CallRecord, grade: Option<&Result<Grade, String>>) -> Check {
        let text = r.text.as_str();
        let kind = self.kind();
        match self {
            Assertion::Contains(v) => check(
                kind,
                text.contains(v.as_str()),
                format!("expected the answer to contain {v:?}"),
            ),
            Assertion::NotContains(v) => check(
                kind,
                !text.contains(v.as_str()),
                format!("expected the answer not to contain {v:?}"),
            ),
            Assertion::IContains(v) => check(
                kind,
                text.to_lowercase().contains(&v.to_lowercase()),
                format!("expected the answer to contain {v:?} (any case)"),
            ),
            Assertion::NotIContains(v) => check(
                kind,
                !text.to_lowercase().contains(&v.to_lowercase()),
                format!("expected the answer not to contain {v:?} (any case)"),
            ),
            Assertion::Regex(p) => match regex::Regex::new(p) {
                Ok(re) => check(
                    kind,
                    re.is_match(text),
                    format!("expected the answer to match /{p}/"),
                ),
                Err(_) => check(kind, false, format!("/{p}/ is not a regular expression")),
            },
            Assertion::Equals(v) => check(
                kind,
                text.trim() == v.trim(),
                format!("expected {v:?}, got {:?}", short(text)),
            ),
            Assertion::IsJson => match parse_json(text) {
                Ok(_) => check(kind, true, "valid JSON"),
                Err(e) => check(kind, false, e),
            },
            Assertion::JsonSchema(schema) => match parse_json(text) {
                Err(e) => check(kind, false, e),
                Ok(v) => match jsonschema::validator_for(schema) {
                    Err(e) => check(kind, false, format!("schema does not compile: {e}")),
                    Ok(val) => match val.validate(&v) {
                        Ok(()) => check(kind, true, "valid against the schema"),
                        Err(e) => {
                            let at = e.instance_path().to_string();
                            let at = if at.is_empty() { "/".to_string() } else { at };
                            check(kind, false, format!("at {at}: {e}"))
                        }
                    },
                },
            },
            Assertion::FinishReason(v) => {
                let got = r.finish_reason.as_deref().unwrap_or("none");
                check(kind, got == v, format!("expected finish {v}, got {got}"))
            }
            Assertion::MaxOutputTokens(max) => match r.usage {
                Some(u) => check(
                    kind,
                    u.completion_tokens <= *max,
                    format!("{} output tokens (max {max})", u.completion_tokens),
                ),
                None => check(kind, false, "no usage reported"),
            },
            Assertion::MaxTtftMs(max) => match r.timing.ttft_ms {
                Some(t) => check(kind, t <= *max, format!("TTFT {t:.0} ms (max {max} ms)")),
                None => check(kind, false, "no first token measured"),
            },
            Assertion::MaxE2eMs(max) => match r.timing.e2e_ms {
                Some(t) => check(kind, t <= *max, format!("e2e {t:.0} ms (max {max} ms)")),
                None => check(kind, false, "no end-to-end time measured"),
            },
            Assertion::MaxCostUsd(max) => match r.cost_usd {
                Some(c) => check(kind, c <= *max, format!("cost ${c:.6} (max ${max})")),
                None => check(kind, false, "no price for this model (see --prices)"),
            },
            Assertion::Judge(j) => match grade {
                None => check(kind, false, "the judge was not run"),
                Some(Err(e)) => check(kind, false, format!("judge: {e}")),
                Some(Ok(g)) => Check {
                    kind: kind.to_string(),
                    passed: g.score >= j.threshold,
                    message: format!(
                        "{} score {} (threshold {}): {}",
                        j.rubric.name(),
                        g.score,
                        j.threshold,
                        short(&g.reason)
                    ),
                    score: Some(g.score),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::usage::Usage;
    use serde_json::json;

    fn a(kind: &str, value: Value) -> Result<Assertion, EvalError> {
        AssertFile {
            kind: kind.into(),
            value: Some(value),
            threshold: None,
            rubric: None,
            deployment: None,
        }
        .resolve("defaults.assert[1]")
    }

    fn rec(text: &str) -> CallRecord {
        CallRecord {
            text: text.into(),
            finish_reason: Some("stop".into()),
            usage: Some(Usage {
                completion_tokens: 12,
                ..Default::default()
            }),
            cost_usd: Some(0.002),
            ..Default::default()
        }
    }

    #[test]
    fn text_checks_pass_and_fail() {
        let r = rec("Buy PTU when utilisation is high.");
        let pass = |k: &str, v: Value| a(k, v).unwrap().check(&r, None).passed;
        assert!(pass("contains", json!("PTU")));
        assert!(!pass("contains", json!("ptu")));
        assert!(pass("icontains", json!("ptu")));
        assert!(pass("not_contains", json!("never")));
        assert!(!pass("not_icontains", json!("buy")));
        assert!(pass("regex", json!(r"(?i)^buy\b")));
        assert!(!pass("equals", json!("Buy PTU")));
        assert!(pass("finish_reason", json!("stop")));
        assert!(pass("max_output_tokens", json!(12)));
        assert!(!pass("max_output_tokens", json!(11)));
        assert!(!pass("max_cost_usd", json!(0.001)));
        assert!(!pass("max_ttft_ms", json!(100)));
    }

    #[test]
    fn json_checks() {
        let schema =
            json!({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]});
        let s = a("json_schema", schema).unwrap();
        assert!(s.check(&rec("{\"n\": 3}"), None).passed);
        let c = s.check(&rec("{\"n\": \"x\"}"), None);
        assert!(!c.passed);
        assert!(c.message.starts_with("at /n: "), "{}", c.message);
        assert!(!s.check(&rec("nope"), None).passed);
        let j = AssertFile {
            kind: "is_json".into(),
            value: None,
            threshold: None,
            rubric: None,
            deployment: None,
        }
        .resolve("k")
        .unwrap();
        assert!(j.check(&rec(" [1] "), None).passed);
    }

    #[test]
    fn errors_name_the_key() {
        let e = a("contain", json!("x")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("defaults.assert[1].type: `contain` is not one of: contains"),
            "{e}"
        );
        let e = a("regex", json!("(")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("defaults.assert[1].value: not a regular expression"),
            "{e}"
        );
        let e = a("max_e2e_ms", json!("fast")).unwrap_err();
        assert_eq!(e.to_string(), "defaults.assert[1].value: must be a number");
        let e = a("json_schema", json!({"type": 5})).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("defaults.assert[1].value: not a valid JSON Schema"),
            "{e}"
        );
    }
}
