//! Shared test helpers: an in-process simulator on 127.0.0.1:0 and a client pointed at it.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

use aoai::azure::{Auth, CallSpec, ChatClient, ClientConfig, Endpoint, Secret, Timeouts};
use aoai::domain::call::{ApiPath, CallEvent, CallRecord};
use aoai::sim::{SimConfig, SimHandle, Simulator};
use aoai::wire::{ChatMessage, ChatRequest};
use tokio_util::sync::CancellationToken;

/// Every await in tests is bounded.
pub const LIMIT: Duration = Duration::from_secs(20);

pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test step timed out")
}

pub async fn sim_with(edit: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut cfg = SimConfig::instant();
    edit(&mut cfg);
    bounded(Simulator::start(cfg))
        .await
        .expect("simulator starts")
}

pub async fn sim() -> SimHandle {
    sim_with(|_| {}).await
}

pub fn client_for(sim: &SimHandle, api: ApiPath, auth: Auth) -> ChatClient {
    let mut cfg = ClientConfig::new(Endpoint::parse(&sim.base_url()).unwrap(), auth);
    cfg.api = api;
    cfg.timeouts = Timeouts {
        connect: Duration::from_secs(2),
        first_byte: Duration::from_secs(10),
        idle: Duration::from_secs(10),
    };
    ChatClient::new(cfg).unwrap()
}

pub fn client(sim: &SimHandle) -> ChatClient {
    client_for(sim, ApiPath::Classic, Auth::ApiKey(Secret::new("test-key")))
}

pub fn ask(deployment: &str, text: &str) -> CallSpec {
    CallSpec::new(
        deployment,
        ChatRequest {
            messages: vec![ChatMessage::new("user", text)],
            seed: Some(42),
            max_tokens: Some(60),
            ..Default::default()
        },
    )
}

pub fn with_fault(mut spec: CallSpec, kind: &str) -> CallSpec {
    spec.extra_headers.push(("x-sim-fault".into(), kind.into()));
    spec
}

/// Runs a call and returns its record and the events it reported.
pub async fn run(client: &ChatClient, spec: &CallSpec) -> (CallRecord, Vec<CallEvent>) {
    let mut events = Vec::new();
    let cancel = CancellationToken::new();
    let rec = bounded(client.run(1, spec, &cancel, &mut |e| events.push(e))).await;
    (rec, events)
}

/// The `aoai` binary with none of the user's Azure/aoai environment, so a test sees only the
/// flags it passes (and the embedded simulator when it passes no endpoint).
pub fn aoai() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("aoai").unwrap();
    for var in [
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_DEPLOYMENT",
        "OPENAI_API_VERSION",
        "AZURE_SUBSCRIPTION_ID",
        "AOAI_PROFILE",
        "AOAI_CONFIG",
    ] {
        c.env_remove(var);
    }
    c.timeout(Duration::from_secs(60));
    c
}
