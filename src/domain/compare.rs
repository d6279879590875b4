//! Prompt variants compared side by side: the variant-set model (a TOML file, see
//! `docs/compare.md`), the per-variant statistics over K repeats, the deltas against the
//! baseline and the word-level diff of each answer against the baseline's. Pure: the calls
//! themselves are run by `headless::compare` (or the console) and handed in as
//! [`CallRecord`]s.
//!
//! Percentiles are nearest-rank over the recorded values (the p-th of n sorted values is the
//! ⌈p·n/100⌉-th), the same as `aoai replay --report`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::call::{CallRecord, Outcome, WireApi};
use super::eval::{AssertFile, Assertion, Case, EvalError, JudgeFile};
use super::params::ParamError;
use super::retry::RetryPolicy;
use crate::domain::rank::Percentiles;
use crate::wire::{ChatMessage, ChatRequest};

mod report;
pub use report::{AnswerDiff, CaseDiff, CompareReport, VariantRow, first_answer, summarize};

/// Most variants a set may hold (the console pages through them four at a time).
pub const MAX_VARIANTS: usize = 16;

/// A variant-set file or value that cannot be used; each message names its key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareError {
    /// TOML syntax, an unknown key or a value of the wrong type (the message names the key).
    #[error("{0}")]
    Toml(String),
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> CompareError {
    CompareError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// One message of a variant's `messages` list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageFile {
    role: String,
    content: String,
}

/// The settable fields, shared by `[defaults]` and each `[[variant]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldsFile {
    deployment: Option<String>,
    system: Option<String>,
    user: Option<String>,
    messages: Option<Vec<MessageFile>>,
    max_tokens: Option<u32>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    seed: Option<i64>,
    stream: Option<bool>,
    wire_api: Option<String>,
    reasoning_effort: Option<String>,
    /// Assertions (promptfoo's shape); a variant's come after `[defaults]`'.
    #[serde(rename = "assert")]
    asserts: Option<Vec<AssertFile>>,
    judge: Option<JudgeFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantFile {
    name: String,
    #[serde(flatten)]
    fields: FieldsFile,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFile {
    name: Option<String>,
    baseline: Option<String>,
    repeat: Option<u32>,
    concurrency: Option<usize>,
    retry: Option<String>,
    /// A JSONL or CSV file of cases, relative to the set file.
    dataset: Option<String>,
    /// A simulator config (answer rules, fleet) for the embedded simulator, relative to the
    /// set file; used only when no endpoint is given.
    simulator: Option<String>,
    #[serde(default)]
    defaults: FieldsFile,
    #[serde(default)]
    variant: Vec<VariantFile>,
    #[serde(default)]
    case: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// One variant: what it sends. Unset fields fall back to the set's `[defaults]` when loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    pub name: String,
    /// `None`: the connection's deployment (`-d`, the profile's, or gpt-4o on the simulator).
    pub deployment: Option<String>,
    pub system: Option<String>,
    /// Messages between the system prompt and the user prompt (a conversation so far).
    pub messages: Vec<ChatMessage>,
    pub user: Option<String>,
    /// Output budget, sent as `max_completion_tokens`.
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub seed: Option<i64>,
    pub stream: bool,
    /// `chat` or `responses`; `None`: the connection's (`--wire-api`, the profile's).
    pub wire_api: Option<WireApi>,
    /// Sent as `reasoning_effort` (chat) / `reasoning.effort` (Responses).
    pub reasoning_effort: Option<String>,
    /// `[defaults]`' assertions, then the variant's, then its judge (a case adds its own).
    #[serde(skip)]
    pub asserts: Vec<Assertion>,
}

impl Variant {
    /// A variant with only a name and a user prompt.
    pub fn new(name: impl Into<String>, user: impl Into<String>) -> Self {
        Variant {
            name: name.into(),
            deployment: None,
            system: None,
            messages: vec![],
            user: Some(user.into()),
            max_tokens: None,
            temperature: None,
            top_p: None,
            seed: None,
            stream: true,
            wire_api: None,
            reasoning_effort: None,
            asserts: Vec::new(),
        }
    }

    /// The request messages: system prompt, then `messages`, then the user prompt.
    pub fn chat_messages(&self) -> Vec<ChatMessage> {
        let mut out = Vec::new();
        if let Some(s) = self.system.as_deref().filter(|s| !s.trim().is_empty()) {
            out.push(ChatMessage::new("system", s));
        }
        out.extend(self.messages.iter().cloned());
        if let Some(u) = self.user.as_deref().filter(|u| !u.trim().is_empty()) {
            out.push(ChatMessage::new("user", u));
        }
        out
    }

    /// The chat-completions body this variant sends.
    pub fn request(&self) -> ChatRequest {
        let mut req = ChatRequest {
            messages: self.chat_messages(),
            max_completion_tokens: self.max_tokens,
            temperature: self.temperature,
            top_p: self.top_p,
            seed: self.seed,
            ..Default::default()
        };
        if let Some(e) = &self.reasoning_effort {
            req.extra
                .insert("reasoning_effort".into(), serde_json::json!(e));
        }
        req
    }

    /// The deployment this variant calls, given the connection's default.
    pub fn deployment_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.deployment.as_deref().unwrap_or(default)
    }

    /// A copy named `name` (the console's "duplicate into a new column").
    pub fn duplicate(&self, name: impl Into<String>) -> Self {
        Variant {
            name: name.into(),
            ..self.clone()
        }
    }

    fn check(&self, key: &str) -> Result<(), CompareError> {
        if self.chat_messages().is_empty() {
            return Err(invalid(
                format!("{key}.user"),
                "no `user` prompt and no `messages`: the variant sends nothing",
            ));
        }
        if let Err(e) = super::params::check_request(&self.request()) {
            // The file's key: `max_tokens` (sent as `max_completion_tokens`), `temperature`, …
            let field = match e.key() {
                "max_completion_tokens" => "max_tokens",
                k => k,
            };
            let message = match &e {
                ParamError::OutOfRange { value, range, .. } => {
                    format!("{value} is out of range (allowed: {range})")
                }
                ParamError::NotANumber { found, .. } => format!("must be a number, not {found}"),
            };
            return Err(invalid(format!("{key} (`{}`).{field}", self.name), message));
        }
        if self
            .deployment
            .as_deref()
            .is_some_and(|d| d.trim().is_empty())
        {
            return Err(invalid(format!("{key}.deployment"), "is empty"));
        }
        Ok(())
    }
}

