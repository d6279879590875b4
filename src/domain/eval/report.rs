//! The results of an evaluation: per case × repeat whether every assertion held, and per
//! variant the pass rate, the judge scores' mean and p05, the failures per assertion type
//! with their case, and the judges' own tokens and cost (apart from the variants').

use std::collections::BTreeMap;

use serde::Serialize;

use super::assert::{Assertion, Check};
use super::judge::Grade;
use crate::domain::call::{CallRecord, Outcome};

/// One answer of a variant to one case (one repeat) and its checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRun {
    /// The case's label (`id` field or 1-based number).
    pub case: String,
    /// 0-based.
    pub repeat: u32,
    pub passed: bool,
    pub checks: Vec<Check>,
    /// The call's end-to-end time (JUnit's `time`).
    pub e2e_ms: Option<f64>,
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Done => "done",
        Outcome::Failed => "failed",
        Outcome::Throttled => "throttled",
        Outcome::Cancelled => "cancelled",
    }
}

impl CaseRun {
    /// Checks `asserts` (already filled with the case's fields) on a call's record.
    /// `grades[i]` is the grade of the i-th judge assertion among them. A call that did not
    /// end with an answer fails as `call`, without checking the assertions.
    pub fn of(
        case: &str,
        repeat: u32,
        record: &CallRecord,
        asserts: &[Assertion],
        grades: &[Option<Result<Grade, String>>],
    ) -> CaseRun {
        let mut checks = Vec::new();
        if record.outcome != Outcome::Done {
            let why = record
                .error
                .as_ref()
                .map_or(String::new(), |e| format!(": {e}"));
            checks.push(Check {
                kind: "call".into(),
                passed: false,
                message: format!("call {}{why}", outcome_word(record.outcome)),
                score: None,
            });
        } else {
            let mut judge = 0;
            for a in asserts {
                let grade = if matches!(a, Assertion::Judge(_)) {
                    judge += 1;
                    grades.get(judge - 1).and_then(Option::as_ref)
                } else {
                    None
                };
                checks.push(a.check(record, grade));
            }
        }
        CaseRun {
            case: case.to_string(),
            repeat,
            passed: checks.iter().all(|c| c.passed),
            checks,
            e2e_ms: record.timing.e2e_ms,
        }
    }
}

/// One failed assertion, with its case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub assertion: String,
    pub case: String,
    pub repeat: u32,
    pub message: String,
}

/// A variant's evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VariantEval {
    /// Case × repeat answers checked.
    pub runs: usize,
    pub passed: usize,
    /// `passed / runs` (0 with no runs).
    pub pass_rate: f64,
    /// Judge scores given.
    pub judge_scores: usize,
    pub judge_mean: Option<f64>,
    /// Nearest rank: the ⌈0.05·n⌉-th lowest score.
    pub judge_p05: Option<f64>,
    /// Failures per assertion type.
    pub failures_by_assertion: BTreeMap<String, usize>,
    pub failures: Vec<Failure>,
    pub cases: Vec<CaseRun>,
}

/// The nearest-rank p-th percentile of `v` (0 < p <= 100).
pub fn nearest_rank(v: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v.get(rank.min(v.len()) - 1).copied()
}

impl VariantEval {
    pub fn of(cases: Vec<CaseRun>) -> VariantEval {
        let runs = cases.len();
        let passed = cases.iter().filter(|c| c.passed).count();
        let scores: Vec<f64> = cases
            .iter()
            .flat_map(|c| c.checks.iter().filter_map(|k| k.score.map(f64::from)))
            .collect();
        let mut failures = Vec::new();
        let mut by = BTreeMap::new();
        for c in &cases {
            for k in c.checks.iter().filter(|k| !k.passed) {
                *by.entry(k.kind.clone()).or_default() += 1;
                failures.push(Failure {
                    assertion: k.kind.clone(),
                    case: c.case.clone(),
                    repeat: c.repeat,
                    message: k.message.clone(),
                });
            }
        }
        VariantEval {
            runs,
            passed,
            pass_rate: if runs == 0 {
                0.0
            } else {
                passed as f64 / runs as f64
            },
            judge_scores: scores.len(),
            judge_mean: (!scores.is_empty())
                .then(|| scores.iter().sum::<f64>() / scores.len() as f64),
            judge_p05: nearest_rank(&scores, 5.0),
            failures_by_assertion: by,
            failures,
            cases,
        }
    }
}

