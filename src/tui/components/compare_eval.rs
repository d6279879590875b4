//! The Compare screen's checks of a column's answer: its assertions, checked once when the
//! call ends (not on every frame), and its judges' grades as their calls come back. The
//! grading calls are the ones `aoai compare` makes ([`Variant::grading_calls`]); the app
//! starts them from the specs [`ColumnEval::take_queued`] hands over and routes their
//! results back here. View state only: no I/O.

use crate::domain::call::{CallRecord, CallSpec, Outcome};
use crate::domain::compare::Variant;
use crate::domain::eval::assert::Assertion;
use crate::domain::eval::cases::Case;
use crate::domain::eval::judge::{self, Grade};
use crate::tui::event::CallId;

/// A column's assertions on its finished call for the shown case.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub passed: usize,
    /// Assertions decided so far (judges count once graded).
    pub checked: usize,
    /// `kind: message` of the first failed assertion.
    pub first_failure: Option<String>,
    /// Judge calls not back yet.
    pub judging: usize,
    /// The judges' scores (1–5) so far.
    pub scores: Vec<u8>,
}

impl Verdict {
    /// The mean judge score, when a judge has graded.
    pub fn mean_score(&self) -> Option<f64> {
        (!self.scores.is_empty()).then(|| {
            self.scores.iter().map(|&s| f64::from(s)).sum::<f64>() / self.scores.len() as f64
        })
    }

    /// The badge line: `✓ 3/3 pass · judge 4.0`, `✗ 2/3 · contains: …`, `… 2/2 · judging 1`.
    pub fn badge(&self) -> (String, BadgeKind) {
        let score = self
            .mean_score()
            .map_or(String::new(), |s| format!(" · judge {s:.1}"));
        let (passed, checked) = (self.passed, self.checked);
        match (&self.first_failure, self.judging) {
            (Some(f), _) => (
                format!("✗ {passed}/{checked}{score} · {f}"),
                BadgeKind::Fail,
            ),
            (None, 0) => (format!("✓ {passed}/{checked} pass{score}"), BadgeKind::Pass),
            (None, n) => (
                format!("… {passed}/{checked} pass{score} · judging {n}"),
                BadgeKind::Pending,
            ),
        }
    }
}

/// How a badge is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadgeKind {
    Pass,
    Fail,
    Pending,
}

/// The checks of one column's last finished call.
#[derive(Debug, Clone, Default)]
pub struct ColumnEval {
    asserts: Vec<Assertion>,
    /// One per judge assertion, in order: `None` until graded.
    grades: Vec<Option<Result<Grade, String>>>,
    /// Grading calls not started yet: (judge index, spec).
    queued: Vec<(usize, CallSpec)>,
    /// Grading calls in flight: (id, judge index).
    judging: Vec<(CallId, usize)>,
    verdict: Option<Verdict>,
}

impl ColumnEval {
    /// The checks of `rec`, the variant's answer to `case` (a finished call). Judges are
    /// queued only for an answered call; `deployment` is the screen's (for variants and
    /// judges that name none).
    pub fn of(v: &Variant, case: &Case, rec: &CallRecord, deployment: &str) -> ColumnEval {
        let asserts = v.asserts_for(case);
        let judges = asserts
            .iter()
            .filter(|a| matches!(a, Assertion::Judge(_)))
            .count();
        let mut e = ColumnEval {
            asserts,
            grades: vec![None; judges],
            ..ColumnEval::default()
        };
        if rec.outcome == Outcome::Done {
            for (nth, call) in v
                .grading_calls(case, rec, deployment)
                .into_iter()
                .enumerate()
            {
                match call {
                    Ok(spec) => e.queued.push((nth, spec)),
                    Err(why) => e.grades[nth] = Some(Err(why)),
                }
            }
        }
        e.verdict = e.decide(rec);
        e
    }

    pub fn verdict(&self) -> Option<&Verdict> {
        self.verdict.as_ref()
    }

    pub fn has_queued(&self) -> bool {
        !self.queued.is_empty()
    }

    /// Hands over the grading calls to start, ids from `next_id`, each with `retry`.
    pub fn take_queued(
        &mut self,
        next_id: &mut CallId,
        retry: &crate::domain::retry::RetryPolicy,
    ) -> Vec<(CallId, CallSpec)> {
        self.queued
            .drain(..)
            .map(|(nth, mut spec)| {
                let id = *next_id;
                *next_id += 1;
                spec.retry = retry.clone();
                self.judging.push((id, nth));
                (id, spec)
            })
            .collect()
    }

    pub fn owns(&self, id: CallId) -> bool {
        self.judging.iter().any(|(j, _)| *j == id)
    }

