//! The executor's Azure work beyond plain ARM reads: rebuilding the data-plane client on
//! another endpoint (same auth source), ARM pricing of finished calls, Azure Monitor reads
//! and profile connections. Results go back as [`ArmMsg::Metrics`] and [`ProfileMsg`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::Executor;
use crate::azure::arm::{ArmError, ModelRef};
use crate::azure::{ClientConfig, Endpoint};
use crate::domain::call::CallRecord;
use crate::domain::cost::PriceTable;
use crate::engine::connect::ConnectOptions;
use crate::engine::connect::{Connection, EmbeddedSim};
use crate::tui::event::{ArmMsg, ConnSlot, ProfileError, ProfileInfo, ProfileMsg};
use crate::tui::messages::{OpenTarget, ProfileEffect};

/// What the browser's embeddings call embeds: one short sentence.
pub const EMBED_PROBE_TEXT: &str = "The quick brown fox jumps over the lazy dog.";

/// The profile name that picks the embedded simulator.
pub const SIMULATOR_PROFILE: &str = "simulator";

/// Executor state for these features.
#[derive(Default)]
pub struct AzureExec {
    /// The console's connection flags (profile switching reuses timeouts, prices, config).
    conn_args: Option<ConnectOptions>,
    /// Deployment name → its ARM model, for pricing.
    models: Arc<HashMap<String, ModelRef>>,
    /// A connection installed by a profile switch (keeps its simulator alive).
    conn: Option<Connection>,
}

/// The ARM models calls are priced on, shared with call tasks.
pub type Pricing = Arc<HashMap<String, ModelRef>>;

/// Re-prices a finished call on its deployment's ARM model, when known.
pub fn priced(models: &Pricing, prices: &PriceTable, mut rec: CallRecord) -> CallRecord {
    if let Some(m) = models.get(&rec.deployment) {
        m.apply_cost(&mut rec, prices);
    }
    rec
}

impl Executor {
    /// The console's connection flags, for profile switching.
    pub fn set_conn_args(&mut self, args: ConnectOptions) {
        self.azure.conn_args = Some(args);
    }