/// A set of variants with a baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantSet {
    pub name: Option<String>,
    pub variants: Vec<Variant>,
    /// Index into `variants`.
    pub baseline: usize,
    /// Repeats per variant asked for by the file (`--repeat` overrides).
    pub repeat: Option<u32>,
    /// Calls at once asked for by the file (`--concurrency` overrides).
    pub concurrency: Option<usize>,
    /// Retry policy asked for by the file (`--retry` overrides).
    #[serde(serialize_with = "ser_retry")]
    pub retry: Option<RetryPolicy>,
    /// The cases (inline or from `dataset`); empty: the variants run as written.
    pub cases: Vec<Case>,
    /// `dataset` as written (read by `engine::compare::load`).
    pub dataset: Option<String>,
    /// `simulator` as written.
    pub simulator: Option<String>,
}

fn ser_retry<S: serde::Serializer>(r: &Option<RetryPolicy>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_some(&r.to_string()),
        None => s.serialize_none(),
    }
}

fn merge(v: FieldsFile, d: &FieldsFile) -> FieldsFile {
    FieldsFile {
        deployment: v.deployment.or_else(|| d.deployment.clone()),
        system: v.system.or_else(|| d.system.clone()),
        user: v.user.or_else(|| d.user.clone()),
        messages: v.messages.or_else(|| d.messages.clone()),
        max_tokens: v.max_tokens.or(d.max_tokens),
        temperature: v.temperature.or(d.temperature),
        top_p: v.top_p.or(d.top_p),
        seed: v.seed.or(d.seed),
        stream: v.stream.or(d.stream),
        wire_api: v.wire_api.or_else(|| d.wire_api.clone()),
        reasoning_effort: v.reasoning_effort.or_else(|| d.reasoning_effort.clone()),
        // Resolved apart (their keys differ): see `from_toml_str`.
        asserts: v.asserts,
        judge: v.judge.or_else(|| d.judge.clone()),
    }
}

const ROLES: [&str; 5] = ["system", "developer", "user", "assistant", "tool"];

impl VariantSet {
    /// A set of one variant (the console's "compare from the chat's prompt").
    pub fn single(v: Variant) -> Self {
        VariantSet {
            name: None,
            variants: vec![v],
            baseline: 0,
            repeat: None,
            concurrency: None,
            retry: None,
            cases: Vec::new(),
            dataset: None,
            simulator: None,
        }
    }

