//! Loopback tests of the simulator's ARM plane: shapes, paging, usages, throttling.

#[path = "common/sim.rs"]
mod support;

use aoai::sim::{SimConfig, SimHandle};
use serde_json::{Value, json};
use support::*;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const AV: &str = "api-version=2024-10-01";
const AUTH: (&str, &str) = ("authorization", "Bearer arm-token");

fn acct_path() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-aoai-sim/providers/Microsoft.CognitiveServices/accounts/aoai-sim"
    )
}

/// Follows `nextLink` and returns every page.
async fn pages(sim: &SimHandle, path: &str) -> Vec<Value> {
    let mut url = format!("{}{path}?{AV}", sim.base_url());
    let mut out = Vec::new();
    for _ in 0..20 {
        let r = get(&url, &[AUTH]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let next = v
            .get("nextLink")
            .and_then(Value::as_str)
            .map(str::to_string);
        out.push(v);
        match next {
            Some(n) => {
                assert!(n.starts_with(&sim.base_url()));
                url = n;
            }
            None => return out,
        }
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn accounts_and_deployments_with_paging() {
    let mut cfg = SimConfig::instant();
    cfg.arm.page_size = 2;
    cfg.arm.empty_page = true;
    let sim = start(cfg).await;
    let acct = pages(
        &sim,
        &format!("/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/accounts"),
    )
    .await;
    // One account: an empty page with nextLink first, then the account.
    assert_eq!(acct.len(), 2);
    assert_eq!(acct[0]["value"], json!([]));
    let a = &acct[1]["value"][0];
    assert_eq!(a["kind"], "OpenAI");
    assert_eq!(a["sku"]["name"], "S0");
    assert_eq!(a["location"], "swedencentral");
    assert_eq!(a["properties"]["endpoint"], format!("{}/", sim.base_url()));
    assert_eq!(a["id"], acct_path());

    let deps = pages(&sim, &format!("{}/deployments", acct_path())).await;
    let counts: Vec<usize> = deps
        .iter()
        .map(|p| p["value"].as_array().unwrap().len())
        .collect();
    assert_eq!(counts, vec![2, 0, 2, 1]);
    let all: Vec<&Value> = deps
        .iter()
        .flat_map(|p| p["value"].as_array().unwrap())
        .collect();
    let mini = all.iter().find(|d| d["name"] == "gpt-4o-mini").unwrap();
    assert_eq!(mini["sku"], json!({"name": "Standard", "capacity": 2}));
    assert_eq!(
        mini["properties"]["model"],
        json!({"format": "OpenAI", "name": "gpt-4o-mini", "version": "2024-07-18"})
    );
    assert_eq!(mini["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        mini["properties"]["rateLimits"],
        json!([{"key": "request", "renewalPeriod": 10, "count": 2}, {"key": "token", "renewalPeriod": 60, "count": 2000}])
    );
    let o4 = all.iter().find(|d| d["name"] == "o4-mini").unwrap();
    assert_eq!(
        o4["properties"]["rateLimits"],
        json!([{"key": "request", "renewalPeriod": 60, "count": 100}, {"key": "token", "renewalPeriod": 60, "count": 100000}])
    );
    assert_eq!(
        o4["type"],
        "Microsoft.CognitiveServices/accounts/deployments"
    );

    let one = get(
        &format!(
            "{}{}/deployments/gpt-4.1-ptu?{AV}",
            sim.base_url(),
            acct_path()
        ),
        &[AUTH],
    )
    .await;
    assert_eq!(
        one.json()["sku"],
        json!({"name": "GlobalProvisionedManaged", "capacity": 15})
    );
    let missing = get(
        &format!("{}{}/deployments/nope?{AV}", sim.base_url(), acct_path()),
        &[AUTH],
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "ResourceNotFound");
}

#[tokio::test]
async fn usages_match_deployments() {
    let mut cfg = SimConfig::instant();
    cfg.deployments[0].capacity = 450;
    let mut extra = cfg.deployments[0].clone();
    extra.name = "gpt-4o-second".into();
    extra.capacity = 30;
    cfg.deployments.push(extra);
    cfg.arm
        .quota_limits
        .insert("OpenAI.GlobalStandard.gpt-4o".into(), 500.0);
    let sim = start(cfg).await;
    let p = pages(&sim, &format!("/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/swedencentral/usages")).await;
    let rows: Vec<&Value> = p
        .iter()
        .flat_map(|p| p["value"].as_array().unwrap())
        .collect();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["name"]["value"] == name)
            .copied()
            .unwrap()
    };
    let g = row("OpenAI.GlobalStandard.gpt-4o");
    assert_eq!(g["currentValue"], json!(480.0));
    assert_eq!(g["limit"], json!(500.0));
    assert_eq!(g["unit"], "Count");
    assert_eq!(
        row("OpenAI.Standard.gpt-4o-mini")["currentValue"],
        json!(2.0)
    );
    assert_eq!(
        row("OpenAI.GlobalProvisionedManaged.gpt-4.1")["currentValue"],
        json!(15.0)
    );
    assert_eq!(row("AccountCount")["currentValue"], json!(1.0));
    let models = pages(&sim, &format!("/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/swedencentral/models")).await;
    let m = &models[0]["value"][0];
    assert_eq!(m["kind"], "OpenAI");
    assert_eq!(m["model"]["name"], "gpt-4o");
    assert!(
        m["model"]["skus"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["usageName"] == "OpenAI.GlobalStandard.gpt-4o")
    );
}

#[tokio::test]
async fn auth_version_and_throttling() {
    let mut cfg = SimConfig::instant();
    cfg.arm.read_bucket = 3.0;
    cfg.arm.read_refill_per_s = 0.01;
    let sim = start(cfg).await;
    let url = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/accounts",
        sim.base_url()
    );
    let r = get(&format!("{url}?{AV}"), &[]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "AuthenticationFailed");
    let r = get(&url, &[AUTH]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "MissingApiVersionParameter");
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = get(&format!("{url}?{AV}"), &[AUTH]).await;
        assert_eq!(r.status, 200);
        remaining.push(
            r.header("x-ms-ratelimit-remaining-subscription-reads")
                .to_string(),
        );
        assert!(r.headers.contains_key("x-ms-request-id"));
        assert!(r.headers.contains_key("x-ms-correlation-request-id"));
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let r = get(&format!("{url}?{AV}"), &[AUTH]).await;
    assert_eq!(r.status, 429);
    let secs: u64 = r.header("retry-after").parse().unwrap();
    assert!((1..=100).contains(&secs), "{secs}");
    assert_eq!(r.json()["error"]["code"], "TooManyRequests");
    let r = get(
        &format!(
            "{}/subscriptions/other/providers/Microsoft.CognitiveServices/accounts?{AV}",
            sim.base_url()
        ),
        &[AUTH],
    )
    .await;
    assert_eq!(
        r.status, 429,
        "the bucket is shared by the subscription's reads"
    );
}

#[tokio::test]
async fn configured_bearer_tokens_are_enforced() {
    let mut cfg = SimConfig::instant();
    cfg.bearer_tokens = vec!["arm-token".into()];
    let sim = start(cfg).await;
    let url = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/accounts?{AV}",
        sim.base_url()
    );
    let r = get(&url, &[("authorization", "Bearer wrong")]).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(get(&url, &[AUTH]).await.status, 200);
    let r = get(
        &format!(
            "{}/subscriptions/bad/providers/Microsoft.CognitiveServices/accounts?{AV}",
            sim.base_url()
        ),
        &[AUTH],
    )
    .await;
    assert_eq!(r.json()["error"]["code"], "SubscriptionNotFound");
}

#[tokio::test]
async fn example_config_parses_and_serves() {
    let text = include_str!("../docs/sim-example.toml");
    let cfg = SimConfig::from_toml_str(text).expect("docs/sim-example.toml parses");
    assert_eq!(cfg.deployments.len(), 4);
    let sim = start(cfg).await;
    let deps = pages(&sim, &format!("{}/deployments", acct_path())).await;
    assert_eq!(deps.len(), 3, "page_size 2 + empty page");
}
