//! Through an API Management gateway (the simulator's `[gateway]`): the profile's key goes in
//! the gateway's header from an env var (never the command line), the gateway's token-limit
//! counters show beside Azure's own under the names the profile gives, and the gateway's own
//! 401s and 429s (flat `{"statusCode", "message"}` bodies) are classified like Azure's.

use std::process::Command;

use crate::common::{bounded, sim_with};

use aoai::sim::gateway::GatewayConfig;
use serde_json::Value;

const KEY: &str = "apim-canary-key-7f3a";

fn profile(dir: &std::path::Path, endpoint: &str) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[profiles.apim]
endpoint = "{endpoint}"
deployment = "gpt-4o"
auth = {{ type = "key", header = "Ocp-Apim-Subscription-Key", key_env = "APIM_KEY" }}
gateway = {{ remaining_tokens_header = "x-apim-remaining-tokens", consumed_tokens_header = "x-apim-consumed-tokens" }}
"#
        ),
    )
    .unwrap();
    path
}

async fn chat(
    config: std::path::PathBuf,
    key: &'static str,
    args: &'static [&'static str],
) -> (i32, String, String) {
    bounded(tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_aoai"))
            .arg("chat")
            .args(["--config"])
            .arg(&config)
            .args(["--profile", "apim"])
            .args(args)
            .env_remove("AZURE_OPENAI_ENDPOINT")
            .env_remove("AZURE_OPENAI_API_KEY")
            .env("AZURE_CONFIG_DIR", config.with_file_name("no-az"))
            .env("APIM_KEY", key)
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

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("aoai-apim-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn the_gateways_key_header_counters_and_refusals() {
    let sim = sim_with(|c| {
        c.gateway = Some(GatewayConfig {
            keys: vec![KEY.into()],
            calls_per_minute: Some(3),
            remaining_tokens_header: Some("x-apim-remaining-tokens".into()),
            consumed_tokens_header: Some("x-apim-consumed-tokens".into()),
            tokens_per_minute: Some(100_000),
            ..GatewayConfig::default()
        })
    })
    .await;
    let dir = scratch("gw");
    let config = profile(&dir, &sim.base_url());

    // The key goes in Ocp-Apim-Subscription-Key; the gateway's counters are read.
    let (code, out, err) = chat(config.clone(), KEY, &["--json", "What is a PTU?"]).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    let consumed = v["ratelimit"]["gateway_consumed_tokens"].as_u64().unwrap();
    assert!(consumed > 0, "{v}");
    assert_eq!(
        v["ratelimit"]["gateway_remaining_tokens"].as_u64(),
        Some(100_000 - consumed)
    );
    // Azure's own counters are still there, beside the gateway's.
    assert!(v["ratelimit"]["remaining_tokens"].as_u64().is_some(), "{v}");
    // The text report names them.
    // (The figures go to stderr: stdout is the answer.)
    let (code, _, err) = chat(config.clone(), KEY, &["Hi"]).await;
    assert_eq!(code, 0);
    assert!(
        err.contains("   gateway ") && err.contains("tokens left ·"),
        "{err}"
    );

    // The third call in the minute passes, the fourth gets the gateway's 429.
    let (code, _, _) = chat(config.clone(), KEY, &["--json", "Hi"]).await;
    assert_eq!(code, 0);
    let (code, out, err) = chat(config.clone(), KEY, &["--json", "Hi"]).await;
    assert_eq!(code, 3, "throttled: {out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], 429, "{v}");
    assert_eq!(v["error"]["throttle"], "gateway_requests", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Rate limit is exceeded. Try again in")
    );
    assert!(
        v["ratelimit"]["retry_after_ms"].as_u64().unwrap() >= 1000,
        "{v}"
    );

    // A wrong key: the gateway's 401, with the key advice, never the key.
    let (code, out, err) = chat(config.clone(), "wrong-key", &["Hi"]).await;
    assert_ne!(code, 0);
    let all = format!("{out}{err}");
    assert!(all.contains("invalid subscription key"), "{all}");
    for (_, text) in [("out", &out), ("err", &err)] {
        assert!(!text.contains(KEY) && !text.contains("wrong-key"), "{text}");
    }
}

#[tokio::test]
async fn the_gateways_token_limit_is_its_own_429() {
    let sim = sim_with(|c| {
        c.gateway = Some(GatewayConfig {
            tokens_per_minute: Some(10),
            remaining_tokens_header: Some("x-apim-remaining-tokens".into()),
            ..GatewayConfig::default()
        })
    })
    .await;
    let dir = scratch("tokens");
    let config = profile(&dir, &sim.base_url());
    let (code, out, err) = chat(
        config,
        KEY,
        &["--json", "Explain, in great detail and with examples, how provisioned throughput units are sized for a chat workload with long prompts."],
    )
    .await;
    assert_eq!(code, 3, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["throttle"], "gateway_tokens", "{v}");
    assert_eq!(v["ratelimit"]["gateway_remaining_tokens"], 10, "{v}");
}

#[test]
fn a_credential_header_is_refused_on_the_command_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_aoai"))
        .args(["chat", "--header", "Ocp-Apim-Subscription-Key: k", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("carries a credential") && err.contains("header = "),
        "{err}"
    );
}
