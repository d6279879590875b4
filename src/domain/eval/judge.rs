//! Judges: a model grades each answer from 1 to 5 with a reason, through structured output
//! (`response_format` json_schema), on a rubric: one of the five built-in criteria of
//! Azure's guidance for chat evaluation (classification accuracy, coherence, fluency,
//! groundedness in a given context, relevance) or instructions of the set's own.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{EvalError, err};
use crate::wire::{ChatMessage, ChatRequest};

/// The lowest passing score when the set names none.
pub const DEFAULT_THRESHOLD: u8 = 3;

/// What the judge grades on.
#[derive(Debug, Clone, PartialEq)]
pub enum Rubric {
    /// The answer's label against the case's `expected` field.
    Classification,
    Coherence,
    Fluency,
    /// Every claim supported by the case's `context` field.
    Groundedness,
    Relevance,
    /// The set's own grading instructions.
    Custom(String),
}

/// The built-in rubric names.
pub const BUILTIN: [&str; 5] = [
    "classification",
    "coherence",
    "fluency",
    "groundedness",
    "relevance",
];

impl Rubric {
    /// A built-in name, else the text is the rubric.
    pub fn parse(s: &str) -> Rubric {
        match s.trim() {
            "classification" | "classification_accuracy" => Rubric::Classification,
            "coherence" => Rubric::Coherence,
            "fluency" => Rubric::Fluency,
            "groundedness" => Rubric::Groundedness,
            "relevance" => Rubric::Relevance,
            other => Rubric::Custom(other.to_string()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Rubric::Classification => "classification",
            Rubric::Coherence => "coherence",
            Rubric::Fluency => "fluency",
            Rubric::Groundedness => "groundedness",
            Rubric::Relevance => "relevance",
            Rubric::Custom(_) => "rubric",
        }
    }

    /// The case field the rubric needs, if any.
    pub fn needs_field(&self) -> Option<&'static str> {
        match self {
            Rubric::Classification => Some("expected"),
            Rubric::Groundedness => Some("context"),
            _ => None,
        }
    }

    fn instructions(&self) -> &str {
        match self {
            Rubric::Classification => {
                "Criterion: classification accuracy. The expected label is given. Score 5 when the answer's label is the expected one (wording, case and punctuation aside), 1 when it is another label or none; 3 when the answer hedges between labels including the expected one."
            }
            Rubric::Coherence => {
                "Criterion: coherence. How well the answer's ideas are organised and connected, and whether it reads as one logical whole that follows from the question. 5: clear, logical flow; 1: disjointed or self-contradictory."
            }
            Rubric::Fluency => {
                "Criterion: fluency. Grammar, word choice, sentence structure and readability, regardless of correctness. 5: natural and error-free; 1: hard to read."
            }
            Rubric::Groundedness => {
                "Criterion: groundedness. Whether every claim in the answer is supported by the given context. 5: every claim is supported; 3: some claims are unsupported; 1: the answer contradicts the context or is mostly unsupported."
            }
            Rubric::Relevance => {
                "Criterion: relevance. How well the answer addresses the question: on topic, complete, without padding. 5: fully addresses it; 1: off topic."
            }
            Rubric::Custom(text) => text,
        }
    }
}

/// `judge = { deployment = "…", rubric = "…", threshold = 4 }` in `[defaults]` or a variant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeFile {
    pub rubric: String,
    #[serde(default)]
    pub deployment: Option<String>,
    #[serde(default)]
    pub threshold: Option<f64>,
}

impl JudgeFile {
    pub fn resolve(self, key: &str) -> Result<Judge, EvalError> {
        if self.rubric.trim().is_empty() {
            return Err(err(format!("{key}.rubric"), "is empty"));
        }
        Judge::new(
            Rubric::parse(&self.rubric),
            self.deployment,
            self.threshold,
            key,
        )
    }
}

/// A checked judge.
#[derive(Debug, Clone, PartialEq)]
pub struct Judge {
    pub rubric: Rubric,
    /// `None`: the graded variant's deployment.
    pub deployment: Option<String>,
    /// Lowest passing score, 1–5.
    pub threshold: u8,
}

impl Judge {
    pub fn new(
        rubric: Rubric,
        deployment: Option<String>,
        threshold: Option<f64>,
        key: &str,
    ) -> Result<Judge, EvalError> {
        let threshold = match threshold {
            None => DEFAULT_THRESHOLD,
            Some(t) if (1.0..=5.0).contains(&t) && t.fract() == 0.0 => t as u8,
            Some(t) => {
                return Err(err(
                    format!("{key}.threshold"),
                    format!("{t} is not a score 1–5"),
                ));
            }
        };
        if deployment.as_deref().is_some_and(|d| d.trim().is_empty()) {
            return Err(err(format!("{key}.deployment"), "is empty"));
        }
        Ok(Judge {
            rubric,
            deployment,
            threshold,
        })
    }

