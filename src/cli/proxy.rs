//! `aoai proxy` flags.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

use crate::engine::proxy::inject::InjectSpec;

/// Put aoai between an application and Azure: forward its calls unchanged, measure and
/// record them (docs/proxy.md).
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("upstream_source").args(["upstream", "profile"])))]
pub struct ProxyArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
    /// Address to listen on. Loopback by default; widen it only on purpose.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// The resource to forward to, e.g. https://NAME.openai.azure.com (plain http only to
    /// loopback). Without it and --profile: the embedded simulator.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,
    /// Forward to this profile's endpoint (the application's own credentials pass through,
    /// unless `--auth profile`).
    #[arg(long)]
    pub profile: Option<String>,
    /// Whose credential goes upstream: `app` (the application's own `api-key` /
    /// `Authorization`, passed through) or `profile` (the profile's key or Entra token,
    /// refreshed; the application may then send a dummy key). `profile` needs --profile.
    #[arg(long, default_value = "app", value_parser = ["app", "profile"])]
    pub auth: String,
    /// With `--auth profile`: a local shared secret the application must send (as its
    /// `api-key` or `Bearer` token), so that other users of the machine cannot borrow the
    /// profile's credential through the proxy. From the environment (`AOAI_PROXY_KEY`), as
    /// the command line is visible to them in `ps`.
    #[arg(
        long,
        env = "AOAI_PROXY_KEY",
        hide_env_values = true,
        value_name = "SECRET",
        value_parser = super::parse_secret
    )]
    pub proxy_key: Option<crate::azure::Secret>,
    /// The config file with profiles (default: the platform config dir).
    #[arg(long, env = "AOAI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Record every chat / Responses call into this scenario file (appending).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Inject a fault (repeatable): 429:P, 500:P, cut-stream:P, slow-first-token:2s[:P].
    #[arg(long, value_name = "SPEC")]
    pub inject: Vec<InjectSpec>,
    /// Seed of the fault draws (the same seed injects into the same calls).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Price table file (TOML); the built-in table without it.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Time allowed for the upstream's response headers, seconds; past it the application
    /// gets a 504 (`UpstreamTimeout`).
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    pub first_byte_timeout: f64,
    /// Longest silence of the upstream mid-body, seconds; past it the body breaks off.
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub idle_timeout: f64,
    /// One JSON object per call (JSON Lines) instead of a text line.
    #[arg(long)]
    pub json: bool,
}
