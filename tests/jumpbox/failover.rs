//! `--retry failover:PROFILE/DEPLOYMENT`: a 429 on this resource sends the call once to
//! another resource — a config profile's endpoint and credential — as the baseline
//! architecture's multi-region failover does. Two simulators play the two regions.

use std::process::Command;

use crate::common::{bounded, sim_with};

use serde_json::Value;

async fn aoai(args: Vec<String>) -> (i32, String, String) {
    bounded(tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_aoai"))
            .args(&args)
            .env_remove("AZURE_OPENAI_ENDPOINT")
            .env_remove("AZURE_OPENAI_API_KEY")
            .env("AOAI_TEST_WEST_KEY", "west-key-2291")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }))
    .await
    .unwrap()
}

#[tokio::test]
async fn a_429_fails_over_to_another_profiles_resource_once() {
    let sweden = sim_with(|c| {
        for d in &mut c.deployments {
            d.faults.insert("429".into(), 1.0);
        }
    })
    .await;
    let west = sim_with(|c| {
        c.api_keys = vec!["west-key-2291".into()];
        c.account.region = "West US 3".into();
    })
    .await;
    let dir = std::env::temp_dir().join(format!("aoai-failover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.west]\nendpoint = \"{}\"\nauth = {{ type = \"key\", key_env = \"AOAI_TEST_WEST_KEY\" }}\n",
            west.base_url()
        ),
    )
    .unwrap();
    let args = |retry: &str| -> Vec<String> {
        [
            "chat",
            "--endpoint",
            &sweden.base_url(),
            "--api-key",
            "sweden-key",
            "-d",
            "gpt-4o",
            "--config",
            config.to_str().unwrap(),
            "--retry",
            retry,
            "--json",
            "Say hi",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let (code, out, err) = aoai(args("failover:west/gpt-4o")).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(
        v["region"], "West US 3",
        "served by the other resource: {v}"
    );
    let attempts: Vec<(&str, u64)> = v["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["deployment"].as_str().unwrap(),
                a["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(attempts, [("gpt-4o", 429), ("west/gpt-4o", 200)]);
    // Its key came from its own profile, never shown.
    assert!(!out.contains("west-key-2291") && !err.contains("west-key-2291"));

    // A profile the config does not have: said before anything is sent.
    let (code, _, err) = aoai(args("failover:east/gpt-4o")).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("failover profile `east`") && err.contains("no profile `east`"),
        "{err}"
    );
}
