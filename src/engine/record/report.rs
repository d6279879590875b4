//! `aoai replay FILE --report`: per call and in total — tokens, cost, TTFT/e2e percentiles,
//! 429s and retries, the prompt shape (tokens and dollars per message role) and output
//! over-reservation (max_tokens asked for vs completion tokens used: the admission estimate
//! counts the former against TPM and PTU).
//!
//! Percentiles are nearest-rank over the recorded values: the p-th percentile of n sorted
//! values is the ⌈p·n/100⌉-th.

use serde::{Deserialize, Serialize};

use crate::domain::call::{Outcome, Timings, WireApi};
use crate::domain::cost::PriceTable;
use crate::domain::num::opt_ms;
use crate::domain::num::plural;
use crate::domain::scenario::PromptShape;
use crate::domain::usage::Usage;

pub use crate::domain::rank::{Percentiles, nearest_rank};

/// What a report needs of one call line (events and texts are skipped while parsing).
#[derive(Debug, Clone, Deserialize)]
pub struct CallSummary {
    pub request: RequestSummary,
    pub prompt_shape: PromptShape,
    pub record: RecordSummary,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestSummary {
    pub deployment: String,
    /// Version 1 files: chat.
    #[serde(default)]
    pub wire_api: WireApi,
    pub body: BodySummary,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BodySummary {
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RecordSummary {
    /// The deployment that answered (differs from the request's after a failover).
    #[serde(default)]
    pub deployment: String,
    #[serde(default)]
    pub outcome: Outcome,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub timing: Timings,
    #[serde(default)]
    pub cost_usd: Option<f64>,
    #[serde(default)]
    pub attempts: Vec<AttemptSummary>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AttemptSummary {
    #[serde(default)]
    pub status: Option<u16>,
}

impl From<&crate::domain::scenario::ScenarioCall> for CallSummary {
    fn from(c: &crate::domain::scenario::ScenarioCall) -> Self {
        let r = &c.record;
        CallSummary {
            request: RequestSummary {
                deployment: c.request.deployment.clone(),
                wire_api: c.request.wire_api,
                body: BodySummary {
                    max_tokens: c.request.body.max_tokens,
                    max_completion_tokens: c.request.body.max_completion_tokens,
                },
            },
            prompt_shape: c.prompt_shape,
            record: RecordSummary {
                deployment: r.deployment.clone(),
                outcome: r.outcome,
                status: r.status,
                model: r.model.clone(),
                usage: r.usage,
                timing: r.timing,
                cost_usd: r.cost_usd,
                attempts: r
                    .attempts
                    .iter()
                    .map(|a| AttemptSummary { status: a.status })
                    .collect(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRow {
    /// 1-based position in the file.
    pub call: usize,
    pub deployment: String,
    pub wire_api: WireApi,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub usage: Usage,
    pub cost_usd: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub e2e_ms: Option<f64>,
    pub http_429: u64,
    pub retries: u64,
    pub prompt_shape: PromptShape,
    /// max_completion_tokens (or max_tokens) asked for.
    pub max_tokens: Option<u32>,
}

/// Tokens and (input) dollars per message role, over all calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ShapeTotals {
    pub tokens: PromptShape,
    /// Input dollars attributed to each role in proportion to its share of the prompt.
    pub system_usd: f64,
    pub user_usd: f64,
    pub assistant_usd: f64,
    pub tool_usd: f64,
    pub framing_usd: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub calls: usize,
    pub done: usize,
    pub failed: usize,
    pub throttled: usize,
    pub cancelled: usize,
    /// Calls made on the Responses API (the rest are Chat Completions).
    pub responses_calls: usize,
    pub usage: Usage,
    pub cost_usd: f64,
    /// Calls whose model has no price (their cost is not in `cost_usd`).
    pub unpriced_calls: usize,
    pub ttft_ms: Percentiles,
    pub e2e_ms: Percentiles,
    pub http_429: u64,
    pub retries: u64,
    pub prompt_shape: ShapeTotals,
    /// Over the calls that set an output budget: Σ budget, Σ completion tokens, and the
    /// reserved-but-unused share of the budget.
    pub max_tokens_requested: u64,
    pub completion_tokens_of_budgeted_calls: u64,
    pub over_reservation: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub calls: Vec<CallRow>,
    pub total: Totals,
}

/// Builds the report incrementally, one call at a time (so a file streams through it).
pub struct ReportBuilder<'p> {
    prices: &'p PriceTable,
    report: Report,
    ttft: Vec<f64>,
    e2e: Vec<f64>,
}

impl<'p> ReportBuilder<'p> {
    pub fn new(prices: &'p PriceTable) -> Self {
        ReportBuilder {
            prices,
            report: Report::default(),
            ttft: Vec::new(),
            e2e: Vec::new(),
        }
    }

    pub fn add(&mut self, c: CallSummary) {
        let r = &c.record;
        let t = &mut self.report.total;
        t.calls += 1;
        match r.outcome {
            Outcome::Done => t.done += 1,
            Outcome::Failed => t.failed += 1,
            Outcome::Throttled => t.throttled += 1,
            Outcome::Cancelled => t.cancelled += 1,
        }
        let usage = r.usage.unwrap_or_default();
        t.usage.prompt_tokens += usage.prompt_tokens;
        t.usage.completion_tokens += usage.completion_tokens;
        t.usage.cached_tokens += usage.cached_tokens;
        t.usage.reasoning_tokens += usage.reasoning_tokens;
        t.usage.total_tokens += usage.total_tokens;
        match r.cost_usd {
            Some(c) => t.cost_usd += c,
            None if r.usage.is_some() => t.unpriced_calls += 1,
            None => {}
        }
        let http_429 = r.attempts.iter().filter(|a| a.status == Some(429)).count() as u64;
        let retries = r.attempts.len().saturating_sub(1) as u64;
        t.http_429 += http_429;
        t.retries += retries;
        if let Some(v) = r.timing.ttft_ms {
            self.ttft.push(v);
        }
        if let Some(v) = r.timing.e2e_ms {
            self.e2e.push(v);
        }
        // Prompt shape: tokens, and input dollars split in proportion to tokens.
        let shape = c.prompt_shape;
        let s = &mut t.prompt_shape;
        s.tokens.add(&shape);
        if let (Some(cost), Some(model)) = (
            r.cost_usd,
            r.model.as_deref().or(Some(c.request.deployment.as_str())),
        ) {
            let output_usd = self.prices.lookup(model).map_or(0.0, |(_, p)| {
                usage.completion_tokens as f64 * p.output as f64 / 1e12
            });
            let input_usd = (cost - output_usd).max(0.0);
            let total = shape.total().max(1) as f64;
            s.system_usd += input_usd * shape.system as f64 / total;
            s.user_usd += input_usd * shape.user as f64 / total;
            s.assistant_usd += input_usd * shape.assistant as f64 / total;
            s.tool_usd += input_usd * shape.tool as f64 / total;
            s.framing_usd += input_usd * shape.framing as f64 / total;
        }
        let budget = c
            .request
            .body
            .max_completion_tokens
            .or(c.request.body.max_tokens);
        if let (Some(b), Some(u)) = (budget, r.usage) {
            t.max_tokens_requested += b as u64;
            t.completion_tokens_of_budgeted_calls += u.completion_tokens;
        }
        if c.request.wire_api == WireApi::Responses {
            t.responses_calls += 1;
        }
        let row = CallRow {
            call: t.calls,
            wire_api: c.request.wire_api,
            deployment: if r.deployment.is_empty() || r.deployment == c.request.deployment {
                c.request.deployment
            } else {
                format!("{}→{}", c.request.deployment, r.deployment)
            },
            outcome: r.outcome,
            status: r.status,
            usage,
            cost_usd: r.cost_usd,
            ttft_ms: r.timing.ttft_ms,
            e2e_ms: r.timing.e2e_ms,
            http_429,
            retries,
            prompt_shape: shape,
            max_tokens: budget,
        };
        self.report.calls.push(row);
    }

    pub fn finish(mut self) -> Report {
        let t = &mut self.report.total;
        t.ttft_ms = Percentiles::of(self.ttft);
        t.e2e_ms = Percentiles::of(self.e2e);
        t.over_reservation = (t.max_tokens_requested > 0).then(|| {
            1.0 - (t.completion_tokens_of_budgeted_calls as f64 / t.max_tokens_requested as f64)
                .min(1.0)
        });
        self.report
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0%".into()
    } else {
        format!("{:.0}%", part as f64 * 100.0 / whole as f64)
    }
}

/// ` (N calls on unpriced models not included)` after a cost total, or nothing.
pub fn unpriced_note(t: &Totals) -> String {
    if t.unpriced_calls > 0 {
        format!(
            " ({} on unpriced models not included)",
            plural(t.unpriced_calls as u64, "call", "calls")
        )
    } else {
        String::new()
    }
}

/// The report as text for a terminal.
pub fn render_text(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:>5}  {:<16} {:<9} {:>6} {:>8} {:>8} {:>7} {:>7} {:>10} {:>9} {:>9} {:>4} {:>7}\n",
        "call",
        "deployment",
        "outcome",
        "status",
        "prompt",
        "complet.",
        "cached",
        "reason.",
        "cost",
        "TTFT",
        "e2e",
        "429",
        "max_tok"
    ));
    for c in &r.calls {
        out.push_str(&format!(
            "{:>5}  {:<16} {:<9} {:>6} {:>8} {:>8} {:>7} {:>7} {:>10} {:>9} {:>9} {:>4} {:>7}\n",
            c.call,
            clip(&c.deployment, 16),
            format!("{:?}", c.outcome).to_lowercase(),
            c.status.map_or("—".into(), |s| s.to_string()),
            c.usage.prompt_tokens,
            c.usage.completion_tokens,
            c.usage.cached_tokens,
            c.usage.reasoning_tokens,
            c.cost_usd.map_or("—".into(), |v| format!("${v:.6}")),
            opt_ms(c.ttft_ms),
            opt_ms(c.e2e_ms),
            c.http_429,
            c.max_tokens.map_or("—".into(), |v| v.to_string()),
        ));
    }
    let t = &r.total;
    out.push_str(&format!(
        "\nTotal: {} ({} done, {} failed, {} throttled, {} cancelled{}) · {} · {}\n",
        plural(t.calls as u64, "call", "calls"),
        t.done,
        t.failed,
        t.throttled,
        t.cancelled,
        if t.responses_calls > 0 {
            format!("; {} on the Responses API", t.responses_calls)
        } else {
            String::new()
        },
        plural(t.http_429, "HTTP 429", "HTTP 429s"),
        plural(t.retries, "retry", "retries")
    ));
    out.push_str(&format!(
        "Tokens: prompt {} (cached {}) · completion {} (reasoning {}) · total {}\n",
        t.usage.prompt_tokens,
        t.usage.cached_tokens,
        t.usage.completion_tokens,
        t.usage.reasoning_tokens,
        t.usage.total_tokens
    ));
    out.push_str(&format!("Cost: ${:.6}{}\n", t.cost_usd, unpriced_note(t)));
    let p = |x: &Percentiles| {
        format!(
            "p50 {} · p95 {} · max {} (n={})",
            opt_ms(x.p50),
            opt_ms(x.p95),
            opt_ms(x.max),
            x.n
        )
    };
    out.push_str(&format!(
        "TTFT: {}\ne2e:  {}\n",
        p(&t.ttft_ms),
        p(&t.e2e_ms)
    ));
    let s = &t.prompt_shape;
    let whole = s.tokens.total();
    out.push_str("Prompt shape (where the prompt tokens and input dollars go):\n");
    // On the Responses API the system prompt is `instructions` and the turns are `input`.
    let responses = t.responses_calls > 0;
    for (name, tokens, usd) in [
        (
            if responses { "instructions" } else { "system" },
            s.tokens.system,
            s.system_usd,
        ),
        (
            if responses { "user (input)" } else { "user" },
            s.tokens.user,
            s.user_usd,
        ),
        ("assistant history", s.tokens.assistant, s.assistant_usd),
        ("tools", s.tokens.tool, s.tool_usd),
        ("message framing", s.tokens.framing, s.framing_usd),
    ] {
        out.push_str(&format!(
            "  {name:<18} {tokens:>10} tokens {:>5}  ${usd:.6}\n",
            pct(tokens, whole)
        ));
    }
    match t.over_reservation {
        Some(o) => out.push_str(&format!(
            "Output budget: asked for {} tokens, used {} ({:.0}% reserved but unused — counted against TPM/PTU at admission)\n",
            t.max_tokens_requested,
            t.completion_tokens_of_budgeted_calls,
            o * 100.0
        )),
        None => out.push_str("Output budget: no call set max_tokens (the service's default estimate applies)\n"),
    }
    out
}