    /// The grading request for one answer to `question`, with the case's fields. Fails when
    /// the rubric needs a field the case lacks.
    pub fn request(
        &self,
        question: &str,
        answer: &str,
        fields: &BTreeMap<String, String>,
    ) -> Result<ChatRequest, String> {
        let mut user = format!("Question:\n{question}\n\nAnswer to grade:\n{answer}\n");
        if let Some(f) = self.rubric.needs_field() {
            let v = fields
                .get(f)
                .ok_or_else(|| format!("the {} rubric needs a `{f}` field", self.rubric.name()))?;
            let title = if f == "context" {
                "Context"
            } else {
                "Expected label"
            };
            user.push_str(&format!("\n{title}:\n{v}\n"));
        }
        let system = format!(
            "You grade an AI assistant's answer. {}\nGive an integer score from 1 (worst) to 5 (best) and a one-sentence reason. Reply only with JSON: {{\"score\": <1-5>, \"reason\": \"…\"}}.",
            self.rubric.instructions()
        );
        let mut req = ChatRequest {
            messages: vec![
                ChatMessage::new("system", &system),
                ChatMessage::new("user", &user),
            ],
            max_completion_tokens: Some(300),
            temperature: Some(0.0),
            seed: Some(1),
            ..Default::default()
        };
        req.extra
            .insert("response_format".into(), response_format());
        Ok(req)
    }
}

/// The structured-output format of a grade: `{score: 1–5, reason}` (an `enum`, which strict
/// mode accepts where `minimum`/`maximum` may not be).
pub fn response_format() -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": "grade",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {
                    "score": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
                    "reason": {"type": "string"}
                },
                "required": ["score", "reason"],
                "additionalProperties": false
            }
        }
    })
}

/// A judge's verdict on one answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Grade {
    pub score: u8,
    pub reason: String,
}

/// The grade a judge's call gave: its answer read by [`parse`], or why there is none.
pub fn grade_of(record: &crate::domain::call::CallRecord) -> Result<Grade, String> {
    use crate::domain::call::Outcome;
    let what = match record.outcome {
        Outcome::Done => return parse(&record.text),
        Outcome::Failed => "failed",
        Outcome::Throttled => "was throttled",
        Outcome::Cancelled => "was cancelled",
    };
    let why = record
        .error
        .as_ref()
        .map_or(String::new(), |e| format!(": {e}"));
    Err(format!("the judge's call {what}{why}"))
}

/// Reads a judge's answer: JSON with an integer `score` 1–5 and a `reason`.
pub fn parse(text: &str) -> Result<Grade, String> {
    let v: Value = serde_json::from_str(text.trim()).map_err(|e| {
        format!(
            "the judge's answer is not JSON ({e}): {:?}",
            text.chars().take(60).collect::<String>()
        )
    })?;
    let score = v.get("score").ok_or("the judge's answer has no `score`")?;
    let s = score
        .as_f64()
        .filter(|s| s.fract() == 0.0 && (1.0..=5.0).contains(s))
        .ok_or_else(|| format!("the judge's score {score} is not an integer 1–5"))?;
    Ok(Grade {
        score: s as u8,
        reason: v
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_parse() {
        assert_eq!(
            parse(r#" {"score": 4, "reason": "ok"} "#).unwrap(),
            Grade {
                score: 4,
                reason: "ok".into()
            }
        );
        assert!(
            parse(r#"{"score": 6, "reason": ""}"#)
                .unwrap_err()
                .contains("not an integer 1–5")
        );
        assert!(parse(r#"{"score": 2.5}"#).is_err());
        assert!(parse("Four.").unwrap_err().contains("not JSON"));
        assert!(parse("{}").unwrap_err().contains("no `score`"));
    }

    #[test]
    fn rubric_fields_and_thresholds() {
        let j = Judge::new(Rubric::parse("groundedness"), None, None, "k").unwrap();
        assert_eq!(j.threshold, 3);
        let e = j.request("q", "a", &BTreeMap::new()).unwrap_err();
        assert_eq!(e, "the groundedness rubric needs a `context` field");
        let f: BTreeMap<String, String> =
            [("context".to_string(), "PTUs are …".to_string())].into();
        let r = j.request("q", "a", &f).unwrap();
        assert!(r.messages[1].text().contains("Context:\nPTUs are …"));
        assert_eq!(r.extra["response_format"]["type"], "json_schema");
        let e = Judge::new(Rubric::Coherence, None, Some(6.0), "defaults.judge").unwrap_err();
        assert_eq!(
            e.to_string(),
            "defaults.judge.threshold: 6 is not a score 1–5"
        );
        assert_eq!(
            Rubric::parse("Is it polite?"),
            Rubric::Custom("Is it polite?".into())
        );
    }
}
