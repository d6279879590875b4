//! Command-line interface (clap derive). Parsing only; `main.rs` dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::azure::Secret;
use crate::domain::call::{ApiPath, WireApi};
use crate::domain::params::{self, MaxTokensField};
use crate::domain::retry::RetryPolicy;
use crate::engine::connect::ConnectOptions;

mod doctor;
mod probe;
mod proxy;
mod replay;
mod shell;
pub use doctor::DoctorArgs;
pub use probe::ProbeArgs;
pub use proxy::ProxyArgs;
pub use replay::{ExportFormat, ReplayArgs};
pub use shell::CompletionsArgs;

#[derive(Debug, Parser)]
#[command(
    name = "aoai",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("AOAI_COMMIT"), ")"),
    about = "Terminal operator console for Azure OpenAI and Azure AI Foundry deployments"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Export each call as OpenTelemetry GenAI spans and metrics over OTLP/HTTP to this base
    /// URL (`/v1/traces`, `/v1/metrics` appended), like OTEL_EXPORTER_OTLP_ENDPOINT, which
    /// is used when this is absent; docs/telemetry.md.
    #[arg(long, global = true, value_name = "URL")]
    pub otlp: Option<String>,
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
    /// Initial output budget (>= 1), sent as `max_completion_tokens` (see
    /// --max-tokens-field); change it in the console with Tab to the parameters row.
    #[arg(long, default_value_t = 1024, value_parser = parse_budget)]
    pub max_tokens: u32,
    /// Initial temperature, 0..=2 (default: the service's).
    #[arg(long, value_parser = parse_temperature, allow_hyphen_values = true)]
    pub temperature: Option<f64>,
    /// Initial retry policy: none | honor | honor:N | failover:DEPLOYMENT | failover:PROFILE/DEPLOYMENT
    #[arg(long, default_value = "none", value_parser = parse_retry)]
    pub retry: RetryPolicy,
    /// Record every call to this scenario file from the start (appending; created with a
    /// header if new). Ctrl+R or F8 toggles recording in the console.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Open on the Compare screen with this variant set loaded (docs/compare.md).
    #[arg(long, value_name = "FILE")]
    pub compare: Option<PathBuf>,
    /// Run the recording proxy inside the console on 127.0.0.1:PORT (0 picks one): point
    /// the application at it and watch its calls on the Traffic screen (F10). Forwards to
    /// this console's endpoint (the embedded simulator without one). See docs/proxy.md.
    #[arg(long, value_name = "PORT")]
    pub proxy: Option<u16>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send one chat message and stream the answer, then the call's figures.
    Chat(ChatArgs),
    /// Embed text with an embeddings deployment; print latency, tokens, vectors ×
    /// dimensions, cost and the request id.
    Embed(EmbedArgs),
    /// Run the local Azure OpenAI simulator (data plane + ARM plane) on 127.0.0.1.
    Sim(SimArgs),
    /// Open a recorded scenario in the console, or report on it / re-send it headless.
    Replay(ReplayArgs),
    /// Load-test a deployment with requests of a given shape; report latency, throughput,
    /// 429s and the PTUs the measured workload needs.
    Bench(BenchArgs),
    /// Size a provisioned (PTU) deployment for a workload shape.
    Ptu(PtuArgs),
    /// List the accounts and deployments of the profile's subscription(s) (ARM).
    Deployments(DeploymentsArgs),
    /// Quota usage per region, the deployments sharing each pool, and free model capacity.
    Quota(QuotaArgs),
    /// Check a config file (profiles).
    Config(ConfigArgs),
    /// Run prompt variants (a TOML variant set) side by side: figures per variant, deltas
    /// and a word diff against the baseline (docs/compare.md).
    Compare(CompareArgs),
    /// Forward an application's calls to Azure (or the simulator), measuring and recording
    /// each one; inject faults on request (docs/proxy.md).
    Proxy(ProxyArgs),
    /// Check the endpoint step by step (proxy, DNS, TCP, TLS, credential, a 1-token call,
    /// the deployment, ARM, quota): each ✓ or ✗ with the fix.
    Doctor(DoctorArgs),
    /// Which region is healthy right now: a minimal call to each deployment across accounts
    /// and regions (every N seconds if asked): status, TTFT, e2e, region, remaining
    /// requests / tokens, 429 cause, sparklines.
    Probe(ProbeArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the man page (roff): `aoai man > ~/.local/share/man/man1/aoai.1`.
    Man,
}

