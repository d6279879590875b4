//! A faithful local Azure OpenAI data plane + ARM plane (axum), in-process or as `aoai sim`.
//! Wire facts: `shared/docs/azure-wire.md`; usage and config format: `docs/simulator.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = aoai::sim::Simulator::start(aoai::sim::SimConfig::instant()).await?;
//! let url = format!("{}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", sim.base_url());
//! # let _ = url;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod answers;
mod arm;
mod arm_resources;
mod completion;
pub mod config;
mod data_plane;
mod embeddings;
pub mod entra;
pub mod faults;
pub mod fleet;
pub mod gateway;
pub mod limits;
pub mod metrics;
pub mod replay;
mod respond;
mod responses;
mod responses_out;
mod sse;
mod state;
pub mod text;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{SimConfig, SimConfigError};
pub use state::SimRequestLog;

use state::Shared;

/// Entry point: `Simulator::start(cfg)` binds `127.0.0.1:0`.
pub struct Simulator;

impl Simulator {
    pub async fn start(cfg: SimConfig) -> std::io::Result<SimHandle> {
        start_on(cfg, 0).await
    }
}

/// Starts the simulator on `127.0.0.1:port` (0 = any free port).
pub async fn start_on(cfg: SimConfig, port: u16) -> std::io::Result<SimHandle> {
    // Load the tokenizer vocabulary in the background (~100 ms) instead of delaying start-up
    // (the console's first frame waits on this); a request that comes sooner waits for it.
    drop(tokio::task::spawn_blocking(crate::tokens::warm_up));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let shared = Arc::new(Shared::new(cfg, base_url));
    let app = router(shared.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let counted = shared.clone();
    let task = tokio::spawn(async move {
        // TCP_NODELAY: SSE is many small writes; with Nagle a chunk written while the
        // previous one is unacknowledged waits for the peer's delayed ACK (up to 40 ms on
        // Linux), which showed as rare multi-ms stalls under load.
        let listener = axum::serve::ListenerExt::tap_io(listener, move |tcp| {
            counted
                .connections
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(SimHandle {
        addr,
        shared,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The last 10,000 requests, oldest first.
    pub fn requests(&self) -> Vec<SimRequestLog> {
        self.shared.log_snapshot()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then aborts the rest.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// `aoai sim`: prints `listening on http://127.0.0.1:PORT` first, then serves until Ctrl+C.
pub async fn serve(port: u16, cfg: SimConfig) -> anyhow::Result<()> {
    use std::io::Write;
    let handle = start_on(cfg, port).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", handle.base_url())?;
        out.flush()?;
    }
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await;
    Ok(())
}

fn router(shared: Arc<Shared>) -> Router {
    let arm_base = "/subscriptions/{sub}";
    let acct = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{acct}";
    let router = Router::new()
        .route(
            "/openai/deployments/{deployment}/chat/completions",
            post(data_plane::classic_chat),
        )
        .route(
            "/openai/deployments/{deployment}/embeddings",
            post(embeddings::classic),
        )
        .route("/openai/v1/chat/completions", post(data_plane::v1_chat))
        .route("/openai/v1/embeddings", post(embeddings::v1))
        .route("/openai/v1/models", get(data_plane::v1_models))
        .route("/openai/v1/responses", post(responses::v1))
        .route("/openai/responses", post(responses::preview))
        .route("/models/chat/completions", post(data_plane::foundry_chat))
        .route("/subscriptions", get(arm::list_subscriptions))
        .route(
            &format!("{arm_base}/providers/Microsoft.CognitiveServices/accounts"),
            get(arm::list_accounts),
        )
        .route(acct, get(arm::get_account))
        .route(&format!("{acct}/listKeys"), post(arm::list_keys))
        .route(&format!("{acct}/deployments"), get(arm::list_deployments))
        .route(
            &format!("{acct}/deployments/{{name}}"),
            get(arm::get_deployment),
        )
        .route(
            &format!("{arm_base}/providers/Microsoft.CognitiveServices/locations/{{loc}}/usages"),
            get(arm::usages),
        )
        .route(
            &format!("{arm_base}/providers/Microsoft.CognitiveServices/locations/{{loc}}/models"),
            get(arm::models),
        )
        .route(
            &format!("{arm_base}/providers/Microsoft.CognitiveServices/modelCapacities"),
            get(arm::model_capacities),
        )
        .route(
            &format!(
                "{arm_base}/providers/Microsoft.CognitiveServices/locations/{{loc}}/modelCapacities"
            ),
            get(arm::model_capacities_in),
        )
        .route(
            &format!("{acct}/providers/Microsoft.Insights/metrics"),
            get(metrics::metrics),
        )
        .route("/msi/token", get(entra::app_service_token))
        .route("/metadata/identity/oauth2/token", get(entra::imds_token))
        .route("/{tenant}/oauth2/v2.0/token", post(entra::aad_token))
        .fallback(data_plane::not_found)
        .with_state(shared.clone());
    match &shared.cfg.gateway {
        // The gateway calls the backend with a key the backend accepts.
        Some(g) => {
            let key = shared
                .cfg
                .api_keys
                .first()
                .cloned()
                .unwrap_or_else(|| "gateway".into());
            let gw = gateway::Gateway::new(g.clone(), key);
            router.layer(axum::middleware::from_fn_with_state(gw, gateway::layer))
        }
        None => router,
    }
}
