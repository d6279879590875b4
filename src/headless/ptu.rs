//! `aoai ptu`: PTUs to deploy for a workload shape (pure estimate from `data/ptu.toml`).

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::PtuArgs;
use crate::domain::num::fixed;
use crate::domain::ptu::{PtuEstimate, PtuTable, Workload};

pub fn run(args: PtuArgs) -> anyhow::Result<ExitCode> {
    let table = match &args.table {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading PTU table {}", path.display()))?;
            PtuTable::parse(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => PtuTable::builtin(),
    };
    let w = match &args.scenario {
        Some(path) => {
            let loaded = crate::engine::capture::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
            super::plan::scenario_workload(path, &loaded.calls, args.rpm)?
        }
        None => {
            let (Some(p), Some(c), Some(rpm)) =
                (args.prompt_tokens, args.completion_tokens, args.rpm)
            else {
                bail!("pass --prompt-tokens, --completion-tokens and --rpm (or --scenario FILE)");
            };
            Workload {
                prompt_tokens: p,
                completion_tokens: c,
                cached_tokens: args.cached_tokens,
                rpm,
            }
        }
    };
    let e = table.estimate(&args.model, args.deployment_type, &w)?;
    // PAYG against the PTUs' prices, from the price table (AOAI_PRICES or the built-in one).
    let prices = match std::env::var_os("AOAI_PRICES") {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading price table {}", path.to_string_lossy()))?;
            crate::domain::cost::PriceTable::parse(&text)?
        }
        None => crate::domain::cost::PriceTable::builtin(),
    };
    let plan = crate::domain::plan::plan_of(
        &args.model,
        args.deployment_type,
        &w,
        &prices,
        Ok(e.clone()),
    );
    if args.json {
        let mut v = serde_json::to_value(&e)?;
        v["cost"] = serde_json::to_value(&plan)?;
        println!("{v}");
    } else {
        print!("{}", format_text(&e));
        print!("{}", super::plan::format_plan(&plan));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn format_text(e: &PtuEstimate) -> String {
    format!(
        "model        {} ({} provisioned)\n\
         workload     {} RPM × ({} prompt, {} cached, {} completion tokens)\n\
         input TPM    {:.0}\n\
         output TPM   {:.0}\n\
         total TPM    {:.0}\n\
         weighted TPM {:.0}  (input − cached + output × {}; ÷ {} input TPM per PTU = {:.2} PTU)\n\
         PTU          {}  (minimum {}, increments of {})\n",
        e.model,
        e.deployment_type.as_str(),
        fixed(e.rpm, 1),
        fixed(e.prompt_tokens, 1),
        fixed(e.cached_tokens, 1),
        fixed(e.completion_tokens, 1),
        e.input_tpm,
        e.output_tpm,
        e.total_tpm,
        e.weighted_tpm,
        fixed(e.output_weight, 2),
        fixed(e.input_tpm_per_ptu, 0),
        e.ptu_exact,
        e.ptu,
        e.min,
        e.step
    )
}