#[derive(Debug, Clone, Args)]
pub struct DeploymentsArgs {
    #[command(flatten)]
    pub arm: ArmArgs,
    /// One JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct QuotaArgs {
    #[command(flatten)]
    pub arm: ArmArgs,
    /// Region (ARM location name, e.g. swedencentral); default: the regions of the accounts.
    #[arg(long)]
    pub location: Option<String>,
    /// Also list free capacity for this model (modelCapacities), e.g. gpt-4o.
    #[arg(long)]
    pub model: Option<String>,
    /// Model version for --model.
    #[arg(long, requires = "model")]
    pub model_version: Option<String>,
    /// One JSON object on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ConfigAction {
    /// Validate a config file (default: the one aoai would load); errors name the key.
    Check {
        /// The file; default: --config / AOAI_CONFIG / the platform config dir.
        file: Option<PathBuf>,
    },
    /// Print where the config file is looked for.
    Path,
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
    #[arg(long, env = "AZURE_OPENAI_API_KEY", hide_env_values = true, value_parser = parse_secret)]
    pub api_key: Option<Secret>,
    /// URL shape: classic (/openai/deployments/{name}), v1 (/openai/v1), openai (base URL as
    /// given), foundry (Azure AI Foundry model inference: /models/chat/completions, or a
    /// serverless *.models.ai.azure.com endpoint).
    #[arg(long, default_value = "classic", value_parser = parse_api)]
    pub api: ApiPath,
    /// Wire API: chat (Chat Completions) or responses (the Responses API: /openai/responses
    /// on the classic path, /openai/v1/responses on v1). Default: the profile's, else chat.
    #[arg(long, value_name = "API", value_parser = parse_wire_api)]
    pub wire_api: Option<WireApi>,
    /// Data-plane api-version for the classic path.
    #[arg(long, env = "OPENAI_API_VERSION", default_value = crate::azure::endpoint::DEFAULT_API_VERSION)]
    pub api_version: String,
    /// Price table (TOML, USD per 1M tokens); defaults to the built-in data/prices.toml.
    #[arg(long, env = "AOAI_PRICES")]
    pub prices: Option<PathBuf>,
    /// Connect timeout, seconds.
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "SECS",
        allow_hyphen_values = true
    )]
    pub connect_timeout: f64,
    /// Time allowed until the response headers, seconds.
    #[arg(
        long,
        default_value_t = 120.0,
        value_name = "SECS",
        allow_hyphen_values = true
    )]
    pub first_byte_timeout: f64,
    /// Longest silence allowed between stream events, seconds.
    #[arg(
        long,
        default_value_t = 60.0,
        value_name = "SECS",
        allow_hyphen_values = true
    )]
    pub idle_timeout: f64,
    /// Profile from the config file (endpoint, auth, deployment, subscriptions); docs/azure.md.
    #[arg(long, env = "AOAI_PROFILE")]
    pub profile: Option<String>,
    /// Config file with profiles (default: the platform config dir, e.g.
    /// ~/.config/aoai/config.toml).
    #[arg(long, env = "AOAI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Body field for the output budget (--max-tokens, a bench shape's, a variant's):
    /// max_completion_tokens (default; reasoning models require it) or max_tokens (API
    /// versions before 2024-09-01-preview, deployments that only know it). Default: the
    /// profile's `max_tokens_field`.
    #[arg(long, value_name = "FIELD", value_parser = parse_field)]
    pub max_tokens_field: Option<MaxTokensField>,
    /// The embedded simulator, even when the az CLI is signed in (zero-config otherwise
    /// opens on your own deployments).
    #[arg(long)]
    pub sim: bool,
}

