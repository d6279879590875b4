//! The comparison of a run: a row per variant with its statistics, deltas against the
//! baseline, and its answers' word diffs against the baseline's, case by case (an answer is
//! only ever compared with the baseline's answer to the same case).

use serde::Serialize;

use super::{Deltas, VariantSet, VariantStats};
use crate::domain::call::{CallRecord, Outcome};
use crate::domain::diff::{DiffSpan, plain, similarity, word_diff};
use crate::domain::eval::{EvalReport, VariantEval};

/// A variant's first successful answer against the baseline's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerDiff {
    /// Share of words the same in both (1.0 = identical).
    pub similarity: f64,
    /// `[-removed-]{+added+}` text, like `git diff --word-diff=plain`.
    pub plain: String,
    pub spans: Vec<DiffSpan>,
}

impl AnswerDiff {
    pub fn of(baseline: &str, answer: &str) -> Self {
        let spans = word_diff(baseline, answer);
        AnswerDiff {
            similarity: similarity(baseline, answer),
            plain: plain(&spans),
            spans,
        }
    }
}

/// The first successful answer among a variant's repeats (in repeat order).
pub fn first_answer(records: &[CallRecord]) -> Option<&str> {
    records
        .iter()
        .find(|r| r.outcome == Outcome::Done)
        .map(|r| r.text.as_str())
}

/// A variant's answer to one case against the baseline's answer to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseDiff {
    /// The case's label.
    pub case: String,
    #[serde(flatten)]
    pub diff: AnswerDiff,
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantRow {
    pub name: String,
    pub deployment: String,
    pub baseline: bool,
    #[serde(flatten)]
    pub stats: VariantStats,
    /// Against the baseline (all zero for the baseline itself).
    pub delta: Deltas,
    /// The first successful answer.
    pub answer: Option<String>,
    /// The diff on the first case both this variant and the baseline answered; `None` when
    /// there is none.
    pub diff: Option<AnswerDiff>,
    /// Share of words the same, the mean over the cases both answered (one case: the diff's).
    pub similarity: Option<f64>,
    /// With a data set: the diff on each case both answered, in case order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub case_diffs: Vec<CaseDiff>,
    /// The evaluation (a set with assertions or judges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval: Option<VariantEval>,
}

/// The whole comparison: a row per variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareReport {
    pub set: Option<String>,
    pub baseline: String,
    pub repeat: u32,
    pub variants: Vec<VariantRow>,
    /// Cases and the judges' usage (a set with assertions or judges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval: Option<EvalReport>,
}

/// Builds the comparison from each variant's records (`records[i]` for `set.variants[i]`,
/// `repeat` slots per case, cases in order).
pub fn summarize(
    set: &VariantSet,
    default_deployment: &str,
    repeat: u32,
    records: &[Vec<CallRecord>],
) -> CompareReport {
    let empty: Vec<CallRecord> = Vec::new();
    let recs = |i: usize| records.get(i).unwrap_or(&empty);
    let stats: Vec<VariantStats> = (0..set.variants.len())
        .map(|i| VariantStats::of(recs(i)))
        .collect();
    let base_stats = &stats[set.baseline];
    let per_case = repeat.max(1) as usize;
    let cases = set.case_count();
    // The first successful answer to case `c` among its repeats.
    let answer_to = |i: usize, c: usize| {
        let r = recs(i);
        first_answer(&r[(c * per_case).min(r.len())..((c + 1) * per_case).min(r.len())])
    };
    let variants = set
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let diffs: Vec<CaseDiff> = (0..cases)
                .filter_map(|c| {
                    let (b, a) = (answer_to(set.baseline, c)?, answer_to(i, c)?);
                    Some(CaseDiff {
                        case: set.case(c).label,
                        diff: AnswerDiff::of(b, a),
                    })
                })
                .collect();
            let similarity = (!diffs.is_empty())
                .then(|| diffs.iter().map(|d| d.diff.similarity).sum::<f64>() / diffs.len() as f64);
            VariantRow {
                name: v.name.clone(),
                deployment: v.deployment_or(default_deployment).to_string(),
                baseline: i == set.baseline,
                delta: Deltas::of(&stats[i], base_stats),
                diff: diffs.first().map(|d| d.diff.clone()),
                similarity,
                case_diffs: if cases > 1 { diffs } else { Vec::new() },
                answer: first_answer(recs(i)).map(str::to_string),
                stats: stats[i].clone(),
                eval: None,
            }
        })
        .collect();
    CompareReport {
        set: set.name.clone(),
        baseline: set.baseline().name.clone(),
        repeat,
        variants,
        eval: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = r#"
[defaults]
user = "Tell me about {{topic}}."
[[variant]]
name = "base"
[[variant]]
name = "other"
[[case]]
topic = "ptu"
[[case]]
topic = "quota"
"#;

    fn rec(text: Option<&str>) -> CallRecord {
        CallRecord {
            outcome: if text.is_some() {
                Outcome::Done
            } else {
                Outcome::Failed
            },
            text: text.unwrap_or_default().into(),
            ..CallRecord::default()
        }
    }

    /// Two repeats per case: [case 1 #1, case 1 #2, case 2 #1, case 2 #2].
    #[test]
    fn answers_are_diffed_case_by_case_never_across_cases() {
        let set = VariantSet::from_toml_str(SET).unwrap();
        let base = vec![
            rec(Some("PTUs are reserved throughput")),
            rec(Some("PTUs are reserved throughput")),
            rec(Some("Quota is per region")),
            rec(None),
        ];
        // `other` failed case 1 twice: its case 2 answer must not be diffed with the
        // baseline's case 1 answer.
        let other = vec![
            rec(None),
            rec(None),
            rec(None),
            rec(Some("Quota is per region")),
        ];
        let r = summarize(&set, "gpt-4o", 2, &[base, other]);
        let o = &r.variants[1];
        assert_eq!(o.case_diffs.len(), 1);
        assert_eq!(o.case_diffs[0].case, "2");
        assert_eq!(o.similarity, Some(1.0));
        assert_eq!(o.diff.as_ref().unwrap().similarity, 1.0);
        // The baseline against itself: both cases.
        assert_eq!(r.variants[0].case_diffs.len(), 2);
    }

    #[test]
    fn the_similarity_is_the_mean_over_cases() {
        let set = VariantSet::from_toml_str(SET).unwrap();
        let base = vec![rec(Some("a b c d")), rec(None), rec(Some("x y")), rec(None)];
        let other = vec![rec(Some("a b c d")), rec(None), rec(Some("p q")), rec(None)];
        let r = summarize(&set, "gpt-4o", 2, &[base, other]);
        let o = &r.variants[1];
        let each: Vec<f64> = o.case_diffs.iter().map(|d| d.diff.similarity).collect();
        assert_eq!(each.len(), 2);
        assert!(each[0] > each[1]);
        assert_eq!(o.similarity, Some((each[0] + each[1]) / 2.0));
    }
}
