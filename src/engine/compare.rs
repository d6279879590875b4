//! The compare runner behind `aoai compare` and the console's Compare screen: every variant
//! of a set K times (bounded concurrency; 429s are honoured by the retry policy inside each
//! call, so a waiting call keeps its slot), records per variant in repeat order.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::azure::{CallSpec, ChatClient};
use crate::domain::call::{CallRecord, Outcome};
use crate::domain::compare::VariantSet;
use crate::domain::params::MaxTokensField;
use crate::domain::retry::RetryPolicy;

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

/// One job: variant `variant`, repeat `repeat` (0-based), as call `id`.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: u64,
    pub variant: usize,
    pub repeat: u32,
    pub spec: CallSpec,
}

/// The calls of a run, repeat-major (every variant's first repeat, then the second, …), so
/// variants share the slots and the time of day fairly.
pub fn jobs(set: &VariantSet, plan: &Plan) -> Vec<Job> {
    let mut out = Vec::new();
    for repeat in 0..plan.repeat {
        for (variant, v) in set.variants.iter().enumerate() {
            let mut spec = CallSpec::new(v.deployment_or(&plan.default_deployment), v.request());
            spec.wire_api = v.wire_api;
            plan.max_tokens_field.normalise(&mut spec.request);
            spec.stream = v.stream;
            spec.retry = plan.retry.clone();
            spec.capture_events = plan.capture_events;
            out.push(Job {
                id: out.len() as u64 + 1,
                variant,
                repeat,
                spec,
            });
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

/// Runs every job, at most `plan.concurrency` at once, and returns each variant's records in
/// repeat order. `on_done` sees each call as it ends (progress, recording). A cancelled run
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
        vec![vec![None; plan.repeat as usize]; set.variants.len()];
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
        slots[f.job.variant][f.job.repeat as usize] = Some(f.record);
    }
    slots
        .into_iter()
        .map(|v| v.into_iter().flatten().collect())
        .collect()
}

/// Reads and checks a variant-set file; errors carry the path and name the key.
pub fn load(path: &Path) -> anyhow::Result<VariantSet> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    VariantSet::from_toml_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