/// What the ARM commands (`deployments`, `quota`) take: the profile and its file. The
/// subscription, ARM endpoint and credential come from the profile (or
/// `AZURE_SUBSCRIPTION_ID` and the Entra ID `auto` credential); with neither, the embedded
/// simulator's ARM plane answers.
#[derive(Debug, Clone, Args)]
pub struct ArmArgs {
    /// Profile from the config file (subscriptions, auth, arm_endpoint); docs/azure.md.
    #[arg(long, env = "AOAI_PROFILE")]
    pub profile: Option<String>,
    /// Config file with profiles (default: the platform config dir, e.g.
    /// ~/.config/aoai/config.toml).
    #[arg(long, env = "AOAI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The embedded simulator's ARM plane, even when the az CLI is signed in.
    #[arg(long)]
    pub sim: bool,
}

impl ConnArgs {
    /// [`Self::options`] for a command that will use `deployment` (`-d`): zero-config finds
    /// the account that holds it.
    pub fn options_for(&self, deployment: Option<&String>) -> ConnectOptions {
        ConnectOptions {
            deployment: deployment.cloned(),
            ..self.options()
        }
    }

    /// The engine's connection options these flags stand for.
    pub fn options(&self) -> ConnectOptions {
        ConnectOptions {
            endpoint: self.endpoint.clone(),
            api_key: self.api_key.clone(),
            api: self.api,
            wire_api: self.wire_api,
            api_version: self.api_version.clone(),
            prices: self.prices.clone(),
            connect_timeout: self.connect_timeout,
            first_byte_timeout: self.first_byte_timeout,
            idle_timeout: self.idle_timeout,
            profile: self.profile.clone(),
            config: self.config.clone(),
            max_tokens_field: self.max_tokens_field,
            sim_config: None,
            force_sim: self.sim,
            deployment: None,
        }
    }
}

impl ArmArgs {
    /// The connection these stand for: endpoint and key from the environment only.
    pub fn options(&self) -> ConnectOptions {
        ConnectOptions {
            profile: self.profile.clone(),
            config: self.config.clone(),
            force_sim: self.sim,
            ..ConnectOptions::default()
        }
    }
}

/// A pass rate: `0.9`, or `90%`.
fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(p) => (p, 100.0),
        None => (t, 1.0),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a rate (0–1, or a percentage like 90%)"))?;
    let v = v / scale;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("`{s}` is outside 0–1 (0%–100%)"))
    }
}

fn parse_api(s: &str) -> Result<ApiPath, String> {
    s.parse()
}

fn parse_wire_api(s: &str) -> Result<WireApi, String> {
    s.parse()
}

/// `-H NAME:VALUE`, whose errors never repeat the value: clap's own "invalid value '…'" would
/// print a credential passed by mistake.
#[derive(Debug, Clone, Copy)]
struct HeaderParser;

impl clap::builder::TypedValueParser for HeaderParser {
    type Value = (String, String);
    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let fail = |m: String| {
            let kind = clap::error::ErrorKind::ValueValidation;
            clap::Error::raw(kind, format!("invalid --header: {m}\n")).with_cmd(cmd)
        };
        parse_header(value.to_str().ok_or_else(|| fail("not UTF-8".into()))?).map_err(fail)
    }
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once(':')
        .ok_or_else(|| "a header is NAME:VALUE, and this one has no `:`".to_string())?;
    let k = k.trim();
    if k.is_empty()
        || !k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("header name `{k}` is not valid"));
    }
    if crate::domain::call::is_credential_header(k) {
        return Err(format!(
            "`{k}` carries a credential: use --api-key, or a profile's `auth` (`header = \"{k}\"` with `key_env` or `key_file`); it is never recorded or shown"
        ));
    }
    Ok((k.to_string(), v.trim().to_string()))
}

/// A key or token from the command line or the environment, never shown by `{:?}`.
pub(crate) fn parse_secret(s: &str) -> Result<Secret, String> {
    Ok(Secret::new(s))
}

fn parse_field(s: &str) -> Result<MaxTokensField, String> {
    s.parse()
}

fn in_range(r: params::Range, s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number (allowed: {})", r.describe()))?;
    r.check(v).map_err(|e| e.to_string())?;
    Ok(v)
}

fn parse_temperature(s: &str) -> Result<f64, String> {
    in_range(params::TEMPERATURE, s)
}

fn parse_top_p(s: &str) -> Result<f64, String> {
    in_range(params::TOP_P, s)
}

fn parse_presence(s: &str) -> Result<f64, String> {
    in_range(params::PRESENCE_PENALTY, s)
}