    /// Grading calls in flight.
    pub fn in_flight(&self) -> impl Iterator<Item = CallId> + '_ {
        self.judging.iter().map(|(id, _)| *id)
    }

    /// A grading call ended (`judged`); `rec` is the graded answer. Whether it was ours.
    pub fn on_graded(&mut self, id: CallId, judged: &CallRecord, rec: &CallRecord) -> bool {
        let Some(at) = self.judging.iter().position(|(j, _)| *j == id) else {
            return false;
        };
        let (_, nth) = self.judging.remove(at);
        self.grades[nth] = Some(judge::grade_of(judged));
        self.verdict = self.decide(rec);
        true
    }

    /// Cancels the grading: queued and in-flight judges fail as cancelled. Returns the ids
    /// in flight (their late results are dropped).
    pub fn cancel(&mut self, rec: Option<&CallRecord>) -> Vec<CallId> {
        let ids: Vec<CallId> = self.in_flight().collect();
        let nths = self
            .judging
            .drain(..)
            .map(|(_, n)| n)
            .chain(self.queued.drain(..).map(|(n, _)| n))
            .collect::<Vec<_>>();
        for n in nths {
            self.grades[n] = Some(Err("the judge's call was cancelled".into()));
        }
        if let Some(rec) = rec {
            self.verdict = self.decide(rec);
        }
        ids
    }

    /// The verdict so far; `None` when the column asserts nothing.
    fn decide(&self, rec: &CallRecord) -> Option<Verdict> {
        if self.asserts.is_empty() {
            return None;
        }
        let mut v = Verdict {
            passed: 0,
            checked: 0,
            first_failure: None,
            judging: 0,
            scores: Vec::new(),
        };
        let mut nth = 0;
        for a in &self.asserts {
            let grade = if matches!(a, Assertion::Judge(_)) {
                nth += 1;
                match self.grades.get(nth - 1).and_then(Option::as_ref) {
                    Some(g) => Some(g),
                    // Not graded yet: pending while its call is queued or in flight.
                    None if rec.outcome == Outcome::Done => {
                        v.judging += 1;
                        continue;
                    }
                    None => None,
                }
            } else {
                None
            };
            let c = a.check(rec, grade);
            v.checked += 1;
            v.scores.extend(c.score);
            if c.passed {
                v.passed += 1;
            } else if v.first_failure.is_none() {
                v.first_failure = Some(format!("{}: {}", c.kind, c.message));
            }
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::compare::VariantSet;
    use crate::domain::retry::RetryPolicy;

    fn set() -> VariantSet {
        VariantSet::from_toml_str(
            r#"
[[variant]]
name = "a"
user = "What is a PTU?"
assert = [
  { type = "contains", value = "PTU" },
  { type = "judge", rubric = "relevance" },
]
"#,
        )
        .unwrap()
    }

    fn answered(text: &str) -> CallRecord {
        CallRecord {
            outcome: Outcome::Done,
            text: text.into(),
            ..CallRecord::default()
        }
    }

    #[test]
    fn a_judge_is_pending_until_graded_then_scores() {
        let s = set();
        let rec = answered("A PTU is a unit of provisioned throughput.");
        let mut e = ColumnEval::of(&s.variants[0], &s.case(0), &rec, "gpt-4o");
        let v = e.verdict().unwrap();
        assert_eq!((v.passed, v.checked, v.judging), (1, 1, 1));
        assert_eq!(v.badge().1, BadgeKind::Pending);
        assert!(e.has_queued());
        let mut next = 10;
        let started = e.take_queued(&mut next, &RetryPolicy::None);
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].0, 10);
        assert_eq!(started[0].1.deployment, "gpt-4o");
        assert!(!started[0].1.stream);
        assert!(e.owns(10));
        let judged = answered(r#"{"score": 4, "reason": "on topic"}"#);
        assert!(e.on_graded(10, &judged, &rec));
        let v = e.verdict().unwrap();
        assert_eq!((v.passed, v.checked, v.judging), (2, 2, 0));
        assert_eq!(v.mean_score(), Some(4.0));
        assert_eq!(
            v.badge(),
            ("✓ 2/2 pass · judge 4.0".into(), BadgeKind::Pass)
        );
        assert!(!e.owns(10));
    }

    #[test]
    fn a_judge_that_fails_or_is_cancelled_fails_the_column() {
        let s = set();
        let rec = answered("A PTU is a unit.");
        let mut e = ColumnEval::of(&s.variants[0], &s.case(0), &rec, "gpt-4o");
        let mut next = 1;
        e.take_queued(&mut next, &RetryPolicy::None);
        let junk = answered("not json");
        assert!(e.on_graded(1, &junk, &rec));
        let (text, kind) = e.verdict().unwrap().badge();
        assert_eq!(kind, BadgeKind::Fail);
        assert!(text.starts_with("✗ 1/2"), "{text}");

        let mut e = ColumnEval::of(&s.variants[0], &s.case(0), &rec, "gpt-4o");
        e.take_queued(&mut next, &RetryPolicy::None);
        assert_eq!(e.cancel(Some(&rec)), vec![2]);
        let v = e.verdict().unwrap();
        assert_eq!(v.judging, 0);
        assert!(v.first_failure.as_deref().unwrap().contains("cancelled"));
    }

    #[test]
    fn a_failed_call_asks_no_judge() {
        let s = set();
        let rec = CallRecord {
            outcome: Outcome::Failed,
            ..CallRecord::default()
        };
        let e = ColumnEval::of(&s.variants[0], &s.case(0), &rec, "gpt-4o");
        assert!(!e.has_queued());
        let v = e.verdict().unwrap();
        assert_eq!(v.judging, 0);
        assert_eq!(v.badge().1, BadgeKind::Fail);
    }
}
