//! `aoai probe`: one minimal streamed call per target, across accounts and regions. Two
//! simulators play two regions (one throttling); the engine probes both on their own
//! endpoints. The binary on the embedded simulator: rounds, JSON, exit codes.

use std::process::Command;

use crate::common::{bounded, sim_with};

use aoai::azure::arm::{Account, Deployment};
use aoai::azure::{Auth, ClientConfig, Endpoint, Secret};
use aoai::domain::probe::{History, Sample};
use aoai::domain::ratelimit::ThrottleKind;
use aoai::engine::probe::{AccountView, clients, round, targets};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

fn view(name: &str, location: &str, endpoint: &str, deployments: &[&str]) -> AccountView {
    AccountView {
        subscription: "s".into(),
        account: Account {
            id: format!(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/{name}"
            ),
            name: name.into(),
            location: location.into(),
            kind: "OpenAI".into(),
            sku: "S0".into(),
            endpoint: Some(endpoint.into()),
            state: "Succeeded".into(),
        },
        deployments: Ok(deployments
            .iter()
            .map(|d| Deployment {
                name: d.to_string(),
                model: if d.contains("embed") {
                    "text-embedding-3-small".into()
                } else {
                    "gpt-4o".into()
                },
                version: "2024-11-20".into(),
                sku: "GlobalStandard".into(),
                capacity: 10,
                rpm: None,
                tpm: None,
                state: "Succeeded".into(),
            })
            .collect()),
    }
}

#[tokio::test]
async fn probes_every_region_on_its_own_endpoint_and_names_a_429s_cause() {
    let sweden = sim_with(|_| {}).await;
    let east = sim_with(|c| {
        c.account.region = "East US 2".into();
        c.account.location = "eastus2".into();
        for d in &mut c.deployments {
            d.faults.insert("429".into(), 1.0);
        }
    })
    .await;
    let views = [
        view(
            "prod-swc",
            "swedencentral",
            &sweden.base_url(),
            &["gpt-4o", "text-embedding-3-small"],
        ),
        view("prod-eus2", "eastus2", &east.base_url(), &["gpt-4o"]),
    ];
    // Every chat deployment (not embeddings); the same name in both regions.
    let all = targets(&views, &[]).unwrap();
    let names: Vec<(&str, &str)> = all
        .iter()
        .map(|t| (t.deployment.as_str(), t.account.as_str()))
        .collect();
    assert_eq!(names, [("gpt-4o", "prod-swc"), ("gpt-4o", "prod-eus2")]);
    let err = targets(&views, &["nope".into()]).unwrap_err();
    assert!(
        err.contains("no deployment nope") && err.contains("gpt-4o"),
        "{err}"
    );

    let base = ClientConfig::new(
        Endpoint::parse("http://127.0.0.1:1").unwrap(),
        Auth::ApiKey(Secret::new("k")),
    );
    let cs = clients(&base, &all).unwrap();
    let mut histories = vec![History::default(); all.len()];
    for n in 0..3 {
        let recs = bounded(round(&cs, &all, 1 + n * 2, &CancellationToken::new())).await;
        for (h, r) in histories.iter_mut().zip(&recs) {
            h.push(Sample::of(r));
        }
    }
    let swc = histories[0].last().unwrap();
    assert!(swc.ok && swc.status == Some(200), "{swc:?}");
    assert_eq!(swc.region.as_deref(), Some("Sweden Central"));
    assert!(swc.ttft_ms.is_some() && swc.e2e_ms.is_some());
    assert!(swc.remaining_requests.is_some() && swc.remaining_tokens.is_some());
    let eus = histories[1].last().unwrap();
    assert_eq!(eus.status, Some(429), "{eus:?}");
    assert_eq!(eus.throttle, Some(ThrottleKind::Tokens));
    assert!(eus.retry_after_ms.is_some());
    assert_eq!(eus.region.as_deref(), Some("East US 2"));
    assert_eq!(histories[0].ok_count(), (3, 3));
    assert_eq!(histories[1].sparkline(), "✗✗✗");
    let table = aoai::headless::probe::table(&all, &histories, 3);
    assert!(table.contains("429 tokens (retry"), "{table}");
    assert!(
        table.contains("East US 2") && table.contains("Sweden Central"),
        "{table}"
    );
}

fn aoai(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args(args)
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env(
            "AZURE_CONFIG_DIR",
            std::env::temp_dir().join("aoai-probe-no-az"),
        )
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_binary_probes_in_rounds_with_json_and_exit_codes() {
    let (code, out, err) = aoai(&[
        "probe", "-d", "gpt-4o", "--every", "0.1", "--count", "2", "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let rounds: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rounds.len(), 2);
    assert_eq!(rounds[1]["round"], 2);
    let t = &rounds[1]["targets"][0];
    assert_eq!(t["target"]["deployment"], "gpt-4o");
    assert_eq!(t["sample"]["status"], 200);
    assert_eq!((t["ok"].as_u64(), t["probed"].as_u64()), (Some(2), Some(2)));

    let (code, _, err) = aoai(&["probe", "-d", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("no deployment nope in any account"), "{err}");
    let (code, _, err) = aoai(&["probe", "--every", "0"]);
    assert_ne!(code, 0);
    assert!(err.contains("--every must be a positive"), "{err}");
}
