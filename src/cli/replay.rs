//! `aoai replay` flags.

use std::path::PathBuf;

use clap::Args;

use super::ConnArgs;

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("headless").args(["report", "resend", "export"])))]
pub struct ReplayArgs {
    /// The scenario file (JSON Lines; docs/scenarios.md), or a HAR of an application's calls.
    pub file: PathBuf,
    /// Print per-call and total figures (tokens, cost, TTFT/e2e percentiles, 429s, prompt
    /// shape, output over-reservation) instead of opening the console.
    #[arg(long)]
    pub report: bool,
    /// With --report: price the recorded tokens on these models and set PAYG against PTUs
    /// (hourly, reserved) at the recorded rate, with the break-even (docs/scenarios.md).
    #[arg(
        long,
        value_name = "MODEL,…",
        value_delimiter = ',',
        requires = "report"
    )]
    pub what_if: Vec<String>,
    /// With --what-if: the provisioned deployment type priced (global, datazone, regional).
    #[arg(long, default_value = "global", requires = "report")]
    pub deployment_type: crate::domain::ptu::DeploymentType,
    /// Send the recorded requests again and print the differences.
    #[arg(long, conflicts_with = "report")]
    pub resend: bool,
    /// Write the calls in another format (docs/exports.md): `otlp-json` (OpenTelemetry GenAI
    /// spans, for offline import), `har` (HAR 1.2) or `markdown` (an incident summary).
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with_all = ["report", "resend"])]
    pub export: Option<ExportFormat>,
    /// With --export: the file to write (created readable by its owner only; stdout without).
    #[arg(long, short = 'o', value_name = "FILE", requires = "export")]
    pub output: Option<PathBuf>,
    /// With --resend: send to this deployment instead of the recorded one.
    #[arg(long, short = 'd', requires = "resend")]
    pub deployment: Option<String>,
    /// With --resend: record the new run as a scenario (appends).
    #[arg(long, value_name = "FILE", requires = "resend")]
    pub record: Option<PathBuf>,
    /// Machine-readable output; needs --report or --resend (without them the scenario opens
    /// in the console).
    #[arg(long, requires = "headless")]
    pub json: bool,
    /// Console replay speed: 1 (recorded pace), 2, 10, or 0 (instant).
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    pub speed: f64,
    /// Where to re-send (with --resend); without an endpoint the embedded simulator is used.
    #[command(flatten)]
    pub conn: ConnArgs,
}

impl ReplayArgs {
    /// Without `--report`, `--resend` or `--export` the file opens in the console.
    pub fn opens_console(&self) -> bool {
        !self.report && !self.resend && self.export.is_none()
    }
}

/// What `aoai replay --export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// OTLP JSON (`ExportTraceServiceRequest`): one GenAI span per call.
    OtlpJson,
    /// HAR 1.2 (devtools, Fiddler, mitmproxy): one entry per call, bodies as sent.
    Har,
    /// A Markdown incident summary for a ticket (no prompt or answer text).
    Markdown,
}
