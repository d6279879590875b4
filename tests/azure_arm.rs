//! ARM discovery against the simulator: paging (small pages and an empty page with a
//! `nextLink`) for deployments, the model catalogue and model capacities; 429 + Retry-After
//! honoured by the client; Azure Monitor metrics from the simulator's request log.

mod common;

use aoai::azure::arm::ArmClient;
use aoai::azure::monitor::deployment_metrics;
use aoai::azure::{Auth, Secret};
use aoai::domain::call::ApiPath;
use common::{ask, bounded, client_for, run, sim_with};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn arm(sim: &aoai::sim::SimHandle) -> ArmClient {
    ArmClient::with_auth(&sim.base_url(), Auth::Bearer(Secret::new("t")), SUB).unwrap()
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
    assert_eq!(deps.len(), 4);
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