fn parse_frequency(s: &str) -> Result<f64, String> {
    in_range(params::FREQUENCY_PENALTY, s)
}

/// An output budget: a whole number >= 1.
fn parse_budget(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err(params::ParamError::OutOfRange {
            key: params::MAX_TOKENS.key,
            value: "0".into(),
            range: params::MAX_TOKENS.describe(),
        }
        .to_string()),
        Err(_) => Err(format!(
            "`{s}` is not a whole number of tokens (allowed: >= 1)"
        )),
    }
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
    /// Output budget (>= 1), sent as `max_completion_tokens`; `--max-tokens-field max_tokens`
    /// sends the legacy `max_tokens` instead (old API versions and deployments).
    #[arg(long, visible_alias = "max-completion-tokens", value_name = "N", value_parser = parse_budget, allow_hyphen_values = true)]
    pub max_tokens: Option<u32>,
    /// Sampling temperature, 0..=2 (default: the service's).
    #[arg(long, value_parser = parse_temperature, allow_hyphen_values = true)]
    pub temperature: Option<f64>,
    /// Nucleus sampling, 0..=1 (default: the service's).
    #[arg(long, value_parser = parse_top_p, allow_hyphen_values = true)]
    pub top_p: Option<f64>,
    /// `presence_penalty`, -2..=2.
    #[arg(long, value_parser = parse_presence, allow_hyphen_values = true)]
    pub presence_penalty: Option<f64>,
    /// `frequency_penalty`, -2..=2.
    #[arg(long, value_parser = parse_frequency, allow_hyphen_values = true)]
    pub frequency_penalty: Option<f64>,
    /// Seed for (best-effort) deterministic sampling.
    #[arg(long, allow_hyphen_values = true)]
    pub seed: Option<i64>,
    /// Reasoning effort for reasoning models (o-series, gpt-5): sent as `reasoning_effort` on
    /// chat, `reasoning.effort` on the Responses API.
    #[arg(long, value_name = "EFFORT", value_parser = ["minimal", "low", "medium", "high"])]
    pub reasoning_effort: Option<String>,
    /// Ask a reasoning model for a summary of its reasoning (Responses API only:
    /// `reasoning.summary`); it streams before the answer and is timed apart from TTFT.
    #[arg(long, value_name = "KIND", value_parser = ["auto", "concise", "detailed"])]
    pub reasoning_summary: Option<String>,
    /// Retry policy on 429 / 5xx: none | honor | honor:N | failover:DEPLOYMENT | failover:PROFILE/DEPLOYMENT
    #[arg(long, default_value = "none", value_parser = parse_retry)]
    pub retry: RetryPolicy,
    /// Ask for a non-streamed completion.
    #[arg(long)]
    pub no_stream: bool,
    /// Print one JSON object for the call on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// Extra request header `NAME:VALUE` (repeatable), e.g. `x-ms-client-request-id:abc`
    /// or, against the simulator, `x-sim-fault:429`. Credentials headers are refused.
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE", value_parser = HeaderParser)]
    pub headers: Vec<(String, String)>,
    /// Append the call to a scenario file (created with a header if new).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Send a whole conversation: a JSON array of `{"role","content"}` messages; MESSAGE
    /// (if not empty) is appended as the last user message.
    #[arg(long, value_name = "FILE")]
    pub messages: Option<PathBuf>,
    /// The user message; `-` reads it from standard input.
    pub message: String,
}

#[derive(Debug, Clone, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Embeddings deployment (classic path) or model (v1 / openai paths). Default:
    /// text-embedding-3-small on the simulator.
    #[arg(long, short = 'd', env = "AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT")]
    pub deployment: Option<String>,
    /// Shorter vectors (text-embedding-3 models), sent as `dimensions`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub dimensions: Option<u32>,
    /// Print one JSON object for the call on stdout instead of text.
    #[arg(long)]
    pub json: bool,
    /// The texts to embed, one vector each; `-` reads one text from standard input.
    #[arg(required = true, value_name = "TEXT")]
    pub text: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8089)]
    pub port: u16,
    /// Simulator configuration (TOML): fleet, limits, latency, faults. See docs/simulator.md.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Serve the responses of a recorded scenario (with their recorded timing and headers)
    /// instead of generating answers. See docs/scenarios.md.
    #[arg(long, value_name = "SCENARIO")]
    pub replay: Option<PathBuf>,
}

