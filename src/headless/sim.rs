//! `aoai sim`: runs the simulator until Ctrl+C.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::SimArgs;
use crate::sim::SimConfig;

pub async fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let cfg = match &args.config {
        Some(path) => {
            SimConfig::load(path).with_context(|| format!("simulator config {}", path.display()))?
        }
        None => SimConfig::default_fleet(),
    };
    if let Some(path) = &args.replay {
        let loaded = crate::engine::capture::load(path)?;
        for w in &loaded.warnings {
            eprintln!("{}: {w}", path.display());
        }
        crate::sim::replay::serve(args.port, loaded.calls).await?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::sim::serve(args.port, cfg).await?;
    Ok(ExitCode::SUCCESS)
}
