//! Credential paths that run offline, end to end through the `aoai` binary and the
//! simulator (which doubles as the fake Entra ID on 127.0.0.1): API key from a file,
//! managed identity (App Service style `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, as
//! `azure_identity` reads them), the az CLI (a fake `az` on PATH), and the advice printed
//! when a path fails. The simulator is started with `entra.require = true`, so only tokens it
//! issued, with the right audience, are accepted on both planes.

mod common;

use std::path::{Path, PathBuf};

use aoai::sim::SimHandle;
use aoai::sim::entra::{AUD_ARM, AUD_DATA_PLANE, mint, secret_for};
use common::{bounded, sim_with};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aoai-auth-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_profile(dir: &Path, sim: &SimHandle, auth: &str) -> PathBuf {
    let file = dir.join("config.toml");
    std::fs::write(
        &file,
        format!(
            "[profiles.t]\nendpoint = \"{url}\"\narm_endpoint = \"{url}\"\ndeployment = \"gpt-4o\"\nsubscriptions = [\"{SUB}\"]\nauth = {auth}\n",
            url = sim.base_url()
        ),
    )
    .unwrap();
    file
}

/// Runs `aoai ARGS --config FILE --profile t` off the test's runtime, bounded.
async fn aoai(file: &Path, args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aoai"));
    cmd.args(args)
        .arg("--config")
        .arg(file)
        .args(["--profile", "t"])
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env_remove("AZURE_OPENAI_API_KEY")
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .env_remove("IDENTITY_ENDPOINT")
        .env_remove("IDENTITY_HEADER")
        .env_remove("MSI_ENDPOINT")
        .env_remove("AOAI_PROFILE")
        .env_remove("AOAI_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = tokio::process::Command::from(cmd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let _ = &mut child;
    bounded(child.wait_with_output()).await.unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn api_key_from_a_file() {
    let sim = sim_with(|c| {
        c.api_keys = vec!["k-123".into()];
        c.entra.require = true;
    })
    .await;
    let dir = tmpdir("key");
    std::fs::write(dir.join("key"), "k-123\n").unwrap();
    let file = write_profile(
        &dir,
        &sim,
        &format!(
            "{{ type = \"key\", key_file = \"{}\" }}",
            dir.join("key").display()
        ),
    );
    let out = aoai(&file, &["chat", "--json", "hi"], &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], 200);
    let log = sim.requests();
    assert!(
        log.iter()
            .any(|r| r.status == 200 && r.deployment.as_deref() == Some("gpt-4o"))
    );
}

#[tokio::test]
async fn managed_identity_token_from_the_fake_endpoint_works_on_both_planes() {
    let sim = sim_with(|c| c.entra.require = true).await;
    let dir = tmpdir("mi");
    let file = write_profile(
        &dir,
        &sim,
        "{ type = \"entra\", credential = \"managed-identity\" }",
    );
    let env = [
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", sim.base_url())),
        ("IDENTITY_HEADER", "sim-identity-header".to_string()),
    ];
    // ARM (scope management.azure.com).
    let out = aoai(&file, &["deployments", "--json"], &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let deps = v["accounts"][0]["deployments"].as_array().unwrap();
    assert!(
        deps.iter()
            .any(|d| d["name"] == "gpt-4.1-ptu" && d["provisioned"] == true)
    );
    // Data plane (scope cognitiveservices.azure.com).
    let out = aoai(&file, &["chat", "--json", "hello"], &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Quota, with the pool's deployments and free capacity.
    let out = aoai(
        &file,
        &[
            "quota",
            "--json",
            "--model",
            "gpt-4o",
            "--model-version",
            "2024-11-20",
        ],
        &env,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = v["regions"][0]["usages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "OpenAI.GlobalStandard.gpt-4o")
        .unwrap()
        .clone();
    assert_eq!(row["deployments"][0]["deployment"], "gpt-4o");
    assert!(!v["capacities"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn no_managed_identity_says_so() {
    let sim = sim_with(|c| {
        c.entra.require = true;
        c.entra.managed_identity = false;
    })
    .await;
    let dir = tmpdir("nomi");
    let file = write_profile(
        &dir,
        &sim,
        "{ type = \"entra\", credential = \"managed-identity\" }",
    );
    let env = [
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", sim.base_url())),
        ("IDENTITY_HEADER", "sim-identity-header".to_string()),
    ];
    let out = aoai(&file, &["deployments"], &env).await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("this VM has no managed identity"), "{err}");
    assert!(!err.contains("troubleshoot"), "raw chain leaked: {err}");
}

fn fake_az(dir: &Path, body: &str) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let az = bin.join("az");
    std::fs::write(&az, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[tokio::test]
async fn az_cli_tokens_for_each_scope() {
    let sim = sim_with(|c| c.entra.require = true).await;
    let dir = tmpdir("az");
    let now = aoai::sim::entra::unix_now();
    let sec = secret_for(aoai::sim::SimConfig::instant().seed);
    let dp = mint(&sec, AUD_DATA_PLANE, now, now + 3600, "u");
    let arm = mint(&sec, AUD_ARM, now, now + 3600, "u");
    let json = |t: &str| {
        format!(
            r#"{{"accessToken":"{t}","expiresOn":"2099-01-01 00:00:00.000000","expires_on":{},"subscription":"{SUB}","tenant":"t","tokenType":"Bearer"}}"#,
            now + 3600
        )
    };
    let path = fake_az(
        &dir,
        &format!(
            "case \"$*\" in *management.azure.com*) echo '{}';; *) echo '{}';; esac",
            json(&arm),
            json(&dp)
        ),
    );
    let file = write_profile(
        &dir,
        &sim,
        "{ type = \"entra\", credential = \"azure-cli\" }",
    );
    let out = aoai(&file, &["deployments", "--json"], &[("PATH", path.clone())]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = aoai(&file, &["chat", "--json", "hello"], &[("PATH", path)]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[tokio::test]
async fn az_cli_not_signed_in_says_run_az_login() {
    let sim = sim_with(|c| c.entra.require = true).await;
    let dir = tmpdir("azno");
    let path = fake_az(
        &dir,
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1",
    );
    let file = write_profile(
        &dir,
        &sim,
        "{ type = \"entra\", credential = \"azure-cli\" }",
    );
    let out = aoai(&file, &["deployments"], &[("PATH", path)]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(
        err,
        "aoai deployments: not signed in to Azure: run `az login` (on a jump box without a browser: `az login --use-device-code`), or `azd auth login`\n"
    );
}

#[tokio::test]
async fn sim_checks_audience_and_expiry_on_both_planes() {
    use aoai::azure::arm::{ArmClient, ArmError};
    use aoai::azure::{Auth, Secret};
    let sim = sim_with(|c| c.entra.require = true).await;
    let now = aoai::sim::entra::unix_now();
    let sec = secret_for(aoai::sim::SimConfig::instant().seed);
    let arm_with = |t: String| {
        ArmClient::with_auth(&sim.base_url(), Auth::Bearer(Secret::new(t)), SUB).unwrap()
    };
    // Right audience.
    let ok = bounded(arm_with(mint(&sec, AUD_ARM, now, now + 60, "u")).accounts()).await;
    assert_eq!(ok.unwrap().len(), 1);
    // Data-plane token on ARM.
    let e = bounded(arm_with(mint(&sec, AUD_DATA_PLANE, now, now + 60, "u")).accounts())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ArmError::Http { status: 401, code, .. } if code == "InvalidAuthenticationTokenAudience"),
        "{e:?}"
    );
    // Expired.
    let e = bounded(arm_with(mint(&sec, AUD_ARM, now - 7200, now - 3600, "u")).accounts())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ArmError::Http { status: 401, code, .. } if code == "ExpiredAuthenticationToken"),
        "{e:?}"
    );
    // A bearer the sim did not issue.
    let e = bounded(arm_with("not-a-token".into()).accounts())
        .await
        .unwrap_err();
    assert!(matches!(&e, ArmError::Http { status: 401, .. }), "{e:?}");
    // Data plane: an ARM token is refused with the flat 401 body.
    let client = common::client_for(
        &sim,
        aoai::domain::call::ApiPath::Classic,
        Auth::Bearer(Secret::new(mint(&sec, AUD_ARM, now, now + 60, "u"))),
    );
    let (rec, _) = bounded(common::run(&client, &common::ask("gpt-4o", "hi"))).await;
    assert_eq!(rec.status, Some(401));
    let msg = rec.error.unwrap().message;
    assert!(msg.contains("run `az login` again"), "{msg}");
    let client = common::client_for(
        &sim,
        aoai::domain::call::ApiPath::Classic,
        Auth::Bearer(Secret::new(mint(&sec, AUD_DATA_PLANE, now, now + 60, "u"))),
    );
    let (rec, _) = bounded(common::run(&client, &common::ask("gpt-4o", "hi"))).await;
    assert_eq!(rec.status, Some(200));
}
