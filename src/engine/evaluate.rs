//! The evaluation step of a compare run: after the variants' calls, each judge grades each
//! answer (a second call, structured output, with the run's concurrency and retry policy),
//! then every answer's assertions are checked. The judges' calls are kept apart, so their
//! tokens and cost are reported apart from the variants'.

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::compare::Plan;
use crate::azure::{CallSpec, ChatClient};
use crate::domain::call::{CallRecord, Outcome};
use crate::domain::compare::{CompareReport, VariantSet};
use crate::domain::eval::judge::{self, Grade};
use crate::domain::eval::{Assertion, CaseRun, EvalReport, JudgeUsage, VariantEval};

/// The evaluation of a run: per variant, and the judges' calls.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// `variants[i]` for `set.variants[i]`.
    pub variants: Vec<VariantEval>,
    /// Every judge call, in the order they were asked for.
    pub judge_records: Vec<CallRecord>,
}

impl Evaluation {
    /// Puts the evaluation into a compare report (rows in the set's order).
    pub fn attach(self, set: &VariantSet, report: &mut CompareReport) {
        let judge = (!self.judge_records.is_empty()).then(|| JudgeUsage::of(&self.judge_records));
        for (row, e) in report.variants.iter_mut().zip(self.variants) {
            row.eval = Some(e);
        }
        report.eval = Some(EvalReport {
            cases: set.case_count(),
            judge,
        });
    }
}

/// A judge assertion's grade for one answer (`None`: not run).
type Slot = Option<Result<Grade, String>>;

/// One grading call: which answer, which of its judge assertions.
struct JudgeJob {
    variant: usize,
    slot: usize,
    nth: usize,
    spec: CallSpec,
}

/// Grades and checks every answer of a run (`records` as [`super::compare::run_set`]
/// returns them). A set without assertions still gets a result per answer (passed when
/// the call gave one), which JUnit output uses. A cancelled run skips the judges (their
/// assertions fail).
pub async fn evaluate(
    client: &ChatClient,
    set: &VariantSet,
    plan: &Plan,
    records: &[Vec<CallRecord>],
    cancel: &CancellationToken,
) -> Evaluation {
    let repeat = plan.repeat as usize;
    let cases: Vec<_> = (0..set.case_count()).map(|c| set.case(c)).collect();
    // The grades, [variant][slot][nth judge].
    let mut grades: Vec<Vec<Vec<Slot>>> = Vec::new();
    let mut jobs = Vec::new();
    for (vi, v) in set.variants.iter().enumerate() {
        let mut per_slot = Vec::new();
        for (ci, case) in cases.iter().enumerate() {
            for r in 0..repeat {
                let slot = ci * repeat + r;
                let rec = records.get(vi).and_then(|rs| rs.get(slot));
                let judges = v
                    .asserts_for(case)
                    .iter()
                    .filter(|a| matches!(a, Assertion::Judge(_)))
                    .count();
                let mut g: Vec<Slot> = vec![None; judges];
                if let Some(rec) = rec.filter(|r| r.outcome == Outcome::Done) {
                    for (nth, call) in v
                        .grading_calls(case, rec, &plan.default_deployment)
                        .into_iter()
                        .enumerate()
                    {
                        match call {
                            Err(e) => g[nth] = Some(Err(e)),
                            Ok(mut spec) => {
                                plan.max_tokens_field.normalise(&mut spec.request);
                                spec.retry = plan.retry.clone();
                                jobs.push(JudgeJob {
                                    variant: vi,
                                    slot,
                                    nth,
                                    spec,
                                });
                            }
                        }
                    }
                }
                per_slot.push(g);
            }
        }
        grades.push(per_slot);
    }
    let first_id = records.iter().map(Vec::len).sum::<usize>() as u64 + 1;
    let mut stream = futures_util::stream::iter(jobs.into_iter().enumerate())
        .map(|(i, job)| async move {
            let id = first_id + i as u64;
            let record = if cancel.is_cancelled() {
                CallRecord {
                    id,
                    deployment: job.spec.deployment.clone(),
                    outcome: Outcome::Cancelled,
                    ..Default::default()
                }
            } else {
                client.run(id, &job.spec, cancel, &mut |_| {}).await
            };
            (i, job, record)
        })
        .buffer_unordered(plan.concurrency);
    let mut judged: Vec<(usize, CallRecord)> = Vec::new();
    while let Some((i, job, record)) = stream.next().await {
        let grade = judge::grade_of(&record);
        grades[job.variant][job.slot][job.nth] = Some(grade);
        judged.push((i, record));
    }
    judged.sort_by_key(|(i, _)| *i);
    let mut variants = Vec::new();
    for (vi, v) in set.variants.iter().enumerate() {
        let mut runs = Vec::new();
        for (ci, case) in cases.iter().enumerate() {
            let asserts = v.asserts_for(case);
            for r in 0..repeat {
                let slot = ci * repeat + r;
                let Some(rec) = records.get(vi).and_then(|rs| rs.get(slot)) else {
                    continue;
                };
                runs.push(CaseRun::of(
                    &case.label,
                    r as u32,
                    rec,
                    &asserts,
                    &grades[vi][slot],
                ));
            }
        }
        variants.push(VariantEval::of(runs));
    }
    Evaluation {
        variants,
        judge_records: judged.into_iter().map(|(_, r)| r).collect(),
    }
}
