//! Resolves connection flags (shared by the console and the headless commands) into clients:
//! a real endpoint, or the embedded simulator started in-process when no endpoint is
//! configured. Sources, strongest first: `--endpoint`/`--api-key` flags, the profile named by
//! `--profile`/`AOAI_PROFILE`, the standard env vars (`AZURE_OPENAI_ENDPOINT`,
//! `AZURE_OPENAI_API_KEY`, `OPENAI_API_VERSION`, `AZURE_SUBSCRIPTION_ID`), the config file's
//! `default_profile`, then the simulator.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::azure::arm::{AZURE_ARM_BASE, ArmClient, SIM_SUBSCRIPTION};
use crate::azure::endpoint::DEFAULT_API_VERSION;
use crate::azure::identity::{TokenProvider, entra_source};
use crate::azure::{Auth, ChatClient, ClientConfig, Endpoint, Secret, Timeouts};
use crate::config::{self, AuthConfig, Credential, Profile};
use crate::domain::call::{ApiPath, WireApi};
use crate::domain::cost::PriceTable;
use crate::domain::params::MaxTokensField;
use crate::sim::{SimConfig, SimHandle, Simulator};

pub use super::signed_in::SignedIn;
use super::signed_in::{arm_endpoint_override, discover};

/// Where to send calls and how to authenticate (the front ends fill it from their flags).
/// Without an endpoint (here, in the profile or in the environment) the embedded simulator
/// is started in-process and used.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub endpoint: Option<String>,
    /// Sent as `api-key`; as a Bearer token on the OpenAI path. A [`Secret`], so `{:?}` of
    /// the options (a panic message, a log line) never prints it.
    pub api_key: Option<Secret>,
    pub api: ApiPath,
    /// `None`: the profile's, else chat.
    pub wire_api: Option<WireApi>,
    pub api_version: String,
    /// Price table file (TOML); the built-in table without it.
    pub prices: Option<PathBuf>,
    /// Seconds.
    pub connect_timeout: f64,
    /// Seconds until the response headers.
    pub first_byte_timeout: f64,
    /// Longest silence between stream events, seconds.
    pub idle_timeout: f64,
    pub profile: Option<String>,
    /// The config file with profiles (default: the platform config dir).
    pub config: Option<PathBuf>,
    pub max_tokens_field: Option<MaxTokensField>,
    /// The embedded simulator's configuration, when it is used (default: the default
    /// fleet); e.g. a compare set's `simulator` file with its answer rules.
    pub sim_config: Option<SimConfig>,
    /// `--sim`: the embedded simulator even when the az CLI is signed in.
    pub force_sim: bool,
    /// The deployment the command will use, when it knows (`-d`): with zero-config, the
    /// account that holds it gives the endpoint.
    pub deployment: Option<String>,
}

impl Default for ConnectOptions {
    /// The flags' defaults: classic path, the default api-version, 10 / 120 / 60 s.
    fn default() -> Self {
        ConnectOptions {
            endpoint: None,
            api_key: None,
            api: ApiPath::Classic,
            wire_api: None,
            api_version: DEFAULT_API_VERSION.to_string(),
            prices: None,
            connect_timeout: 10.0,
            first_byte_timeout: 120.0,
            idle_timeout: 60.0,
            profile: None,
            config: None,
            max_tokens_field: None,
            sim_config: None,
            force_sim: false,
            deployment: None,
        }
    }
}

/// Deployment used against the simulator when none is named.
pub const SIM_DEFAULT_DEPLOYMENT: &str = "gpt-4o";

