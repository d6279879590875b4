//! `aoai replay FILE --report --what-if MODEL,…` and the cost lines of `aoai ptu`: the pure
//! plan (`domain::plan`) of a workload on each model, as text or JSON.

use std::path::Path;

use anyhow::bail;
use serde::Serialize;

use crate::domain::cost::PriceTable;
use crate::domain::num::fixed;
use crate::domain::plan::{CostPlan, PtuOption, plan};
use crate::domain::ptu::{DeploymentType, PtuTable, Workload};
use crate::domain::usage::Usage;

/// One model's plan, with the recorded calls' own tokens priced on it.
#[derive(Debug, Clone, Serialize)]
pub struct WhatIf {
    #[serde(flatten)]
    pub plan: CostPlan,
    /// The recording's tokens (cached ones at the cached rate) on this model.
    pub recorded_usd: Option<f64>,
}

/// The plans of a recorded file's workload (its average shape and rate) on `models`; `path`
/// names the file in errors.
pub fn what_if(
    path: &Path,
    calls: &[crate::domain::scenario::ScenarioCall],
    models: &[String],
    kind: DeploymentType,
    prices: &PriceTable,
) -> anyhow::Result<(Workload, Vec<WhatIf>)> {
    let w = scenario_workload(path, calls, None)?;
    let usages: Vec<Usage> = calls.iter().filter_map(|c| c.record.usage).collect();
    let ptus = PtuTable::builtin();
    let plans = models
        .iter()
        .map(|m| WhatIf {
            plan: plan(m, kind, &w, prices, &ptus),
            recorded_usd: usages
                .iter()
                .map(|u| prices.cost_usd(m, None, u))
                .sum::<Option<f64>>(),
        })
        .collect();
    Ok((w, plans))
}

fn usd(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| {
        if v >= 100.0 {
            format!("${v:.0}")
        } else if v >= 1.0 {
            format!("${v:.2}")
        } else {
            format!("${v:.6}")
        }
    })
}

fn break_even(o: &PtuOption) -> String {
    o.break_even_rpm
        .map_or("never (PAYG cheaper at full use)".into(), |r| {
            format!("{} RPM", fixed(r, 1))
        })
}

/// The plan's text: PAYG a month, the PTUs and their three prices with break-evens.
pub fn format_plan(p: &CostPlan) -> String {
    let mut s = format!(
        "  PAYG         {} a month at {} RPM ({} a request)\n",
        usd(p.payg_month_usd),
        fixed(p.rpm, 1),
        usd(p.payg_per_request_usd)
    );
    match (&p.ptu, &p.ptu_note) {
        (Some(t), _) => {
            s.push_str(&format!(
                "  PTU          {} {} PTU (serve up to {} RPM at this shape)\n",
                t.estimate.ptu,
                p.deployment_type.as_str(),
                fixed(t.capacity_rpm, 1)
            ));
            for (name, o) in [
                ("hourly", &t.hourly),
                ("1-month res.", &t.reserved_month),
                ("1-year res.", &t.reserved_year),
            ] {
                s.push_str(&format!(
                    "  {name:<12} {} a month · break-even {}\n",
                    usd(Some(o.month_usd)),
                    break_even(o)
                ));
            }
        }
        (None, Some(n)) => s.push_str(&format!("  PTU          not estimated: {n}\n")),
        (None, None) => {}
    }
    s
}

/// `--what-if` as text, after the report.
pub fn format_what_if(w: &Workload, plans: &[WhatIf]) -> String {
    let mut s = format!(
        "\nWhat if (recorded shape: {} prompt, {} cached, {} completion tokens a call, {} RPM; list prices, data/prices.toml):\n",
        fixed(w.prompt_tokens, 1),
        fixed(w.cached_tokens, 1),
        fixed(w.completion_tokens, 1),
        fixed(w.rpm, 1)
    );
    for p in plans {
        s.push_str(&format!(
            "{}: the recording would cost {}\n",
            p.plan.model,
            usd(p.recorded_usd)
        ));
        s.push_str(&format_plan(&p.plan));
    }
    s
}

/// The workload of a recorded file's calls (`path` names it in errors): average tokens of
/// its answered calls, and its rate (calls ÷ the minutes between the first and last start),
/// unless `rpm` is given.
pub fn scenario_workload(
    path: &Path,
    calls: &[crate::domain::scenario::ScenarioCall],
    rpm: Option<f64>,
) -> anyhow::Result<Workload> {
    let mut n = 0u64;
    let (mut p, mut c, mut k) = (0u64, 0u64, 0u64);
    let mut starts = Vec::new();
    for call in calls {
        if let Ok(t) = humantime::parse_rfc3339(&call.started) {
            starts.push(t);
        }
        if let Some(u) = call.record.usage {
            n += 1;
            p += u.prompt_tokens;
            c += u.completion_tokens;
            k += u.cached_tokens;
        }
    }
    if n == 0 {
        bail!(
            "{}: no call with token usage to take a shape from",
            path.display()
        );
    }
    let rpm = match rpm {
        Some(r) => r,
        None => {
            let (Some(a), Some(b)) = (starts.iter().min(), starts.iter().max()) else {
                bail!("{}: no start times; pass --rpm", path.display());
            };
            let mins = b.duration_since(*a).unwrap_or_default().as_secs_f64() / 60.0;
            if mins <= 0.0 {
                bail!(
                    "{}: all calls started at once, so no rate can be measured; pass --rpm",
                    path.display()
                );
            }
            starts.len() as f64 / mins
        }
    };
    Ok(Workload {
        prompt_tokens: p as f64 / n as f64,
        completion_tokens: c as f64 / n as f64,
        cached_tokens: k as f64 / n as f64,
        rpm,
    })
}
