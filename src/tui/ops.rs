//! Typed messages of the Azure and load features of the console (issues 6 and 7): opening a
//! deployment on its account's endpoint with ARM pricing, Azure Monitor metrics, profile
//! switching and bench runs. Components return [`ConsoleCommand`]s, the app turns them into
//! [`ConsoleEffect`]s for the executor (`command/ops.rs`), and results come back as
//! [`ConsoleMsg`]s tagged with what was asked (or a generation), so stale ones are dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::azure::arm::ModelRef;
use crate::azure::monitor::DeploymentMetrics;
use crate::domain::call::ApiPath;
use crate::domain::stats::BenchReport;
use crate::engine::bench::Pacing;
use crate::engine::connect::Connection;

/// A deployment opened from the browser: where its account lives and what it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTarget {
    pub name: String,
    pub account_id: String,
    /// The account's `properties.endpoint` (the data plane to call).
    pub endpoint: Option<String>,
    pub model: ModelRef,
}

/// What a bench run asks for (from the bench form).
#[derive(Debug, Clone, PartialEq)]
pub struct BenchSpec {
    pub pacing: Pacing,
    pub duration: Duration,
    pub shape: &'static str,
    pub prompt_tokens: u32,
    pub max_tokens: u32,
}

/// A component's request in this area.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsoleCommand {
    /// Chat with this deployment, on its account's endpoint, priced on its ARM model.
    OpenDeployment(Box<OpenTarget>),
    /// Azure Monitor: the last hour of this deployment's metrics.
    LoadMetrics {
        account_id: String,
        deployment: String,
    },
    /// Switch to this config profile (or `simulator`).
    SwitchProfile(String),
    ClosePicker,
    StartBench(BenchSpec),
    StopBench,
}

/// What the executor must do.
#[derive(Debug, Clone)]
pub enum ConsoleEffect {
    /// Later calls go to `endpoint` (same auth) and calls to `name` are priced on `model`.
    UseDeployment {
        name: String,
        endpoint: Option<String>,
        model: ModelRef,
    },
    LoadMetrics {
        account_id: String,
        deployment: String,
    },
    /// Connect with this profile in the background; answer with [`ConsoleMsg::ProfileReady`].
    ConnectProfile {
        generation: u64,
        name: String,
    },
    /// Install the connection the app accepted.
    InstallProfile(ConnSlot),
    StartBench {
        generation: u64,
        spec: BenchSpec,
        deployment: String,
        api: ApiPath,
        model: Option<ModelRef>,
    },
    StopBench,
}

/// What a connected profile looks like, for the status bar.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileInfo {
    pub name: String,
    pub endpoint_label: String,
    pub sim: bool,
    pub deployment: Option<String>,
    /// The endpoint did not answer a connection attempt: calls will fail until it does.
    pub warning: Option<String>,
}

/// Results, tagged so stale ones are dropped.
#[derive(Debug)]
pub enum ConsoleMsg {
    Metrics {
        account_id: String,
        deployment: String,
        result: Result<DeploymentMetrics, String>,
    },
    ProfileReady {
        generation: u64,
        result: Result<ProfileInfo, String>,
        slot: ConnSlot,
    },
    BenchReport {
        generation: u64,
        report: Box<BenchReport>,
    },
    BenchDone {
        generation: u64,
        result: Result<Box<BenchReport>, String>,
    },
}

/// A connection handed from the connecting task, through the app (which checks the
/// generation), to the executor.
#[derive(Clone, Default)]
pub struct ConnSlot(pub Arc<Mutex<Option<Connection>>>);

impl ConnSlot {
    pub fn new(c: Connection) -> Self {
        ConnSlot(Arc::new(Mutex::new(Some(c))))
    }
    pub fn take(&self) -> Option<Connection> {
        self.0.lock().ok().and_then(|mut g| g.take())
    }
}

impl std::fmt::Debug for ConnSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnSlot(..)")
    }
}

/// The host shown in the status bar for an endpoint URL.
pub fn endpoint_host(url: &str) -> String {
    crate::azure::Endpoint::parse(url)
        .map(|e| e.host())
        .unwrap_or_else(|_| url.to_string())
}