    /// Parses and checks a variant-set file.
    pub fn from_toml_str(text: &str) -> Result<Self, CompareError> {
        let file: SetFile = toml::from_str(text)
            .map_err(|e| CompareError::Toml(e.to_string().trim_end().to_string()))?;
        if file.variant.is_empty() {
            return Err(invalid("variant", "the set has no [[variant]] tables"));
        }
        if file.variant.len() > MAX_VARIANTS {
            return Err(invalid(
                "variant",
                format!("{} variants; at most {MAX_VARIANTS}", file.variant.len()),
            ));
        }
        let defaults_asserts = resolve_asserts(file.defaults.asserts.clone(), "defaults")?;
        let defaults_judge_key = if file.defaults.judge.is_some() {
            "defaults.judge"
        } else {
            ""
        };
        let mut variants: Vec<Variant> = Vec::new();
        for (i, vf) in file.variant.into_iter().enumerate() {
            let key = format!("variant[{}]", i + 1);
            let judge_key = if vf.fields.judge.is_some() {
                format!("{key}.judge")
            } else {
                defaults_judge_key.to_string()
            };
            let name = vf.name.trim().to_string();
            if name.is_empty() {
                return Err(invalid(format!("{key}.name"), "is empty"));
            }
            if variants.iter().any(|v| v.name == name) {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("`{name}` is used by an earlier variant"),
                ));
            }
            let f = merge(vf.fields, &file.defaults);
            let mut messages = Vec::new();
            for (j, m) in f.messages.unwrap_or_default().into_iter().enumerate() {
                if !ROLES.contains(&m.role.as_str()) {
                    return Err(invalid(
                        format!("{key}.messages[{}].role", j + 1),
                        format!("`{}` is not one of: {}", m.role, ROLES.join(", ")),
                    ));
                }
                messages.push(ChatMessage::new(&m.role, &m.content));
            }
            let wire_api = match &f.wire_api {
                None => None,
                Some(w) => Some(
                    w.parse::<WireApi>()
                        .map_err(|m| invalid(format!("{key}.wire_api"), m))?,
                ),
            };
            const EFFORTS: [&str; 4] = ["minimal", "low", "medium", "high"];
            if let Some(e) = f.reasoning_effort.as_deref()
                && !EFFORTS.contains(&e)
            {
                return Err(invalid(
                    format!("{key}.reasoning_effort"),
                    format!("`{e}` is not one of: {}", EFFORTS.join(", ")),
                ));
            }
            let mut asserts = defaults_asserts.clone();
            asserts.extend(resolve_asserts(f.asserts.clone(), &key)?);
            if let Some(j) = f.judge.clone() {
                asserts.push(Assertion::Judge(j.resolve(&judge_key).map_err(eval_err)?));
            }
            let v = Variant {
                asserts,
                name,
                deployment: f.deployment,
                system: f.system,
                messages,
                user: f.user,
                max_tokens: f.max_tokens,
                temperature: f.temperature,
                top_p: f.top_p,
                seed: f.seed,
                stream: f.stream.unwrap_or(true),
                wire_api,
                reasoning_effort: f.reasoning_effort,
            };
            v.check(&key)?;
            variants.push(v);
        }
        let baseline = match &file.baseline {
            None => 0,
            Some(b) => variants.iter().position(|v| &v.name == b).ok_or_else(|| {
                let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
                invalid(
                    "baseline",
                    format!("no variant named `{b}` (variants: {})", names.join(", ")),
                )
            })?,
        };
        if file.repeat == Some(0) {
            return Err(invalid("repeat", "must be at least 1"));
        }
        if file.concurrency == Some(0) {
            return Err(invalid("concurrency", "must be at least 1"));
        }
        let retry = match file.retry {
            None => None,
            Some(r) => Some(
                r.parse::<RetryPolicy>()
                    .map_err(|e| invalid("retry", e.to_string()))?,
            ),
        };
        if file.dataset.is_some() && !file.case.is_empty() {
            return Err(invalid(
                "dataset",
                "give the cases in a file or as [[case]] tables, not both",
            ));
        }
        let cases = super::eval::cases::from_tables(file.case).map_err(eval_err)?;
        let set = VariantSet {
            name: file.name,
            variants,
            baseline,
            repeat: file.repeat,
            concurrency: file.concurrency,
            retry,
            cases,
            dataset: file.dataset,
            simulator: file.simulator,
        };
        // With a dataset, placeholders are checked once its cases are attached.
        if set.dataset.is_none() {
            set.check_cases()?;
        }
        Ok(set)
    }

    pub fn baseline(&self) -> &Variant {
        &self.variants[self.baseline]
    }
}

