//! The ARM client against the simulator's ARM plane: accounts, deployments and quota across
//! one-item pages with an empty page in between, quota lines that hold what the deployments
//! hold, paging of the model catalogue and model capacities, typed errors, 429 + Retry-After
//! honoured, Azure Monitor metrics from the simulator's request log.

mod common;

use aoai::azure::arm::{ArmClient, ArmError, Deployment, QuotaUsage, SIM_SUBSCRIPTION};
use aoai::azure::monitor::deployment_metrics;
use aoai::azure::{Auth, Secret};
use aoai::domain::call::ApiPath;
use aoai::sim::config::INSTANT_GPT4O_CAPACITY;
use aoai::sim::{SimConfig, SimHandle, Simulator};
use common::{ask, bounded, client_for, run, sim_with};

fn arm(sim: &SimHandle) -> ArmClient {
    ArmClient::with_auth(
        &sim.base_url(),
        Auth::Bearer(Secret::new("t")),
        SIM_SUBSCRIPTION,
    )
    .unwrap()
}

#[tokio::test]
async fn lists_accounts_deployments_and_quota_across_pages() {
    let sim = sim_with(|c| {
        c.arm.page_size = 1;
        c.arm.empty_page = true;
    })
    .await;
    let arm = arm(&sim);
    let accounts = bounded(arm.accounts()).await.unwrap();
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(a.location, "swedencentral");
    let deps = bounded(arm.deployments(&a.id)).await.unwrap();
    let mut names: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "gpt-4.1-ptu",
            "gpt-4o",
            "gpt-4o-mini",
            "o4-mini",
            "text-embedding-3-small"
        ]
    );
    let mini = deps.iter().find(|d| d.name == "gpt-4o-mini").unwrap();
    assert_eq!(
        (mini.sku.as_str(), mini.capacity, mini.rpm),
        ("Standard", 2, Some(12))
    );
    let quota = bounded(arm.usages(&a.location)).await.unwrap();
    // `instant()` deploys gpt-4o with capacity 1,000,000 and gives its pool the quota to
    // hold it.
    let gpt4o = line(&quota, "OpenAI.GlobalStandard.gpt-4o");
    let held = INSTANT_GPT4O_CAPACITY as f64;
    assert_eq!((gpt4o.current, gpt4o.limit), (held, held), "{gpt4o:?}");
    assert_eq!(gpt4o.label, "Tokens Per Minute (thousands) - gpt-4o");
    assert_eq!(line(&quota, "AccountCount").limit, 200.0);
    assert_holds_what_is_deployed(&deps, &quota);
}

fn line<'a>(quota: &'a [QuotaUsage], name: &str) -> &'a QuotaUsage {
    quota
        .iter()
        .find(|q| q.name == name)
        .unwrap_or_else(|| panic!("no quota line {name}: {quota:?}"))
}

/// As Azure reports it: each `OpenAI.{Sku}.{model}` line's current value is the capacity of
/// the region's deployments of that model on that SKU, and never more than its limit.
fn assert_holds_what_is_deployed(deps: &[Deployment], quota: &[QuotaUsage]) {
    for d in deps {
        let pool = format!("OpenAI.{}.{}", d.sku, d.model);
        let held: u64 = deps
            .iter()
            .filter(|o| o.sku == d.sku && o.model == d.model)
            .map(|o| o.capacity)
            .sum();
        let q = line(quota, &pool);
        assert_eq!(q.current, held as f64, "{pool}");
        assert!(q.current <= q.limit, "{q:?}");
    }
}

#[tokio::test]
async fn quota_of_the_default_fleet() {
    let sim = bounded(Simulator::start(SimConfig::default_fleet()))
        .await
        .unwrap();
    let arm = arm(&sim);
    let account = bounded(arm.accounts()).await.unwrap().remove(0);
    let deps = bounded(arm.deployments(&account.id)).await.unwrap();
    let quota = bounded(arm.usages(&account.location)).await.unwrap();
    let gpt4o = line(&quota, "OpenAI.GlobalStandard.gpt-4o");
    assert_eq!((gpt4o.current, gpt4o.limit), (450.0, 1000.0));
    let ptu = line(&quota, "OpenAI.GlobalProvisionedManaged.gpt-4.1");
    assert_eq!((ptu.current, ptu.limit), (15.0, 1000.0));
    assert_eq!(ptu.label, "Provisioned Throughput Units - gpt-4.1");
    assert_holds_what_is_deployed(&deps, &quota);
    // Another region holds none of the account's deployments.
    let elsewhere = bounded(arm.usages("eastus")).await.unwrap();
    assert!(elsewhere.iter().all(|q| q.current == 0.0), "{elsewhere:?}");
}