    /// The endpoint later calls go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.base.endpoint
    }

    pub(super) fn pricing(&self) -> Pricing {
        self.azure.models.clone()
    }

    pub(super) fn profile(&mut self, effect: ProfileEffect) {
        match effect {
            ProfileEffect::Connect { generation, name } => self.connect_profile(generation, name),
            ProfileEffect::Install(slot) => self.install(slot),
        }
    }

    pub(super) fn use_deployment(
        &mut self,
        name: String,
        endpoint: Option<String>,
        model: ModelRef,
    ) {
        let mut models = (*self.azure.models).clone();
        models.insert(name, model);
        self.azure.models = Arc::new(models);
        let Some(parsed) = endpoint.as_deref().and_then(|e| Endpoint::parse(e).ok()) else {
            return;
        };
        if parsed == self.base.endpoint {
            return;
        }
        // Same auth source (key, or the Entra token provider) against the account's endpoint.
        self.base = ClientConfig {
            endpoint: parsed,
            ..self.base.clone()
        };
        self.clients.clear();
    }

    /// One probe round over every chat deployment of every account (the subscription
    /// browsed), each on its account's endpoint with this connection's credential.
    pub(super) fn probe(&self) {
        let tx = self.tx.clone();
        let Some(arm) = self.arm.clone() else {
            tx.probed(Err(super::NO_ARM.into()));
            return;
        };
        let base = self.base.clone();
        tokio::spawn(async move {
            use crate::engine::probe;
            let result = async {
                let views = probe::discover(std::slice::from_ref(&arm))
                    .await
                    .map_err(|e| e.to_string())?;
                let targets = probe::targets(&views, &[])?;
                let clients = probe::clients(&base, &targets).map_err(|e| e.to_string())?;
                let cancel = tokio_util::sync::CancellationToken::new();
                let records = probe::round(&clients, &targets, 1, &cancel).await;
                Ok(targets.into_iter().zip(records).collect())
            }
            .await;
            tx.probed(result);
        });
    }

    /// One embeddings call to `t` on its account's endpoint (same auth), off the loop; the
    /// record comes back as [`ArmMsg::Embedded`].
    pub(super) fn embed(&self, t: OpenTarget) {
        let endpoint = t
            .endpoint
            .as_deref()
            .and_then(|e| Endpoint::parse(e).ok())
            .unwrap_or_else(|| self.base.endpoint.clone());
        let cfg = ClientConfig {
            endpoint,
            ..self.base.clone()
        };
        let spec = crate::domain::embeddings::EmbedSpec {
            deployment: t.name.clone(),
            inputs: vec![EMBED_PROBE_TEXT.to_string()],
            dimensions: None,
        };
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let record = match crate::azure::ChatClient::new(cfg) {
                Ok(client) => {
                    let cancel = tokio_util::sync::CancellationToken::new();
                    let started = std::time::SystemTime::now();
                    let record = client.embed(&spec, &cancel).await;
                    crate::engine::telemetry::embeddings_finished(
                        client.config(),
                        &spec,
                        &record,
                        started,
                    );
                    record
                }
                Err(e) => crate::domain::embeddings::EmbedRecord {
                    deployment: spec.deployment,
                    error: Some(crate::domain::call::CallError::new(
                        crate::domain::call::ErrorKind::Connect,
                        e.to_string(),
                    )),
                    ..Default::default()
                },
            };
            tx.arm(ArmMsg::Embedded(Box::new(record)));
        });
    }

    pub(super) fn load_metrics(&self, account_id: String, deployment: String) {
        let tx = self.tx.clone();
        let Some(arm) = self.arm.clone() else {
            tx.arm(ArmMsg::Metrics {
                account_id,
                deployment,
                result: Err(ArmError::Auth(
                    "no ARM access: the profile names no subscription".into(),
                )),
            });
            return;
        };
        tokio::spawn(async move {
            let result =
                crate::azure::monitor::deployment_metrics(&arm, &account_id, &deployment).await;
            tx.arm(ArmMsg::Metrics {
                account_id,
                deployment,
                result,
            });
        });
    }

    fn connect_profile(&self, generation: u64, name: String) {
        let tx = self.tx.clone();
        let args = self.azure.conn_args.clone();
        let base = self.base.clone();
        tokio::spawn(async move {
            let result = connect_named(args, base, &name).await;
            let (result, slot) = match result {
                Ok(c) => {
                    // A profile is switched to even when its endpoint is down, but it says so.
                    let warning = match &c.sim {
                        Some(_) => None,
                        None => probe(&c.client.config().endpoint, PROBE_WAIT).await,
                    };
                    let info = ProfileInfo {
                        name: name.clone(),
                        endpoint_label: match &c.sim {
                            Some(_) => "in-process".to_string(),
                            None => format!("{} ({name})", c.client.config().endpoint.host()),
                        },
                        sim: c.is_sim(),
                        deployment: c.default_deployment.clone(),
                        warning,
                    };
                    (Ok(info), ConnSlot::new(c))
                }
                Err(e) => (Err(e), ConnSlot::default()),
            };
            tx.profile(ProfileMsg::Ready {
                generation,
                result,
                slot,
            });
        });
    }

    fn install(&mut self, slot: ConnSlot) {
        let Some(conn) = slot.take() else {
            return;
        };
        self.base = conn.client.config().clone();
        self.clients.clear();
        self.clients
            .insert(self.base.api.as_str(), conn.client.clone());
        self.arm = conn.arm.clone();
        self.azure.models = Arc::default();
        self.record_profile = if conn.is_sim() {
            Some(SIMULATOR_PROFILE.into())
        } else {
            conn.profile.clone()
        };
        // The previous switched-to connection (and its simulator) ends here.
        self.azure.conn = Some(conn);
    }
}

/// Connects with profile `name` (`simulator`: a fresh embedded simulator).
async fn connect_named(
    args: Option<ConnectOptions>,
    base: ClientConfig,
    name: &str,
) -> Result<Connection, ProfileError> {
    let connected = if name == SIMULATOR_PROFILE {
        EmbeddedSim::connect(base).await
    } else {
        let Some(mut args) = args else {
            return Err(ProfileError::NoConnectionFlags);
        };
        // The profile decides the endpoint and credentials, not the flags the console began with.
        args.profile = Some(name.to_string());
        args.endpoint = None;
        args.api_key = None;
        crate::engine::connect::connect(&args).await
    };
    connected.map_err(|e| ProfileError::Connect(format!("{e:#}")))
}

/// How long a profile switch waits to see whether the endpoint accepts a connection.
const PROBE_WAIT: Duration = Duration::from_secs(3);

/// Whether `endpoint` accepts a TCP connection within `wait`: `None` when it does, else why not.
pub async fn probe(endpoint: &Endpoint, wait: Duration) -> Option<String> {
    let host = endpoint.host();
    let has_port = host.rsplit_once(':').is_some_and(|(h, p)| {
        !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && !host.ends_with(']')
    });
    let addr = if has_port {
        host
    } else {
        let port = if endpoint.as_str().starts_with("http://") {
            80
        } else {
            443
        };
        format!("{host}:{port}")
    };
    match tokio::time::timeout(wait, tokio::net::TcpStream::connect(&addr)).await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(format!("{addr} is not reachable ({e})")),
        Err(_) => Some(format!("{addr} did not answer within {} s", wait.as_secs())),
    }
}

#[cfg(test)]
mod probe_tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_reported_and_an_open_one_is_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        assert_eq!(probe(&open, Duration::from_secs(10)).await, None);
        drop(listener);
        let closed = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let w = probe(&closed, Duration::from_secs(10)).await;
        assert!(
            w.as_deref().is_some_and(|w| w.contains("not reachable")),
            "{w:?}"
        );
    }
}