fn eval_err(e: EvalError) -> CompareError {
    invalid(e.key, e.message)
}

fn resolve_asserts(
    list: Option<Vec<AssertFile>>,
    key: &str,
) -> Result<Vec<Assertion>, CompareError> {
    list.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, a)| a.resolve(&format!("{key}.assert[{}]", i + 1)))
        .collect::<Result<_, _>>()
        .map_err(eval_err)
}

/// Nearest-rank percentiles plus the mean over the values present.
fn mean(v: &[f64]) -> Option<f64> {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The figures of one variant over its repeats.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VariantStats {
    pub calls: usize,
    pub done: usize,
    pub failed: usize,
    pub throttled: usize,
    pub cancelled: usize,
    /// Means over the calls that reported usage.
    pub prompt_tokens: Option<f64>,
    pub completion_tokens: Option<f64>,
    pub cached_tokens: Option<f64>,
    pub reasoning_tokens: Option<f64>,
    pub ttft_ms: Percentiles,
    pub e2e_ms: Percentiles,
    /// Mean tokens/s over the calls that measured it.
    pub tokens_per_s: Option<f64>,
    /// Mean cost of a priced call, and that × 1,000.
    pub cost_per_call_usd: Option<f64>,
    pub cost_per_1k_calls_usd: Option<f64>,
    /// Calls with usage but no price for their model (not in the cost).
    pub unpriced_calls: usize,
    /// `finish_reason` counts (`stop`, `length`, `content_filter`, …).
    pub finish_reasons: BTreeMap<String, u64>,
    /// Attempts answered with HTTP 429 (retried or not).
    pub http_429: u64,
    /// Attempts beyond the first.
    pub retries: u64,
}

impl VariantStats {
    pub fn of(records: &[CallRecord]) -> Self {
        let mut s = VariantStats {
            calls: records.len(),
            ..Default::default()
        };
        let (mut prompt, mut completion, mut cached, mut reasoning) =
            (vec![], vec![], vec![], vec![]);
        let (mut ttft, mut e2e, mut tps, mut cost) = (vec![], vec![], vec![], vec![]);
        for r in records {
            match r.outcome {
                Outcome::Done => s.done += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Throttled => s.throttled += 1,
                Outcome::Cancelled => s.cancelled += 1,
            }
            if let Some(u) = r.usage {
                prompt.push(u.prompt_tokens as f64);
                completion.push(u.completion_tokens as f64);
                cached.push(u.cached_tokens as f64);
                reasoning.push(u.reasoning_tokens as f64);
                match r.cost_usd {
                    Some(c) => cost.push(c),
                    None => s.unpriced_calls += 1,
                }
            }
            ttft.extend(r.timing.ttft_ms);
            e2e.extend(r.timing.e2e_ms);
            tps.extend(r.timing.tokens_per_s);
            if let Some(f) = &r.finish_reason {
                *s.finish_reasons.entry(f.clone()).or_default() += 1;
            }
            s.http_429 += r.attempts.iter().filter(|a| a.status == Some(429)).count() as u64;
            s.retries += r.attempts.len().saturating_sub(1) as u64;
        }
        s.prompt_tokens = mean(&prompt);
        s.completion_tokens = mean(&completion);
        s.cached_tokens = mean(&cached);
        s.reasoning_tokens = mean(&reasoning);
        s.ttft_ms = Percentiles::of(ttft);
        s.e2e_ms = Percentiles::of(e2e);
        s.tokens_per_s = mean(&tps);
        s.cost_per_call_usd = mean(&cost);
        s.cost_per_1k_calls_usd = s.cost_per_call_usd.map(|c| c * 1000.0);
        s
    }
}

/// A difference against the baseline: absolute, and relative to the baseline (`None` when
/// the baseline value is 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delta {
    pub abs: f64,
    pub pct: Option<f64>,
}

impl Delta {
    pub fn between(value: Option<f64>, baseline: Option<f64>) -> Option<Delta> {
        let (v, b) = (value?, baseline?);
        Some(Delta {
            abs: v - b,
            pct: (b != 0.0).then(|| (v - b) / b * 100.0),
        })
    }
}

/// Every compared figure's delta against the baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Deltas {
    pub prompt_tokens: Option<Delta>,
    pub completion_tokens: Option<Delta>,
    pub cached_tokens: Option<Delta>,
    pub ttft_p50_ms: Option<Delta>,
    pub ttft_p95_ms: Option<Delta>,
    pub e2e_p50_ms: Option<Delta>,
    pub e2e_p95_ms: Option<Delta>,
    pub tokens_per_s: Option<Delta>,
    pub cost_per_call_usd: Option<Delta>,
}

