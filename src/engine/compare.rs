//! The compare runner behind `aoai compare` and the console's Compare screen: every variant
//! of a set K times (bounded concurrency; 429s are honoured by the retry policy inside each
//! call, so a waiting call keeps its slot), records per variant in repeat order.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::azure::{CallSpec, ChatClient};
use crate::domain::call::{CallRecord, Outcome};
use crate::domain::compare::VariantSet;
use crate::domain::eval::cases;
use crate::domain::params::MaxTokensField;
use crate::domain::retry::RetryPolicy;
use crate::sim::SimConfig;

/// Calls at once when neither `--concurrency` nor the file says.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How to run a set.
#[derive(Debug, Clone)]
pub struct Plan {
    pub repeat: u32,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// For variants that name no deployment.
    pub default_deployment: String,
    /// Keep the raw events on the records (for recording).
    pub capture_events: bool,
    /// The body field a variant's `max_tokens` is sent in.
    pub max_tokens_field: MaxTokensField,
}

impl Plan {
    /// Flags over the file over the defaults (1 repeat, 4 at once, `honor`).
    pub fn resolve(
        set: &VariantSet,
        repeat: Option<u32>,
        concurrency: Option<usize>,
        retry: Option<RetryPolicy>,
        deployment: String,
    ) -> Plan {
        Plan {
            repeat: repeat.or(set.repeat).unwrap_or(1).max(1),
            concurrency: concurrency
                .or(set.concurrency)
                .unwrap_or(DEFAULT_CONCURRENCY)
                .max(1),
            retry: retry
                .or_else(|| set.retry.clone())
                .unwrap_or(RetryPolicy::Honor {
                    max_attempts: 3,
                    max_wait_ms: 60_000,
                }),
            default_deployment: deployment,
            capture_events: false,
            max_tokens_field: MaxTokensField::default(),
        }
    }
}

/// One job: variant `variant` on case `case`, repeat `repeat` (0-based), as call `id`.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: u64,
    pub variant: usize,
    /// Index into the set's cases (0 for a set without cases).
    pub case: usize,
    pub repeat: u32,
    pub spec: CallSpec,
}

impl Job {
    /// Where this job's record goes among its variant's: case-major, then repeat.
    pub fn slot(&self, repeat: u32) -> usize {
        self.case * repeat as usize + self.repeat as usize
    }
}

/// The calls of a run, repeat-major (every variant's first repeat, then the second, …), so
/// variants share the slots and the time of day fairly; within a repeat, case by case.
pub fn jobs(set: &VariantSet, plan: &Plan) -> Vec<Job> {
    let mut out = Vec::new();
    for repeat in 0..plan.repeat {
        for case in 0..set.case_count() {
            let c = set.case(case);
            for (variant, v) in set.variants.iter().enumerate() {
                let v = v.for_case(&c);
                let mut spec =
                    CallSpec::new(v.deployment_or(&plan.default_deployment), v.request());
                spec.wire_api = v.wire_api;
                plan.max_tokens_field.normalise(&mut spec.request);
                spec.stream = v.stream;
                spec.retry = plan.retry.clone();
                spec.capture_events = plan.capture_events;
                out.push(Job {
                    id: out.len() as u64 + 1,
                    variant,
                    case,
                    repeat,
                    spec,
                });
            }
        }
    }
    out
}

/// A finished call of a run.
#[derive(Debug)]
pub struct Finished {
    pub job: Job,
    pub record: CallRecord,
    pub started: SystemTime,
}

/// Runs every job, at most `plan.concurrency` at once, and returns each variant's records,
/// case by case and within a case in repeat order (see [`Job::slot`]). `on_done` sees each call as it ends (progress, recording). A cancelled run
/// ends the calls in flight as `cancelled` and skips the rest.
pub async fn run_set(
    client: &ChatClient,
    set: &VariantSet,
    plan: &Plan,
    cancel: &CancellationToken,
    mut on_done: impl FnMut(&mut Finished),
) -> Vec<Vec<CallRecord>> {
    let all = jobs(set, plan);
    let mut slots: Vec<Vec<Option<CallRecord>>> =
        vec![vec![None; plan.repeat as usize * set.case_count()]; set.variants.len()];
    let mut stream = futures_util::stream::iter(all)
        .map(|job| async move {
            let started = SystemTime::now();
            let record = if cancel.is_cancelled() {
                CallRecord {
                    id: job.id,
                    deployment: job.spec.deployment.clone(),
                    outcome: Outcome::Cancelled,
                    ..Default::default()
                }
            } else {
                let rec = client.run(job.id, &job.spec, cancel, &mut |_| {}).await;
                crate::engine::telemetry::call_finished(client.config(), &job.spec, &rec, started);
                rec
            };
            Finished {
                job,
                record,
                started,
            }
        })
        .buffer_unordered(plan.concurrency);
    while let Some(mut f) = stream.next().await {
        on_done(&mut f);
        let slot = f.job.slot(plan.repeat);
        slots[f.job.variant][slot] = Some(f.record);
    }
    slots
        .into_iter()
        .map(|v| v.into_iter().flatten().collect())
        .collect()
}

/// Reads and checks a variant-set file and its data set (`dataset`, relative to the set
/// file: `.jsonl` or `.csv`); errors carry the path and name the key (and line).
pub fn load(path: &Path) -> anyhow::Result<VariantSet> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut set =
        VariantSet::from_toml_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(ds) = set.dataset.clone() {
        let file = relative(path, &ds);
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("{}: dataset: reading {}", path.display(), file.display()))?;
        let lower = ds.to_ascii_lowercase();
        let cases = if lower.ends_with(".jsonl") {
            cases::from_jsonl(&text, &ds)
        } else if lower.ends_with(".csv") {
            cases::from_csv(&text, &ds)
        } else {
            anyhow::bail!(
                "{}: dataset: `{ds}` is neither .jsonl nor .csv",
                path.display()
            );
        }
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        set.attach_cases(cases)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(set)
}

/// A path a set file names, relative to the set file's folder.
pub fn relative(set_file: &Path, name: &str) -> PathBuf {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    set_file.parent().unwrap_or(Path::new("")).join(p)
}

/// The simulator config a set names (`simulator`), read and checked.
pub fn sim_config(set_file: &Path, set: &VariantSet) -> anyhow::Result<Option<SimConfig>> {
    match &set.simulator {
        None => Ok(None),
        Some(name) => {
            let file = relative(set_file, name);
            SimConfig::load(&file)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{}: simulator: {e}", set_file.display()))
        }
    }
}
