//! Zero-config start for a user signed in with the az CLI: a fake `azureProfile.json` (as
//! `az login` writes it, byte-order mark included) in `AZURE_CONFIG_DIR`, a fake `az` on
//! PATH that hands out tokens the way `az account get-access-token -o json` does, and the
//! simulator's ARM plane (`AOAI_ARM_ENDPOINT`). No flags, env vars or config file.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{bounded, sim_with};

use aoai::sim::config::OtherSubscription;
use serde_json::Value;

use crate::az::{SUB, TENANT, signed_in};

/// `aoai ARGS` signed in from `dir`, ARM at `arm`; nothing else configured.
fn aoai(dir: &Path, arm: &str, args: &[&str]) -> (i32, String, String) {
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("AZURE_CONFIG_DIR", dir.join("azure"))
        .env("AOAI_ARM_ENDPOINT", arm)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn az_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("az.log")).unwrap_or_default()
}

async fn run(dir: PathBuf, arm: String, args: &'static [&'static str]) -> (i32, String, String) {
    bounded(tokio::task::spawn_blocking(move || aoai(&dir, &arm, args)))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_signed_in_user_lists_their_deployments_and_chats_with_no_configuration() {
    let sim = sim_with(|c| {
        c.account.subscription_name = "Sim Prod".into();
        c.account.tenant_id = TENANT.into();
    })
    .await;
    let dir = signed_in("list");
    let (code, out, err) = run(dir.clone(), sim.base_url(), &["deployments", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v["accounts"][0]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"gpt-4o") && names.contains(&"gpt-4o-mini"),
        "{v}"
    );
    // ARM tokens come from the az CLI, for the signed-in tenant.
    let log = az_log(&dir);
    assert!(
        log.contains("--scope https://management.azure.com/.default")
            && log.contains(&format!("--tenant {TENANT}")),
        "{log}"
    );

    // A chat finds the account holding the deployment: its endpoint, a data-plane token.
    let (code, out, err) = run(
        dir.clone(),
        sim.base_url(),
        &["chat", "-d", "gpt-4o-mini", "--json", "Say hi"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["deployment"], "gpt-4o-mini", "{v}");
    assert_eq!(v["status"], 200, "{v}");
    assert!(az_log(&dir).contains("--scope https://cognitiveservices.azure.com/.default"));

    // A deployment no account has: said so, with where it looked.
    let (code, _, err) = run(dir.clone(), sim.base_url(), &["chat", "-d", "nope", "hi"]).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("signed in as ops@contoso.com: no deployment `nope`")
            && err.contains("Sim Prod"),
        "{err}"
    );
}

#[tokio::test]
async fn sim_forces_the_simulator_and_a_broken_sign_in_says_what_to_do() {
    let sim = sim_with(|_| {}).await;
    let dir = signed_in("force");
    // `--sim`: the az CLI is not asked.
    let (code, out, err) = run(
        dir.clone(),
        sim.base_url(),
        &["chat", "--sim", "--json", "hi"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"status\":200"), "{out}");
    assert_eq!(az_log(&dir), "");

    // ARM unreachable: the error names what failed and how to recover.
    let (code, _, err) = run(dir.clone(), "http://127.0.0.1:1".into(), &["chat", "hi"]).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("listing the Azure OpenAI accounts of subscription Sim Prod"),
        "{err}"
    );
    assert!(
        err.contains("az login --use-device-code") && err.contains("aoai --sim"),
        "{err}"
    );

    // Signed out (`az logout` empties the list): the simulator again.
    std::fs::write(
        dir.join("azure/azureProfile.json"),
        "\u{feff}{\"subscriptions\": []}",
    )
    .unwrap();
    let (code, out, err) = run(
        dir.clone(),
        "http://127.0.0.1:1".into(),
        &["chat", "--json", "hi"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"status\":200"), "{out}");
}

#[tokio::test]
async fn the_subscriptions_arm_lists_come_first_default_then_the_rest() {
    let sim = sim_with(|c| {
        c.account.subscription_name = "Sim Prod".into();
        c.account.other_subscriptions = vec![OtherSubscription {
            id: "11111111-1111-1111-1111-111111111111".into(),
            name: "Sandbox".into(),
        }];
    })
    .await;
    let arm =
        aoai::azure::arm::ArmClient::new(&sim.base_url(), aoai::azure::Secret::new("token"), SUB)
            .unwrap();
    let subs = bounded(arm.subscriptions()).await.unwrap();
    let names: Vec<&str> = subs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Sim Prod", "Sandbox"]);
    assert!(subs.iter().all(|s| s.state == "Enabled" && s.usable()));
    // The other subscription exists and holds no account.
    let other = arm.for_subscription("11111111-1111-1111-1111-111111111111");
    assert!(bounded(other.accounts()).await.unwrap().is_empty());
    // `aoai deployments` browses every subscription the user can see.
    let dir = signed_in("subs");
    let (code, out, err) = run(dir, sim.base_url(), &["deployments", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["accounts"].as_array().unwrap().len(),
        1,
        "one account in all: {v}"
    );
}
