//! The executor's side of [`ConsoleEffect`]s: rebuilding the data-plane client on another
//! endpoint (same auth source), ARM pricing of finished calls, Azure Monitor reads, profile
//! connections and bench runs. Every result goes back as an [`AppEvent::Console`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Executor;
use crate::azure::arm::ModelRef;
use crate::azure::{ChatClient, ClientConfig, Endpoint};
use crate::domain::call::CallRecord;
use crate::domain::cost::PriceTable;
use crate::domain::ptu::DeploymentType;
use crate::domain::retry::RetryPolicy;
use crate::engine::bench::{self, LoadError, LoadPlan, PromptTemplate, PtuTarget};
use crate::engine::connect::ConnectOptions;
use crate::engine::connect::{Connection, EmbeddedSim};
use crate::tui::event::{AppEvent, AppEventSender};
use crate::tui::ops::{BenchSpec, ConnSlot, ConsoleEffect, ConsoleMsg, ProfileInfo};

/// The profile name that picks the embedded simulator.
pub const SIMULATOR_PROFILE: &str = "simulator";

/// Executor state for these features.
#[derive(Default)]
pub struct ExecOps {
    /// The console's connection flags (profile switching reuses timeouts, prices, config).
    conn_args: Option<ConnectOptions>,
    /// Deployment name → its ARM model, for pricing.
    models: Arc<HashMap<String, ModelRef>>,
    /// The bench run in flight.
    bench: Option<CancellationToken>,
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
        self.ops.conn_args = Some(args);
    }

    /// The endpoint later calls go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.base.endpoint
    }

    pub(super) fn pricing(&self) -> Pricing {
        self.ops.models.clone()
    }

    pub(super) fn console(&mut self, effect: ConsoleEffect) {
        match effect {
            ConsoleEffect::UseDeployment {
                name,
                endpoint,
                model,
            } => self.use_deployment(name, endpoint, model),
            ConsoleEffect::LoadMetrics {
                account_id,
                deployment,
            } => self.load_metrics(account_id, deployment),
            ConsoleEffect::ConnectProfile { generation, name } => {
                self.connect_profile(generation, name)
            }
            ConsoleEffect::InstallProfile(slot) => self.install(slot),
            ConsoleEffect::StartBench {
                generation,
                spec,
                deployment,
                api,
                model,
            } => self.start_bench(generation, spec, deployment, api, model),
            ConsoleEffect::StopBench => {
                if let Some(t) = self.ops.bench.take() {
                    t.cancel();
                }
            }
        }
    }

    fn use_deployment(&mut self, name: String, endpoint: Option<String>, model: ModelRef) {
        let mut models = (*self.ops.models).clone();
        models.insert(name, model);
        self.ops.models = Arc::new(models);
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

    fn load_metrics(&self, account_id: String, deployment: String) {
        let tx = self.tx.clone();
        let Some(arm) = self.arm.clone() else {
            tx.send(AppEvent::Console(ConsoleMsg::Metrics {
                account_id,
                deployment,
                result: Err("no ARM access: the profile names no subscription".into()),
            }));
            return;
        };
        tokio::spawn(async move {
            let result = crate::azure::monitor::deployment_metrics(&arm, &account_id, &deployment)
                .await
                .map_err(|e| e.to_string());
            tx.send(AppEvent::Console(ConsoleMsg::Metrics {
                account_id,
                deployment,
                result,
            }));
        });
    }

    fn connect_profile(&self, generation: u64, name: String) {
        let tx = self.tx.clone();
        let args = self.ops.conn_args.clone();
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
                Err(e) => (Err(format!("{e:#}")), ConnSlot::default()),
            };
            tx.send(AppEvent::Console(ConsoleMsg::ProfileReady {
                generation,
                result,
                slot,
            }));
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
        self.ops.models = Arc::default();
        self.record_profile = if conn.is_sim() {
            Some(SIMULATOR_PROFILE.into())
        } else {
            conn.profile.clone()
        };
        // The previous switched-to connection (and its simulator) ends here.
        self.ops.conn = Some(conn);
    }

    fn start_bench(
        &mut self,
        generation: u64,
        spec: BenchSpec,
        deployment: String,
        api: crate::domain::call::ApiPath,
        model: Option<ModelRef>,
    ) {
        if let Some(t) = self.ops.bench.take() {
            t.cancel();
        }
        let tx = self.tx.clone();
        let Some(client) = self.client(api) else {
            done(
                &tx,
                generation,
                Err("could not build the HTTP client".into()),
            );
            return;
        };
        let cancel = CancellationToken::new();
        self.ops.bench = Some(cancel.clone());
        tokio::spawn(run_bench(
            client, tx, generation, spec, deployment, model, cancel,
        ));
    }
}

fn done(
    tx: &AppEventSender,
    generation: u64,
    result: Result<Box<crate::domain::stats::BenchReport>, String>,
) {
    tx.send(AppEvent::Console(ConsoleMsg::BenchDone {
        generation,
        result,
    }));
}

async fn run_bench(
    client: ChatClient,
    tx: AppEventSender,
    generation: u64,
    spec: BenchSpec,
    deployment: String,
    model: Option<ModelRef>,
    cancel: CancellationToken,
) {
    let (p, c) = (spec.prompt_tokens, spec.max_tokens);
    let template = match tokio::task::spawn_blocking(move || PromptTemplate::new(p, c)).await {
        Ok(t) => t,
        Err(e) => return done(&tx, generation, Err(format!("building the prompt: {e}"))),
    };
    let plan = LoadPlan {
        deployment: deployment.clone(),
        template: Arc::new(template),
        pacing: spec.pacing,
        duration: spec.duration,
        report_every: Duration::from_secs(1),
        retry: RetryPolicy::None,
        max_in_flight: 1000,
        connections: None,
        drain: Duration::from_secs(10),
    };
    let reports = tx.clone();
    let mut on_report = move |r: &crate::domain::stats::BenchReport| {
        reports.send(AppEvent::Console(ConsoleMsg::BenchReport {
            generation,
            report: Box::new(r.clone()),
        }));
    };
    let ptu = match &model {
        Some(m) => PtuTarget {
            model: Some(m.priced_name()),
            kind: DeploymentType::of_sku(&m.sku),
        },
        None => PtuTarget::default(),
    };
    let result = bench::measure(&client, &plan, &cancel, None, &ptu, &mut on_report)
        .await
        .map(Box::new)
        .map_err(|LoadError::Fatal(msg)| msg);
    done(&tx, generation, result);
}

/// Connects with profile `name` (`simulator`: a fresh embedded simulator).
async fn connect_named(
    args: Option<ConnectOptions>,
    base: ClientConfig,
    name: &str,
) -> anyhow::Result<Connection> {
    if name == SIMULATOR_PROFILE {
        return EmbeddedSim::connect(base).await;
    }
    let Some(mut args) = args else {
        anyhow::bail!("profile switching needs the console's connection flags");
    };
    // The profile decides the endpoint and credentials, not the flags the console began with.
    args.profile = Some(name.to_string());
    args.endpoint = None;
    args.api_key = None;
    crate::engine::connect::connect(&args).await
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