/// Request shapes of `aoai bench` (prompt tokens / max output tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchShape {
    /// 500 / 1000: short context, long generation (question answering).
    Generation,
    /// 500 / 500 (the default).
    Balanced,
    /// 2000 / 200: larger context than generation (chat assistants).
    Context,
    /// 7000 / 150: a long document summarised briefly.
    Summarization,
    /// 64 / 16: a quick check.
    Small,
    /// --context-tokens / --max-tokens.
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchOutput {
    /// A readable report every --report-every, then the final one.
    Text,
    /// One JSON object per report.
    Jsonl,
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("pacing").required(true).args(["rate", "clients"])))]
pub struct BenchArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Deployment name (classic path) or model (v1 / openai paths). Default: gpt-4o on the simulator.
    #[arg(long, short = 'd', env = "AZURE_OPENAI_DEPLOYMENT")]
    pub deployment: Option<String>,
    /// Open loop: start this many requests per minute, on schedule, whatever the service does.
    #[arg(long, value_name = "RPM", allow_hyphen_values = true)]
    pub rate: Option<f64>,
    /// Closed loop: N clients, each sending its next request when the previous one ends.
    #[arg(long, value_name = "N")]
    pub clients: Option<usize>,
    /// How long to generate load: 90, 90s, 10m, 1h.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    /// Request shape (prompt / max output tokens), named as on the console's Bench screen.
    #[arg(long, value_enum, default_value = "balanced")]
    pub shape: BenchShape,
    /// Prompt tokens per request (required with --shape custom; overrides the shape's).
    #[arg(long, value_name = "P")]
    pub context_tokens: Option<u32>,
    /// Output budget per request (>= 1; overrides the shape's), sent as
    /// max_completion_tokens (see --max-tokens-field).
    #[arg(long, value_name = "C", value_parser = parse_budget)]
    pub max_tokens: Option<u32>,
    /// Retry policy on 429 / 5xx: none | honor | honor:N | failover:DEPLOYMENT | failover:PROFILE/DEPLOYMENT
    #[arg(long, default_value = "none", value_parser = parse_retry)]
    pub retry: RetryPolicy,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value = "text")]
    pub output: BenchOutput,
    /// Seconds between reports.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub report_every: std::time::Duration,
    /// Most requests running at once (open loop); a scheduled start beyond it is dropped and counted.
    #[arg(long, default_value_t = 1000)]
    pub max_in_flight: u64,
    /// Most requests on the wire at once (HTTP/1: most connections); a start that finds them
    /// all busy waits for one, and the wait counts in its latency (like wrk2's -c). Default:
    /// no limit beyond --max-in-flight. Against a local simulator at hundreds of thousands of
    /// requests/min, 32 avoids a storm of new connections on a latency spike.
    #[arg(long, value_name = "N")]
    pub connections: Option<usize>,
    /// After --duration, how long requests still running may take before they are cancelled.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub drain: std::time::Duration,
    /// Deployment type for the PTU estimate: global | datazone | regional.
    #[arg(long, default_value = "global")]
    pub deployment_type: crate::domain::ptu::DeploymentType,
    /// Model for the PTU estimate (default: the model the service reports).
    #[arg(long)]
    pub model: Option<String>,
    /// Append every call to a scenario file (JSONL; see docs/scenarios.md).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("workload").required(true).multiple(true).args(["rpm", "scenario"])))]
pub struct PtuArgs {
    /// Model name or version (gpt-4o, gpt-4o-2024-11-20, gpt-4.1-mini, …).
    #[arg(long)]
    pub model: String,
    /// Deployment type: global | datazone | regional
    #[arg(long, default_value = "global")]
    pub deployment_type: crate::domain::ptu::DeploymentType,
    /// Average prompt tokens per request.
    #[arg(long, conflicts_with = "scenario", allow_hyphen_values = true)]
    pub prompt_tokens: Option<f64>,
    /// Average completion (output) tokens per request.
    #[arg(long, conflicts_with = "scenario", allow_hyphen_values = true)]
    pub completion_tokens: Option<f64>,
    /// Average cached prompt tokens per request (a part of the prompt tokens).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub cached_tokens: f64,
    /// Requests per minute at peak (with --scenario: overrides the recorded rate).
    #[arg(long, allow_hyphen_values = true)]
    pub rpm: Option<f64>,
    /// Take the shape and rate from a recorded scenario (JSONL).
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// PTU table (TOML); defaults to the built-in data/ptu.toml.
    #[arg(long, env = "AOAI_PTU_TABLE")]
    pub table: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `90` (seconds), `90s`, `1.5m`, `10m`, `1h`, `250ms`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(std::time::Duration::from_secs_f64(v * mult)),
        _ => Err(format!(
            "`{s}` is not a positive duration (examples: 90, 30s, 10m, 1h)"
        )),
    }
}