#[tokio::test]
async fn arm_errors_are_typed() {
    let sim = sim_with(|_| {}).await;
    let arm = ArmClient::new(&sim.base_url(), Secret::new(""), SIM_SUBSCRIPTION).unwrap();
    let err = bounded(arm.accounts()).await.unwrap_err();
    assert!(matches!(err, ArmError::Http { status: 401, .. }), "{err:?}");
}

#[tokio::test]
async fn paging_covers_catalogue_and_capacities() {
    let sim = sim_with(|c| {
        c.arm.page_size = 1;
        c.arm.empty_page = true;
    })
    .await;
    let arm = arm(&sim);
    let accounts = bounded(arm.accounts()).await.unwrap();
    assert_eq!(accounts.len(), 1);
    let deps = bounded(arm.deployments(&accounts[0].id)).await.unwrap();
    assert_eq!(deps.len(), 5);
    let models = bounded(arm.models("swedencentral")).await.unwrap();
    assert!(models.iter().any(|m| m.model == "gpt-4o"
        && m.sku == "GlobalStandard"
        && m.usage_name.starts_with("OpenAI.GlobalStandard")));
    // modelName survives onto every nextLink.
    let caps = bounded(arm.model_capacities(None, "gpt-4.1", "2025-04-14"))
        .await
        .unwrap();
    let ptu = caps
        .iter()
        .find(|c| c.location == "swedencentral" && c.sku == "GlobalProvisionedManaged")
        .unwrap();
    assert_eq!(ptu.available, 1000.0 - 15.0);
    assert!(caps.iter().any(|c| c.location == "eastus"));
    let one = bounded(arm.model_capacities(Some("eastus"), "gpt-4.1", "2025-04-14"))
        .await
        .unwrap();
    assert!(one.iter().all(|c| c.location == "eastus") && !one.is_empty());
    // Empty pages were served (page_size 1 → many requests, all 200).
    let log = sim.requests();
    assert!(
        log.iter()
            .filter(|r| r.path.ends_with("/deployments"))
            .count()
            >= 5
    );
}

#[tokio::test]
async fn throttled_reads_wait_for_retry_after_then_succeed() {
    // A bucket of 1 read refilled at 1/s: the second read gets 429 + Retry-After: 1.
    let sim = sim_with(|c| {
        c.arm.read_bucket = 1.0;
        c.arm.read_refill_per_s = 1.0;
    })
    .await;
    let arm = arm(&sim);
    bounded(arm.accounts()).await.unwrap();
    let again = bounded(arm.accounts()).await.unwrap();
    assert_eq!(again.len(), 1);
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses.first(), Some(&200));
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&200));
}

#[tokio::test]
async fn metrics_come_from_the_request_log() {
    let sim = sim_with(|_| {}).await;
    let client = client_for(&sim, ApiPath::Classic, Auth::ApiKey(Secret::new("k")));
    for _ in 0..3 {
        let (rec, _) = bounded(run(&client, &ask("gpt-4o", "hello"))).await;
        assert_eq!(rec.status, Some(200));
    }
    let (rec, _) = bounded(run(&client, &common::with_fault(ask("gpt-4o", "x"), "429"))).await;
    assert_eq!(rec.status, Some(429));
    let prompt: u64 = sim
        .requests()
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.prompt_tokens)
        .sum();
    let arm = arm(&sim);
    let account = bounded(arm.accounts()).await.unwrap().remove(0);
    let m = bounded(deployment_metrics(&arm, &account.id, "gpt-4o"))
        .await
        .unwrap();
    assert_eq!(
        m.requests_by_status
            .get("200")
            .map(|v| v.iter().sum::<f64>()),
        Some(3.0)
    );
    assert_eq!(
        m.requests_by_status
            .get("429")
            .map(|v| v.iter().sum::<f64>()),
        Some(1.0)
    );
    assert_eq!(m.prompt_tokens.iter().sum::<f64>(), prompt as f64);
    assert!(m.generated_tokens.iter().sum::<f64>() > 0.0);
    assert_eq!(m.prompt_tokens.len(), 60);
    // Another deployment saw nothing.
    let none = bounded(deployment_metrics(&arm, &account.id, "o4-mini"))
        .await
        .unwrap();
    assert_eq!(none.total_requests(), 0.0);
}
