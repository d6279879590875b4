//! `aoai ptu`: PTUs to deploy for a workload shape (pure estimate from `data/ptu.toml`).

use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::PtuArgs;
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
    if args.scenario.is_some() {
        bail!("--scenario is not available yet: the scenario format (aoai::record) is not built");
    }
    let (Some(p), Some(c), Some(rpm)) = (args.prompt_tokens, args.completion_tokens, args.rpm)
    else {
        bail!("pass --prompt-tokens, --completion-tokens and --rpm (or --scenario FILE)");
    };
    let w = Workload {
        prompt_tokens: p,
        completion_tokens: c,
        cached_tokens: args.cached_tokens,
        rpm,
    };
    let e = table.estimate(&args.model, args.deployment_type, &w)?;
    if args.json {
        println!("{}", serde_json::to_string(&e)?);
    } else {
        print!("{}", format_text(&e));
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
        e.rpm,
        e.prompt_tokens,
        e.cached_tokens,
        e.completion_tokens,
        e.input_tpm,
        e.output_tpm,
        e.total_tpm,
        e.weighted_tpm,
        e.output_weight,
        e.input_tpm_per_ptu,
        e.ptu_exact,
        e.ptu,
        e.min,
        e.step
    )
}
