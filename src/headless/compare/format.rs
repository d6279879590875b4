//! The four output formats of `aoai compare`: an aligned text table (figures, deltas against
//! the baseline, the word diffs), one JSON object with a row per variant, CSV (one row per
//! variant, flat columns) and a Markdown table.

use serde::Serialize;

use super::Plan;
use crate::domain::compare::{AnswerDiff, CompareReport, Delta, VariantRow};
use crate::domain::num::fmt_ms;
use crate::domain::num::{fixed, plural};
use crate::headless::table::align;

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "—".to_string(), f)
}

fn tokens(v: Option<f64>) -> String {
    opt(v, |x| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        }
    })
}

fn usd(v: Option<f64>) -> String {
    opt(v, |x| format!("${x:.6}"))
}

fn usd_1k(v: Option<f64>) -> String {
    opt(v, |x| format!("${x:.4}"))
}

fn tps(v: Option<f64>) -> String {
    opt(v, |x| format!("{x:.1}"))
}

fn finish(r: &VariantRow) -> String {
    if r.stats.finish_reasons.is_empty() {
        return "—".into();
    }
    r.stats
        .finish_reasons
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn signed(x: f64, unit: &str, digits: usize) -> String {
    let sign = if x > 0.0 {
        "+"
    } else if x < 0.0 {
        "−"
    } else {
        "±"
    };
    format!("{sign}{:.*}{unit}", digits, x.abs())
}

/// `+12 (+8.0%)`, or `—` when either side is missing.
fn delta(d: Option<Delta>, unit: &str, digits: usize) -> String {
    match d {
        None => "—".into(),
        Some(d) => match d.pct {
            Some(p) => format!("{} ({})", signed(d.abs, unit, digits), signed(p, "%", 1)),
            None => signed(d.abs, unit, digits),
        },
    }
}

fn label(r: &VariantRow) -> String {
    if r.baseline {
        format!("{} *", r.name)
    } else {
        r.name.clone()
    }
}

/// The human-readable report.
pub fn table(rep: &CompareReport, plan: &Plan, sim: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "compare{} · {} · {} each · {} at once · retry {}{}\n\n",
        rep.set.as_ref().map_or(String::new(), |s| format!(" {s}")),
        plural(rep.variants.len() as u64, "variant", "variants"),
        plural(rep.repeat, "repeat", "repeats"),
        plan.concurrency,
        plan.retry,
        if sim { " · simulator" } else { "" },
    ));
    let mut rows = vec![
        [
            "variant",
            "deployment",
            "ok",
            "prompt",
            "compl",
            "cached",
            "TTFT p50",
            "TTFT p95",
            "e2e p50",
            "e2e p95",
            "tok/s",
            "$/call",
            "$/1k calls",
            "429",
            "finish",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in &rep.variants {
        let s = &r.stats;
        rows.push(vec![
            label(r),
            r.deployment.clone(),
            format!("{}/{}", s.done, s.calls),
            tokens(s.prompt_tokens),
            tokens(s.completion_tokens),
            tokens(s.cached_tokens),
            opt(s.ttft_ms.p50, fmt_ms),
            opt(s.ttft_ms.p95, fmt_ms),
            opt(s.e2e_ms.p50, fmt_ms),
            opt(s.e2e_ms.p95, fmt_ms),
            tps(s.tokens_per_s),
            usd(s.cost_per_call_usd),
            usd_1k(s.cost_per_1k_calls_usd),
            s.http_429.to_string(),
            finish(r),
        ]);
    }
    out.push_str(&align(&rows));
    out.push_str(&format!("* baseline: {}\n", rep.baseline));
    if rep.variants.len() > 1 {
        out.push_str(&format!("\nagainst the baseline ({})\n", rep.baseline));
        let mut rows = vec![
            [
                "variant",
                "prompt",
                "completion",
                "TTFT p50",
                "TTFT p95",
                "e2e p50",
                "e2e p95",
                "tok/s",
                "$/call",
                "same words",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for r in rep.variants.iter().filter(|r| !r.baseline) {
            let d = &r.delta;
            rows.push(vec![
                r.name.clone(),
                delta(d.prompt_tokens, "", 1),
                delta(d.completion_tokens, "", 1),
                delta(d.ttft_p50_ms, " ms", 0),
                delta(d.ttft_p95_ms, " ms", 0),
                delta(d.e2e_p50_ms, " ms", 0),
                delta(d.e2e_p95_ms, " ms", 0),
                delta(d.tokens_per_s, "", 1),
                delta(d.cost_per_call_usd, "", 6),
                r.similarity
                    .map_or("—".into(), |s| format!("{:.0}%", s * 100.0)),
            ]);
        }
        out.push_str(&align(&rows));
    }
    for r in rep.variants.iter().filter(|r| !r.baseline) {
        let (shown, more) = diffs_shown(r);
        if shown.is_empty() {
            out.push_str(&format!(
                "\n── {} vs {} (no successful answer to compare)\n",
                r.name, rep.baseline
            ));
        }
        for (case, d) in shown {
            let case = case.map_or(String::new(), |c| format!(", case {c}"));
            out.push_str(&format!("\n── {} vs {}{case} ", r.name, rep.baseline));
            if d.spans
                .iter()
                .all(|s| s.kind == crate::domain::diff::DiffKind::Same)
            {
                out.push_str("(identical answers)\n");
            } else {
                out.push_str(&format!(
                    "(word diff: [-removed-] {{+added+}}, {:.0}% the same)\n",
                    d.similarity * 100.0
                ));
                out.push_str(d.plain.trim_end());
                out.push('\n');
            }
        }
        if more > 0 {
            out.push_str(&format!(
                "   … and {} (--format json has every diff)\n",
                plural(more as u64, "more case", "more cases")
            ));
        }
    }
    out.push_str(&super::eval_format::table(rep));
    out
}

/// Cases whose word diffs a text report prints per variant: the least alike first.
const DIFFS_SHOWN: usize = 5;

/// The word diffs to print for a variant — its one diff, or with a data set the
/// [`DIFFS_SHOWN`] least alike cases (with their labels) — and how many cases are left out.
fn diffs_shown(r: &VariantRow) -> (Vec<(Option<&str>, &AnswerDiff)>, usize) {
    if r.case_diffs.is_empty() {
        return (r.diff.iter().map(|d| (None, d)).collect(), 0);
    }
    let mut by: Vec<_> = r.case_diffs.iter().collect();
    by.sort_by(|a, b| a.diff.similarity.total_cmp(&b.diff.similarity));
    let more = by.len().saturating_sub(DIFFS_SHOWN);
    let shown = by
        .into_iter()
        .take(DIFFS_SHOWN)
        .map(|d| (Some(d.case.as_str()), &d.diff))
        .collect();
    (shown, more)
}

#[derive(Serialize)]
struct JsonOut<'a> {
    #[serde(flatten)]
    report: &'a CompareReport,
    concurrency: usize,
    retry: String,
}

/// One JSON object: the set, the run's settings and a row per variant.
pub fn json(rep: &CompareReport, plan: &Plan) -> String {
    let out = JsonOut {
        report: rep,
        concurrency: plan.concurrency,
        retry: plan.retry.to_string(),
    };
    let mut s = serde_json::to_string(&out).expect("report serializes");
    s.push('\n');
    s
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "variant",
    "deployment",
    "baseline",
    "calls",
    "done",
    "failed",
    "throttled",
    "cancelled",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "ttft_p50_ms",
    "ttft_p95_ms",
    "e2e_p50_ms",
    "e2e_p95_ms",
    "tokens_per_s",
    "cost_per_call_usd",
    "cost_per_1k_calls_usd",
    "unpriced_calls",
    "http_429",
    "retries",
    "finish_reasons",
    "delta_prompt_tokens",
    "delta_prompt_tokens_pct",
    "delta_completion_tokens",
    "delta_completion_tokens_pct",
    "delta_ttft_p50_ms",
    "delta_ttft_p50_pct",
    "delta_e2e_p50_ms",
    "delta_e2e_p50_pct",
    "delta_cost_per_call_usd",
    "delta_cost_per_call_pct",
    "similarity",
];

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Decimals per kind of CSV cell: tokens 2, milliseconds / tok/s / percent 1, USD 6
/// (as `aoai chat` prints cost), similarity 3.
const TOKENS: usize = 2;
const MS: usize = 1;
const PCT: usize = 1;
const USD: usize = 6;

fn num(v: Option<f64>, places: usize) -> String {
    v.map_or(String::new(), |x| fixed(x, places))
}

fn d_abs(d: Option<Delta>, places: usize) -> String {
    num(d.map(|d| d.abs), places)
}

fn d_pct(d: Option<Delta>) -> String {
    num(d.and_then(|d| d.pct), PCT)
}

/// One header row, then one row per variant; empty cells where a value is unknown. An
/// evaluated run adds `eval_format::CSV_COLUMNS` after these.
pub fn csv(rep: &CompareReport) -> String {
    let evaluated = rep.eval.is_some();
    let mut out = CSV_COLUMNS.join(",");
    if evaluated {
        out.push(',');
        out.push_str(&super::eval_format::CSV_COLUMNS.join(","));
    }
    out.push('\n');
    for r in &rep.variants {
        let s = &r.stats;
        let d = &r.delta;
        let finish = s
            .finish_reasons
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect::<Vec<_>>()
            .join(";");
        let cells = [
            r.name.clone(),
            r.deployment.clone(),
            r.baseline.to_string(),
            s.calls.to_string(),
            s.done.to_string(),
            s.failed.to_string(),
            s.throttled.to_string(),
            s.cancelled.to_string(),
            num(s.prompt_tokens, TOKENS),
            num(s.completion_tokens, TOKENS),
            num(s.cached_tokens, TOKENS),
            num(s.reasoning_tokens, TOKENS),
            num(s.ttft_ms.p50, MS),
            num(s.ttft_ms.p95, MS),
            num(s.e2e_ms.p50, MS),
            num(s.e2e_ms.p95, MS),
            num(s.tokens_per_s, MS),
            num(s.cost_per_call_usd, USD),
            num(s.cost_per_1k_calls_usd, USD),
            s.unpriced_calls.to_string(),
            s.http_429.to_string(),
            s.retries.to_string(),
            finish,
            d_abs(d.prompt_tokens, TOKENS),
            d_pct(d.prompt_tokens),
            d_abs(d.completion_tokens, TOKENS),
            d_pct(d.completion_tokens),
            d_abs(d.ttft_p50_ms, MS),
            d_pct(d.ttft_p50_ms),
            d_abs(d.e2e_p50_ms, MS),
            d_pct(d.e2e_p50_ms),
            d_abs(d.cost_per_call_usd, USD),
            d_pct(d.cost_per_call_usd),
            num(r.similarity, 3),
        ];
        debug_assert_eq!(cells.len(), CSV_COLUMNS.len());
        let mut cells = cells.to_vec();
        if evaluated {
            cells.extend(super::eval_format::csv_cells(r));
        }
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown table (figures with deltas in brackets), then each diff as a quote.
pub fn markdown(rep: &CompareReport, plan: &Plan) -> String {
    let mut out = format!(
        "## Compare{}\n\n{} repeat{} per variant, {} at once, retry `{}`; baseline **{}**.\n\n",
        rep.set
            .as_ref()
            .map_or(String::new(), |s| format!(": {}", md_cell(s))),
        rep.repeat,
        if rep.repeat == 1 { "" } else { "s" },
        plan.concurrency,
        plan.retry,
        md_cell(&rep.baseline),
    );
    out.push_str("| variant | deployment | ok | prompt | completion | cached | TTFT p50 | TTFT p95 | e2e p50 | e2e p95 | tok/s | $/call | $/1k calls | 429 | finish |\n");
    out.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for r in &rep.variants {
        let s = &r.stats;
        let d = &r.delta;
        let with = |v: String, dl: Option<Delta>, unit: &str, digits: usize| {
            if r.baseline || dl.is_none() {
                v
            } else {
                format!("{v} ({})", delta(dl, unit, digits))
            }
        };
        let cells = [
            if r.baseline {
                format!("**{}** (baseline)", md_cell(&r.name))
            } else {
                md_cell(&r.name)
            },
            md_cell(&r.deployment),
            format!("{}/{}", s.done, s.calls),
            with(tokens(s.prompt_tokens), d.prompt_tokens, "", 1),
            with(tokens(s.completion_tokens), d.completion_tokens, "", 1),
            tokens(s.cached_tokens),
            with(opt(s.ttft_ms.p50, fmt_ms), d.ttft_p50_ms, " ms", 0),
            with(opt(s.ttft_ms.p95, fmt_ms), d.ttft_p95_ms, " ms", 0),
            with(opt(s.e2e_ms.p50, fmt_ms), d.e2e_p50_ms, " ms", 0),
            with(opt(s.e2e_ms.p95, fmt_ms), d.e2e_p95_ms, " ms", 0),
            with(tps(s.tokens_per_s), d.tokens_per_s, "", 1),
            with(usd(s.cost_per_call_usd), d.cost_per_call_usd, "", 6),
            usd_1k(s.cost_per_1k_calls_usd),
            s.http_429.to_string(),
            md_cell(&finish(r)),
        ];
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    for r in rep.variants.iter().filter(|r| !r.baseline) {
        out.push_str(&format!(
            "\n### {} vs {}\n\n",
            md_cell(&r.name),
            md_cell(&rep.baseline)
        ));
        let (shown, more) = diffs_shown(r);
        if shown.is_empty() {
            out.push_str("No successful answer to compare.\n");
        }
        for (n, (case, d)) in shown.into_iter().enumerate() {
            if n > 0 {
                out.push('\n');
            }
            let case = case.map_or(String::new(), |c| format!("Case {}: ", md_cell(c)));
            out.push_str(&format!(
                "{case}{:.0}% of words the same; `[-removed-]` `{{+added+}}`:\n\n",
                d.similarity * 100.0
            ));
            for line in d.plain.trim_end().lines() {
                out.push_str(&format!("> {line}\n"));
            }
        }
        if more > 0 {
            out.push_str(&format!(
                "… and {} (`--format json` has every diff).\n",
                plural(more as u64, "more case", "more cases")
            ));
        }
    }
    out.push_str(&super::eval_format::markdown(rep));
    out
}