/// Output formats of `aoai compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON object.
    Json,
    /// One row per variant.
    Csv,
    /// A GitHub-flavoured Markdown table.
    Markdown,
    /// JUnit XML: a testsuite per variant, a testcase per case × repeat (CI test reports).
    Junit,
}

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The variant set (TOML; docs/compare.md).
    pub file: PathBuf,
    /// Deployment for variants that name none. Default: the profile's, else gpt-4o on the simulator.
    #[arg(long, short = 'd', env = "AZURE_OPENAI_DEPLOYMENT")]
    pub deployment: Option<String>,
    /// Calls per variant (default: the file's `repeat`, else 1).
    #[arg(long, short = 'k', value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: Option<u32>,
    /// Most calls at once (default: the file's `concurrency`, else 4).
    #[arg(long, short = 'n', value_name = "N", value_parser = parse_concurrency)]
    pub concurrency: Option<usize>,
    /// none | honor | honor:N | failover:DEPLOYMENT | failover:PROFILE/DEPLOYMENT (default: the file's `retry`, else honor).
    #[arg(long, value_parser = parse_retry)]
    pub retry: Option<RetryPolicy>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: CompareFormat,
    /// Same as --format json: one JSON object with a row per variant.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Append every call to a scenario file (replayable with `aoai replay`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Exit 4 when a variant's pass rate (answers whose assertions all hold) is below RATE
    /// (0–1, or a percentage such as 90%). Needs a set with assertions or a judge.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub fail_under: Option<f64>,
    /// Open the console on the Compare screen with the set loaded instead.
    #[arg(long)]
    pub tui: bool,
    /// Theme for --tui (as `aoai --theme`).
    #[arg(long, env = "AOAI_THEME")]
    pub theme: Option<String>,
}

fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a whole number of at least 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            let blank = arg
                .get_help()
                .is_none_or(|h| h.to_string().trim().is_empty());
            if blank {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            if sub.get_about().is_none() {
                missing.push(format!("{path} {} (no about)", sub.get_name()));
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }

    #[test]
    fn every_flag_of_every_command_has_a_description() {
        let cmd = Cli::command();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&cmd, "aoai", &mut missing);
        assert!(missing.is_empty(), "args without help: {missing:#?}");
    }

    #[test]
    fn arm_commands_list_only_flags_that_apply() {
        let cmd = Cli::command();
        for (name, allowed) in [
            ("deployments", &["profile", "config", "sim", "json"][..]),
            (
                "quota",
                &[
                    "profile",
                    "config",
                    "sim",
                    "json",
                    "location",
                    "model",
                    "model_version",
                ][..],
            ),
        ] {
            let sub = cmd.find_subcommand(name).unwrap();
            let ids: Vec<&str> = sub
                .get_arguments()
                .map(|a| a.get_id().as_str())
                .filter(|id| !matches!(*id, "help" | "version"))
                .collect();
            let extra: Vec<&&str> = ids.iter().filter(|id| !allowed.contains(id)).collect();
            assert!(extra.is_empty(), "`aoai {name}` lists {extra:?}");
        }
    }

    #[test]
    fn max_tokens_help_names_the_wire_field() {
        let mut cmd = Cli::command();
        for name in ["chat", "bench"] {
            let sub = cmd.find_subcommand_mut(name).unwrap();
            let help = sub.render_long_help().to_string();
            assert!(
                help.contains("max_completion_tokens") && help.contains("--max-tokens-field"),
                "{name}: {help}"
            );
        }
    }
}