/// What the judges' own calls used (not in the variants' figures).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JudgeUsage {
    pub calls: usize,
    /// Calls that did not end with an answer.
    pub failed: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Sum over the priced calls.
    pub cost_usd: Option<f64>,
    pub unpriced_calls: usize,
}

impl JudgeUsage {
    pub fn of<'a>(records: impl IntoIterator<Item = &'a CallRecord>) -> JudgeUsage {
        let mut u = JudgeUsage::default();
        for r in records {
            u.calls += 1;
            if r.outcome != Outcome::Done {
                u.failed += 1;
            }
            if let Some(x) = r.usage {
                u.prompt_tokens += x.prompt_tokens;
                u.completion_tokens += x.completion_tokens;
                match r.cost_usd {
                    Some(c) => *u.cost_usd.get_or_insert(0.0) += c,
                    None => u.unpriced_calls += 1,
                }
            }
        }
        u
    }
}

/// The evaluation part of a compare report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvalReport {
    /// Cases in the set (1 for a set without cases).
    pub cases: usize,
    /// `None` when no judge ran.
    pub judge: Option<JudgeUsage>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eval::AssertFile;
    use crate::domain::eval::judge::{Judge, Rubric};

    fn run(case: &str, score: Option<u8>, ok: bool) -> CaseRun {
        CaseRun {
            case: case.into(),
            repeat: 0,
            passed: ok,
            checks: vec![Check {
                kind: if score.is_some() { "judge" } else { "contains" }.into(),
                passed: ok,
                message: "m".into(),
                score,
            }],
            e2e_ms: None,
        }
    }

    #[test]
    fn pass_rate_mean_and_p05() {
        let mut runs: Vec<CaseRun> = (0..19)
            .map(|i| run(&i.to_string(), Some(5), true))
            .collect();
        runs.push(run("19", Some(1), false));
        runs.push(run("20", None, false));
        let e = VariantEval::of(runs);
        assert_eq!((e.runs, e.passed), (21, 19));
        assert!((e.pass_rate - 19.0 / 21.0).abs() < 1e-12);
        assert_eq!(e.judge_scores, 20);
        assert_eq!(e.judge_mean, Some((19.0 * 5.0 + 1.0) / 20.0));
        // ⌈0.05 · 20⌉ = 1st lowest.
        assert_eq!(e.judge_p05, Some(1.0));
        assert_eq!(e.failures_by_assertion["judge"], 1);
        assert_eq!(e.failures_by_assertion["contains"], 1);
        assert_eq!(e.failures[1].case, "20");
    }

    #[test]
    fn failed_call_fails_without_checks_and_judges_line_up() {
        let rec = CallRecord {
            outcome: Outcome::Failed,
            ..Default::default()
        };
        let r = CaseRun::of("1", 0, &rec, &[], &[]);
        assert!(!r.passed);
        assert_eq!(r.checks[0].kind, "call");
        let ok = CallRecord {
            text: "PTU".into(),
            ..Default::default()
        };
        let contains = AssertFile {
            kind: "contains".into(),
            value: Some("PTU".into()),
            threshold: None,
            rubric: None,
            deployment: None,
        }
        .resolve("k")
        .unwrap();
        let j = |t| Assertion::Judge(Judge::new(Rubric::Fluency, None, Some(t), "k").unwrap());
        let grades = vec![
            Some(Ok(Grade {
                score: 4,
                reason: "fine".into(),
            })),
            Some(Err("no JSON".into())),
        ];
        let r = CaseRun::of("1", 0, &ok, &[j(4.0), contains, j(2.0)], &grades);
        assert_eq!(
            r.checks.iter().map(|c| c.passed).collect::<Vec<_>>(),
            [true, true, false]
        );
        assert_eq!(r.checks[0].score, Some(4));
        assert!(r.checks[2].message.contains("no JSON"));
    }
}
