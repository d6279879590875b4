//! `aoai probe`'s flags: the connection flags, which deployments, how often, `--json`.

use clap::Args;

use super::ConnArgs;

#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Deployment to probe, in every account that has it (repeat, or comma-separate).
    /// Default: every chat deployment ARM lists.
    #[arg(long, short = 'd', value_delimiter = ',')]
    pub deployment: Vec<String>,
    /// Probe again every SECS seconds (until Ctrl+C or --count rounds), with a sparkline of
    /// each target's e2e over time.
    #[arg(long, value_name = "SECS")]
    pub every: Option<f64>,
    /// Rounds to run with --every (default: until Ctrl+C).
    #[arg(long, value_name = "N")]
    pub count: Option<u32>,
    /// One JSON object per round on stdout (targets with their samples) instead of the table.
    #[arg(long)]
    pub json: bool,
}
