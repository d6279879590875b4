//! Command-line interface (clap derive). Parsing only; `main.rs` dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::domain::call::ApiPath;
use crate::domain::retry::RetryPolicy;

#[derive(Debug, Parser)]
#[command(
    name = "aoai",
    version,
    about = "Terminal operator console for Azure OpenAI and Azure AI Foundry deployments"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the full-screen console (used when no subcommand is given).
    #[command(flatten)]
    pub console: ConsoleArgs,
}

/// `aoai` with no subcommand: the full-screen console.
#[derive(Debug, Clone, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Deployment to chat with first. Default: gpt-4o on the simulator.
    #[arg(long, short = 'd', env = "AZURE_OPENAI_DEPLOYMENT")]
    pub deployment: Option<String>,
    /// Theme: a name from themes/ (dark, light, high-contrast) or a path to a TOML file.
    #[arg(long, env = "AOAI_THEME")]
    pub theme: Option<String>,
    /// Initial system prompt.
    #[arg(long, short = 's')]
    pub system: Option<String>,
    /// Initial output budget (sent as `max_completion_tokens`); change it in the console with Tab to the parameters row.
    #[arg(long, default_value_t = 1024)]
    pub max_tokens: u32,
    /// Initial temperature (default: the service's).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Initial retry policy: none | honor | honor:N | failover:DEPLOYMENT
    #[arg(long, default_value = "none", value_parser = parse_retry)]
    pub retry: RetryPolicy,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send one chat message and stream the answer, then the call's figures.
    Chat(ChatArgs),
    /// Run the local Azure OpenAI simulator (data plane + ARM plane) on 127.0.0.1.
    Sim(SimArgs),
}

/// Where to send calls and how to authenticate. Without an endpoint the embedded simulator
/// is started in-process and used.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Resource endpoint, e.g. https://my-resource.openai.azure.com (or an OpenAI-compatible
    /// base URL with `--api openai`).
    #[arg(long, env = "AZURE_OPENAI_ENDPOINT", hide_env_values = true)]
    pub endpoint: Option<String>,
    /// API key (sent as `api-key`; as a Bearer token with `--api openai`).
    #[arg(long, env = "AZURE_OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// URL shape: classic (/openai/deployments/{name}), v1 (/openai/v1), openai (base URL as given).
    #[arg(long, default_value = "classic", value_parser = parse_api)]
    pub api: ApiPath,
    /// Data-plane api-version for the classic path.
    #[arg(long, env = "OPENAI_API_VERSION", default_value = crate::azure::endpoint::DEFAULT_API_VERSION)]
    pub api_version: String,
    /// Price table (TOML, USD per 1M tokens); defaults to the built-in data/prices.toml.
    #[arg(long, env = "AOAI_PRICES")]
    pub prices: Option<PathBuf>,
    /// Connect timeout, seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub connect_timeout: f64,
    /// Time allowed until the response headers, seconds.
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    pub first_byte_timeout: f64,
    /// Longest silence allowed between stream events, seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub idle_timeout: f64,
}

fn parse_api(s: &str) -> Result<ApiPath, String> {
    s.parse()
}

fn parse_retry(s: &str) -> Result<RetryPolicy, String> {
    s.parse()
        .map_err(|e: crate::domain::retry::RetryPolicyParseError| e.to_string())
}

#[derive(Debug, Clone, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Deployment name (classic path) or model (v1 / openai paths). Default: gpt-4o on the simulator.
    #[arg(long, short = 'd', env = "AZURE_OPENAI_DEPLOYMENT")]
    pub deployment: Option<String>,
    /// System prompt.
    #[arg(long, short = 's')]
    pub system: Option<String>,
    /// `max_tokens` (legacy; reasoning models reject it — use --max-completion-tokens).
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// `max_completion_tokens`.
    #[arg(long)]
    pub max_completion_tokens: Option<u32>,
    #[arg(long)]
    pub temperature: Option<f64>,
    #[arg(long)]
    pub seed: Option<i64>,
    /// none | honor | honor:N | failover:DEPLOYMENT
    #[arg(long, default_value = "none", value_parser = parse_retry)]
    pub retry: RetryPolicy,
    /// Ask for a non-streamed completion.
    #[arg(long)]
    pub no_stream: bool,
    /// Print one JSON object for the call on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// The user message; `-` reads it from standard input.
    pub message: String,
}

#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8089)]
    pub port: u16,
    /// Simulator configuration (TOML): fleet, limits, latency, faults. See docs/simulator.md.
    #[arg(long)]
    pub config: Option<PathBuf>,
}