impl Deltas {
    pub fn of(v: &VariantStats, b: &VariantStats) -> Self {
        Deltas {
            prompt_tokens: Delta::between(v.prompt_tokens, b.prompt_tokens),
            completion_tokens: Delta::between(v.completion_tokens, b.completion_tokens),
            cached_tokens: Delta::between(v.cached_tokens, b.cached_tokens),
            ttft_p50_ms: Delta::between(v.ttft_ms.p50, b.ttft_ms.p50),
            ttft_p95_ms: Delta::between(v.ttft_ms.p95, b.ttft_ms.p95),
            e2e_p50_ms: Delta::between(v.e2e_ms.p50, b.e2e_ms.p50),
            e2e_p95_ms: Delta::between(v.e2e_ms.p95, b.e2e_ms.p95),
            tokens_per_s: Delta::between(v.tokens_per_s, b.tokens_per_s),
            cost_per_call_usd: Delta::between(v.cost_per_call_usd, b.cost_per_call_usd),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::{Attempt, Timings};
    use crate::domain::usage::Usage;

    const SET: &str = r#"
name = "tone"
baseline = "terse"
[defaults]
user = "What is a PTU?"
max_tokens = 200
seed = 1
[[variant]]
name = "plain"
[[variant]]
name = "terse"
system = "Answer in one sentence."
temperature = 0.2
"#;

    #[test]
    fn parses_defaults_and_baseline() {
        let s = VariantSet::from_toml_str(SET).unwrap();
        assert_eq!(s.baseline, 1);
        assert_eq!(s.variants[0].user.as_deref(), Some("What is a PTU?"));
        assert_eq!(s.variants[1].max_tokens, Some(200));
        assert_eq!(s.variants[1].chat_messages().len(), 2);
        assert_eq!(s.variants[1].request().max_completion_tokens, Some(200));
    }

    #[test]
    fn errors_name_the_key() {
        let e =
            VariantSet::from_toml_str("[[variant]]\nname = \"a\"\nuser = \"x\"\ntemprature = 1\n")
                .unwrap_err();
        assert!(e.to_string().contains("temprature"), "{e}");
        let e = VariantSet::from_toml_str(
            "baseline = \"zz\"\n[[variant]]\nname = \"a\"\nuser = \"x\"\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("baseline: no variant named `zz`"),
            "{e}"
        );
        let e = VariantSet::from_toml_str(
            "[[variant]]\nname = \"a\"\nuser = \"x\"\ntemperature = 3.0\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "variant[1] (`a`).temperature: 3 is out of range (allowed: 0..=2)"
        );
    }

    fn rec(ttft: f64, prompt: u64, status429: bool) -> CallRecord {
        let mut attempts = vec![Attempt {
            status: Some(200),
            ..Default::default()
        }];
        if status429 {
            attempts.insert(
                0,
                Attempt {
                    status: Some(429),
                    ..Default::default()
                },
            );
        }
        CallRecord {
            timing: Timings {
                ttft_ms: Some(ttft),
                e2e_ms: Some(ttft * 2.0),
                ..Default::default()
            },
            usage: Some(Usage {
                prompt_tokens: prompt,
                completion_tokens: 10,
                ..Default::default()
            }),
            finish_reason: Some("stop".into()),
            cost_usd: Some(0.001),
            attempts,
            text: "a b c".into(),
            ..Default::default()
        }
    }

    #[test]
    fn stats_and_deltas() {
        let a: Vec<CallRecord> = [40.0, 10.0, 30.0, 20.0]
            .iter()
            .map(|&t| rec(t, 10, false))
            .collect();
        let s = VariantStats::of(&a);
        // nearest rank: p50 of 4 = 2nd = 20; p95 = 4th = 40.
        assert_eq!((s.ttft_ms.p50, s.ttft_ms.p95), (Some(20.0), Some(40.0)));
        assert_eq!(s.cost_per_1k_calls_usd, Some(1.0));
        let b = VariantStats::of(&[rec(10.0, 15, true)]);
        assert_eq!(b.http_429, 1);
        assert_eq!(b.retries, 1);
        let d = Deltas::of(&b, &s);
        assert_eq!(
            d.prompt_tokens,
            Some(Delta {
                abs: 5.0,
                pct: Some(50.0)
            })
        );
    }
}
