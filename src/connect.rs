//! Resolves connection flags (shared by the console and the headless commands) into a client: a real endpoint, or the embedded simulator
//! started in-process when no endpoint is configured.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::azure::{Auth, ChatClient, ClientConfig, Endpoint, Secret, Timeouts};
use crate::cli::ConnArgs;
use crate::domain::call::ApiPath;
use crate::domain::cost::PriceTable;
use crate::sim::{SimConfig, SimHandle, Simulator};

/// Deployment used against the simulator when none is named.
pub const SIM_DEFAULT_DEPLOYMENT: &str = "gpt-4o";

pub struct Connection {
    pub client: ChatClient,
    /// Kept alive for as long as the connection is used.
    pub sim: Option<SimHandle>,
}

impl Connection {
    pub fn is_sim(&self) -> bool {
        self.sim.is_some()
    }
}

fn secs(name: &str, v: f64) -> anyhow::Result<Duration> {
    if !(v.is_finite() && v > 0.0) {
        bail!("--{name} must be a positive number of seconds, got {v}");
    }
    Ok(Duration::from_secs_f64(v))
}

pub async fn connect(args: &ConnArgs) -> anyhow::Result<Connection> {
    let timeouts = Timeouts {
        connect: secs("connect-timeout", args.connect_timeout)?,
        first_byte: secs("first-byte-timeout", args.first_byte_timeout)?,
        idle: secs("idle-timeout", args.idle_timeout)?,
    };
    let prices = match &args.prices {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading price table {}", path.display()))?;
            PriceTable::parse(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => PriceTable::builtin(),
    };
    let endpoint_arg = args
        .endpoint
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let (endpoint, auth, sim) = match endpoint_arg {
        Some(e) => {
            let endpoint = Endpoint::parse(e)?;
            let key = args
                .api_key
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty());
            let auth = match (key, args.api) {
                (Some(k), ApiPath::Openai) => Auth::Bearer(Secret::new(k)),
                (Some(k), _) => Auth::ApiKey(Secret::new(k)),
                (None, _) => bail!(
                    "no API key for {}: pass --api-key or set AZURE_OPENAI_API_KEY",
                    endpoint.host()
                ),
            };
            (endpoint, auth, None)
        }
        None => {
            let handle = Simulator::start(SimConfig::default_fleet())
                .await
                .context("starting the embedded simulator")?;
            let endpoint = Endpoint::parse(&handle.base_url())?;
            (
                endpoint,
                Auth::ApiKey(Secret::new("simulator")),
                Some(handle),
            )
        }
    };
    let cfg = ClientConfig {
        endpoint,
        api: args.api,
        api_version: args.api_version.clone(),
        auth,
        timeouts,
        prices: Arc::new(prices),
    };
    let client = ChatClient::new(cfg).context("building the HTTP client")?;
    Ok(Connection { client, sim })
}