pub struct Connection {
    pub client: ChatClient,
    /// Kept alive for as long as the connection is used.
    pub sim: Option<SimHandle>,
    /// ARM reads (accounts, deployments, quota, metrics): the simulator's, or real ARM when
    /// the profile / `AZURE_SUBSCRIPTION_ID` names a subscription.
    pub arm: Option<ArmClient>,
    /// All subscriptions to browse (the first is `arm`'s).
    pub subscriptions: Vec<String>,
    /// The profile in use, if any.
    pub profile: Option<String>,
    /// The profile's default deployment (zero-config: the one found).
    pub default_deployment: Option<String>,
    /// Zero-config: who is signed in with the az CLI, and where.
    pub signed_in: Option<SignedIn>,
    /// Zero-config: `(id, display name)` of every subscription to switch to, the one in use
    /// first.
    pub named_subscriptions: Vec<(String, String)>,
    /// The connections `failover:PROFILE/DEPLOYMENT` sends to, kept alive with this one.
    pub failovers: Vec<Connection>,
    /// Where the data-plane credential came from (`the --api-key flag`, `profile `p`
    /// auth.key_env AZURE_KEY`, …), for `aoai doctor`; never the secret.
    pub auth_source: String,
}

impl Connection {
    /// For `failover:PROFILE/DEPLOYMENT`: connects that profile (its endpoint and
    /// credential, none of `args`' endpoint or key) and registers it on this client, so a
    /// 429 or 5xx here sends the call once to that resource.
    pub async fn connect_failover(
        &mut self,
        retry: &crate::domain::retry::RetryPolicy,
        args: &ConnectOptions,
    ) -> anyhow::Result<()> {
        let crate::domain::retry::RetryPolicy::Failover { deployment } = retry else {
            return Ok(());
        };
        let (Some(profile), _) = crate::domain::retry::failover_target(deployment) else {
            return Ok(());
        };
        let opts = ConnectOptions {
            endpoint: None,
            api_key: None,
            profile: Some(profile.to_string()),
            force_sim: true,
            deployment: None,
            ..args.clone()
        };
        let other = connect(&opts)
            .await
            .with_context(|| format!("connecting the failover profile `{profile}`"))?;
        self.client = self
            .client
            .clone()
            .with_failover(profile, other.client.clone());
        self.failovers.push(other);
        Ok(())
    }

    pub fn is_sim(&self) -> bool {
        self.sim.is_some()
    }

    /// The deployment to use: `flag` (`-d` / `AZURE_OPENAI_DEPLOYMENT`), else the profile's,
    /// else `gpt-4o` on the simulator.
    pub fn deployment(&self, flag: Option<&String>) -> anyhow::Result<String> {
        match (flag, &self.default_deployment, self.is_sim()) {
            (Some(d), _, _) => Ok(d.clone()),
            (None, Some(d), _) => Ok(d.clone()),
            (None, None, true) => Ok(SIM_DEFAULT_DEPLOYMENT.to_string()),
            (None, None, false) => bail!(
                "no deployment: pass --deployment, set AZURE_OPENAI_DEPLOYMENT, or set `deployment` in the profile"
            ),
        }
    }

    /// One ARM client per subscription.
    pub fn arm_clients(&self) -> Vec<ArmClient> {
        match &self.arm {
            None => vec![],
            Some(a) => self
                .subscriptions
                .iter()
                .map(|s| a.for_subscription(s))
                .collect(),
        }
    }
}

