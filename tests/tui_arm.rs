//! The ARM client behind the deployments screen, against the simulator's ARM plane: paging
//! one item per page with an empty page in between.

use std::time::Duration;

use aoai::azure::Secret;
use aoai::azure::arm::{ArmClient, SIM_SUBSCRIPTION};
use aoai::sim::{SimConfig, Simulator};

#[tokio::test]
async fn lists_accounts_deployments_and_quota_across_pages() {
    let mut cfg = SimConfig::instant();
    cfg.arm.page_size = 1;
    cfg.arm.empty_page = true;
    let sim = Simulator::start(cfg).await.unwrap();
    let arm = ArmClient::new(&sim.base_url(), Secret::new("token"), SIM_SUBSCRIPTION).unwrap();
    let t = Duration::from_secs(10);
    let accounts = tokio::time::timeout(t, arm.accounts())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(a.location, "swedencentral");
    let deps = tokio::time::timeout(t, arm.deployments(&a.id))
        .await
        .unwrap()
        .unwrap();
    let mut names: Vec<&str> = deps.iter().map(|d| d.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["gpt-4.1-ptu", "gpt-4o", "gpt-4o-mini", "o4-mini"]);
    let mini = deps.iter().find(|d| d.name == "gpt-4o-mini").unwrap();
    assert_eq!(
        (mini.sku.as_str(), mini.capacity, mini.rpm),
        ("Standard", 2, Some(12))
    );
    let quota = tokio::time::timeout(t, arm.usages(&a.location))
        .await
        .unwrap()
        .unwrap();
    // Names only: the simulator's currentValue for gpt-4o reads 1000000 in this config
    // (450 with the default fleet); reported to the simulator's owner.
    assert!(
        quota
            .iter()
            .any(|q| q.name == "OpenAI.GlobalStandard.gpt-4o"),
        "{quota:?}"
    );
    assert!(
        quota
            .iter()
            .any(|q| q.name == "AccountCount" && q.limit == 200.0),
        "{quota:?}"
    );
}

#[tokio::test]
async fn arm_errors_are_typed() {
    let sim = Simulator::start(SimConfig::instant()).await.unwrap();
    let arm = ArmClient::new(&sim.base_url(), Secret::new(""), SIM_SUBSCRIPTION).unwrap();
    let err = tokio::time::timeout(Duration::from_secs(10), arm.accounts())
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, aoai::azure::arm::ArmError::Http { status: 401, .. }),
        "{err:?}"
    );
}