fn secs(name: &str, v: f64) -> anyhow::Result<Duration> {
    if !(v.is_finite() && v > 0.0) {
        bail!("--{name} must be a positive number of seconds, got {v}");
    }
    Ok(Duration::from_secs_f64(v))
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn nonempty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The profile to use: `--profile` (or `AOAI_PROFILE`) must exist; the file's
/// `default_profile` applies only when no endpoint came from flags or the environment.
fn select_profile(args: &ConnectOptions) -> anyhow::Result<(Option<Profile>, bool)> {
    let file = config::load(args.config.as_deref())?;
    let explicit = nonempty(args.profile.as_deref());
    match (file, explicit) {
        (None, Some(name)) => {
            let where_ = config::config_path(args.config.as_deref()).map_or_else(
                || "no config dir".to_string(),
                |(p, _)| p.display().to_string(),
            );
            bail!("no profile `{name}`: no config file at {where_} (see `aoai config path`)")
        }
        (None, None) => Ok((None, false)),
        (Some(f), Some(name)) => Ok((f.select(Some(&name))?.cloned(), true)),
        (Some(f), None) => Ok((f.select(None)?.cloned(), false)),
    }
}

/// Data-plane auth from a profile's `auth`.
pub fn profile_auth(auth: &AuthConfig, api: ApiPath) -> anyhow::Result<Auth> {
    match auth {
        AuthConfig::Key {
            header,
            key,
            key_env,
            key_file,
        } => {
            let k = if let Some(k) = key {
                k.clone()
            } else if let Some(name) = key_env {
                env_var(name)
                    .with_context(|| format!("the profile's key_env `{name}` is not set"))?
            } else if let Some(path) = key_file {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading key_file {}", path.display()))?;
                text.lines().next().unwrap_or("").trim().to_string()
            } else {
                bail!("the profile's key auth has no key")
            };
            if k.is_empty() {
                bail!("the profile's API key is empty");
            }
            if let Some(h) = header {
                let name =
                    reqwest::header::HeaderName::from_bytes(h.as_bytes()).with_context(|| {
                        format!("the profile's auth.header `{h}` is not a header name")
                    })?;
                return Ok(Auth::Header {
                    name,
                    key: Secret::new(k),
                });
            }
            Ok(match api {
                ApiPath::Openai => Auth::Bearer(Secret::new(k)),
                _ => Auth::ApiKey(Secret::new(k)),
            })
        }
        AuthConfig::Entra {
            credential,
            client_id,
            tenant_id,
        } => Ok(Auth::Token(entra_provider(
            *credential,
            client_id.as_deref(),
            tenant_id.as_deref(),
        )?)),
    }
}

fn entra_provider(
    c: Credential,
    client_id: Option<&str>,
    tenant_id: Option<&str>,
) -> anyhow::Result<TokenProvider> {
    let source = entra_source(c, client_id, tenant_id).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(TokenProvider::new(source))
}

/// The profile that applies: `--profile`, else the file's default unless an endpoint came
/// from a flag or the environment.
fn effective_profile(args: &ConnectOptions) -> anyhow::Result<Option<Profile>> {
    let (profile, explicit_profile) = select_profile(args)?;
    Ok(match profile {
        Some(_) if !explicit_profile && endpoint_outside_profile(args) => None,
        p => p,
    })
}

/// A value equal to its env var came from the environment (clap `env`), not a flag.
fn from_env(v: &Option<String>, name: &str) -> bool {
    v.as_deref().map(str::trim) == env_var(name).as_deref()
}

fn flag_endpoint(args: &ConnectOptions) -> Option<String> {
    nonempty(args.endpoint.as_deref())
        .filter(|_| !from_env(&args.endpoint, "AZURE_OPENAI_ENDPOINT"))
}

fn endpoint_outside_profile(args: &ConnectOptions) -> bool {
    flag_endpoint(args).is_some() || env_var("AZURE_OPENAI_ENDPOINT").is_some()
}

/// The body field for the output budget: `--max-tokens-field`, else the profile's
/// `max_tokens_field`, else `max_completion_tokens`.
pub fn max_tokens_field(args: &ConnectOptions) -> anyhow::Result<MaxTokensField> {
    if let Some(f) = args.max_tokens_field {
        return Ok(f);
    }
    Ok(effective_profile(args)?
        .and_then(|p| p.max_tokens_field)
        .unwrap_or_default())
}

pub async fn connect(args: &ConnectOptions) -> anyhow::Result<Connection> {
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
    // Without an explicit --profile, environment variables beat the file's default profile.
    let profile = effective_profile(args)?;
    let flag_endpoint = flag_endpoint(args);
    let env_endpoint = env_var("AZURE_OPENAI_ENDPOINT");
    let profile_endpoint = profile.as_ref().and_then(|p| p.endpoint.clone());
    let use_sim = profile.as_ref().is_some_and(|p| p.simulator);
    let endpoint_arg = if use_sim {
        None
    } else {
        flag_endpoint.or(profile_endpoint).or(env_endpoint)
    };
    let api = match (args.api, profile.as_ref().and_then(|p| p.api)) {
        (ApiPath::Classic, Some(p)) => p,
        (a, _) => a,
    };
    let api_version = match profile.as_ref().and_then(|p| p.api_version.clone()) {
        Some(v)
            if args.api_version == DEFAULT_API_VERSION
                || from_env(&Some(args.api_version.clone()), "OPENAI_API_VERSION") =>
        {
            v
        }
        _ => args.api_version.clone(),
    };
    let flag_key = nonempty(args.api_key.as_ref().map(Secret::expose)).filter(|_| {
        !from_env(
            &args.api_key.as_ref().map(|k| k.expose().to_string()),
            "AZURE_OPENAI_API_KEY",
        )
    });
    let mut subscriptions = profile
        .as_ref()
        .map(|p| p.subscriptions.clone())
        .unwrap_or_default();
    if subscriptions.is_empty()
        && let Some(s) = env_var("AZURE_SUBSCRIPTION_ID")
    {
        subscriptions.push(s);
    }
    // Zero-config: nothing configured, but the az CLI is signed in.
    let mut signed_in = None;
    let mut named_subscriptions = Vec::new();
    let mut default_deployment = profile.as_ref().and_then(|p| p.deployment.clone());
    let mut auth_source = "the embedded simulator's key".to_string();
    let az = match (&endpoint_arg, &profile, args.force_sim) {
        (None, None, false) => crate::config::az_cli::load().unwrap_or(None),
        _ => None,
    };
    let (endpoint, auth, sim, arm) = match (endpoint_arg, az) {
        (None, Some(az)) => {
            let hint =
                nonempty(args.deployment.as_deref()).or_else(|| env_var("AZURE_OPENAI_DEPLOYMENT"));
            let found = discover(&az, hint.as_deref()).await?;
            subscriptions = found
                .subscriptions
                .iter()
                .map(|(id, _)| id.clone())
                .collect();
            named_subscriptions = found.subscriptions;
            auth_source = format!("the az CLI (signed in as {})", found.signed_in.user);
            signed_in = Some(found.signed_in);
            default_deployment = found.deployment;
            (found.endpoint, found.auth, None, Some(found.arm))
        }
        (endpoint_arg, _) => match endpoint_arg {
            Some(e) => {
                let endpoint = Endpoint::parse(&e)?;
                let auth = match (flag_key, profile.as_ref().and_then(|p| p.auth.as_ref())) {
                    (Some(k), _) => {
                        auth_source = "the --api-key flag".to_string();
                        key_auth(k, api)
                    }
                    (None, Some(a)) => {
                        auth_source = profile_auth_source(profile.as_ref(), a);
                        profile_auth(a, api)?
                    }
                    (None, None) => match env_var("AZURE_OPENAI_API_KEY") {
                        Some(k) => {
                            auth_source = "AZURE_OPENAI_API_KEY".to_string();
                            key_auth(k, api)
                        }
                        None => bail!(
                            "no credentials for {}: pass --api-key, set AZURE_OPENAI_API_KEY, or give the profile an `auth` (key or entra; see docs/azure.md)",
                            endpoint.host()
                        ),
                    },
                };
                let arm = if subscriptions.is_empty() {
                    None
                } else {
                    let arm_auth = match &auth {
                        Auth::Token(p) => Auth::Token(p.clone()),
                        // ARM always needs Entra ID: the developer tools (or managed identity).
                        _ => Auth::Token(entra_provider(Credential::Auto, None, None)?),
                    };
                    let base = profile
                        .as_ref()
                        .and_then(|p| p.arm_endpoint.clone())
                        .or_else(arm_endpoint_override)
                        .unwrap_or_else(|| AZURE_ARM_BASE.to_string());
                    Some(ArmClient::with_auth(&base, arm_auth, &subscriptions[0])?)
                };
                (endpoint, auth, None, arm)
            }
            None => {
                let sim = EmbeddedSim::start_with(args.sim_config.clone()).await?;
                subscriptions = vec![SIM_SUBSCRIPTION.to_string()];
                (sim.endpoint, sim.auth, Some(sim.handle), Some(sim.arm))
            }
        },
    };
    let wire_api = args
        .wire_api
        .or(profile.as_ref().and_then(|p| p.wire_api))
        .unwrap_or_default();
    let cfg = ClientConfig {
        endpoint,
        api,
        wire_api,
        api_version,
        auth,
        timeouts,
        prices: Arc::new(prices),
        gateway: profile
            .as_ref()
            .map(|p| p.gateway.clone())
            .unwrap_or_default(),
    };
    let client = ChatClient::new(cfg).context("building the HTTP client")?;
    Ok(Connection {
        client,
        sim,
        arm,
        subscriptions,
        profile: profile.as_ref().map(|p| p.name.clone()),
        default_deployment,
        signed_in,
        named_subscriptions,
        failovers: Vec::new(),
        auth_source,
    })
}

/// Where a profile's credential comes from, for display (never the secret).
fn profile_auth_source(profile: Option<&Profile>, auth: &AuthConfig) -> String {
    let name = profile.map_or(String::new(), |p| format!("profile `{}` ", p.name));
    match auth {
        AuthConfig::Key { key: Some(_), .. } => format!("{name}auth.key"),
        AuthConfig::Key {
            key_env: Some(v), ..
        } => format!("{name}auth.key_env ({v})"),
        AuthConfig::Key {
            key_file: Some(f), ..
        } => format!("{name}auth.key_file ({})", f.display()),
        AuthConfig::Key { .. } => format!("{name}auth"),
        AuthConfig::Entra { .. } => format!("{name}auth (entra)"),
    }
}

/// The endpoint [`connect`] would use, without building anything (`None`: the embedded
/// simulator, or zero-config discovery): `--endpoint`, else the profile's, else
/// `AZURE_OPENAI_ENDPOINT`.
pub fn endpoint_in_use(args: &ConnectOptions) -> anyhow::Result<Option<String>> {
    let profile = effective_profile(args)?;
    if profile.as_ref().is_some_and(|p| p.simulator) {
        return Ok(None);
    }
    Ok(flag_endpoint(args)
        .or(profile.and_then(|p| p.endpoint))
        .or_else(|| env_var("AZURE_OPENAI_ENDPOINT")))
}

/// The embedded simulator (the default fleet) and what talks to it.
pub struct EmbeddedSim {
    pub handle: SimHandle,
    pub endpoint: Endpoint,
    pub auth: Auth,
    pub arm: ArmClient,
}

impl EmbeddedSim {
    pub async fn start() -> anyhow::Result<EmbeddedSim> {
        Self::start_with(None).await
    }

    /// The embedded simulator with `cfg` (the default fleet without one).
    pub async fn start_with(cfg: Option<SimConfig>) -> anyhow::Result<EmbeddedSim> {
        let handle = Simulator::start(cfg.unwrap_or_else(SimConfig::default_fleet))
            .await
            .context("starting the embedded simulator")?;
        let endpoint = Endpoint::parse(&handle.base_url())?;
        let arm = ArmClient::new(
            &handle.base_url(),
            Secret::new("simulator"),
            SIM_SUBSCRIPTION,
        )?;
        Ok(EmbeddedSim {
            handle,
            endpoint,
            auth: Auth::ApiKey(Secret::new("simulator")),
            arm,
        })
    }

    /// A connection to a fresh embedded simulator that keeps `base`'s API path, timeouts and
    /// prices (a console switching to the simulator profile).
    pub async fn connect(base: ClientConfig) -> anyhow::Result<Connection> {
        let sim = EmbeddedSim::start().await?;
        let cfg = ClientConfig {
            endpoint: sim.endpoint,
            auth: sim.auth,
            ..base
        };
        Ok(Connection {
            client: ChatClient::new(cfg)?,
            sim: Some(sim.handle),
            arm: Some(sim.arm),
            subscriptions: vec![SIM_SUBSCRIPTION.to_string()],
            profile: None,
            default_deployment: None,
            signed_in: None,
            named_subscriptions: Vec::new(),
            failovers: Vec::new(),
            auth_source: "the embedded simulator's key".to_string(),
        })
    }
}

fn key_auth(k: String, api: ApiPath) -> Auth {
    match api {
        ApiPath::Openai => Auth::Bearer(Secret::new(k)),
        _ => Auth::ApiKey(Secret::new(k)),
    }
}
