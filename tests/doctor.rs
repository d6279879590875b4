//! `aoai doctor` as a user runs it, against simulators (and a TLS server) this test starts on
//! 127.0.0.1: a healthy simulator reached with Entra ID (its fake managed identity) on both
//! planes, the embedded simulator, a dead port, a refused key, a missing deployment, and a
//! TLS endpoint with a self-signed certificate, trusted and not.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use aoai::sim::{SimConfig, SimHandle, Simulator};
use common::{bounded, sim_with};
use serde_json::Value;

const SUB: &str = "00000000-0000-0000-0000-000000000000";

/// Variables a user's shell may have that would change what doctor sees.
const CLEARED: [&str; 18] = [
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_DEPLOYMENT",
    "OPENAI_API_VERSION",
    "AZURE_SUBSCRIPTION_ID",
    "AOAI_PROFILE",
    "AOAI_CONFIG",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Runs `aoai doctor ARGS` off the test's runtime, bounded; with a config file that has no
/// profiles unless `config` names one.
async fn doctor(args: &[&str], env: &[(&str, String)], config: Option<&Path>) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aoai"));
    cmd.arg("doctor").args(args);
    for v in CLEARED {
        cmd.env_remove(v);
    }
    let empty = tmpdir("empty").join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    cmd.arg("--config").arg(config.unwrap_or(&empty));
    cmd.env("COLUMNS", "80");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = tokio::process::Command::from(cmd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    bounded(child.wait_with_output()).await.unwrap()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aoai-doctor-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name}: {report}"))
}

fn status(report: &Value, name: &str) -> String {
    step(report, name)["status"].as_str().unwrap().to_string()
}

fn detail(report: &Value, name: &str) -> String {
    step(report, name)["detail"].as_str().unwrap().to_string()
}

fn fix(report: &Value, name: &str) -> String {
    step(report, name)["fix"].as_str().unwrap_or("").to_string()
}

/// A profile for `sim` on both planes with the simulator's fake managed identity.
fn entra_profile(sim: &SimHandle, tag: &str) -> (PathBuf, Vec<(&'static str, String)>) {
    let file = tmpdir(tag).join("config.toml");
    std::fs::write(
        &file,
        format!(
            "[profiles.t]\nendpoint = \"{url}\"\narm_endpoint = \"{url}\"\ndeployment = \"gpt-4o\"\nsubscriptions = [\"{SUB}\"]\nauth = {{ type = \"entra\", credential = \"managed-identity\" }}\n",
            url = sim.base_url()
        ),
    )
    .unwrap();
    let env = vec![
        ("IDENTITY_ENDPOINT", format!("{}/msi/token", sim.base_url())),
        ("IDENTITY_HEADER", "sim-identity-header".to_string()),
    ];
    (file, env)
}

#[tokio::test]
async fn a_healthy_simulator_passes_every_step() {
    // The default fleet: its quota pools have room (the instant config's are full).
    let mut cfg = SimConfig::default_fleet();
    cfg.entra.require = true;
    let sim = bounded(Simulator::start(cfg)).await.unwrap();
    let (file, env) = entra_profile(&sim, "healthy");
    let out = doctor(&["--profile", "t", "--json"], &env, Some(&file)).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = json(&out);
    assert_eq!(r["ok"], true, "{r:#}");
    assert_eq!(r["deployment"], "gpt-4o");
    assert_eq!(r["profile"], "t");
    let names: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "proxy",
            "dns",
            "tcp",
            "tls",
            "credential",
            "data-plane",
            "deployment",
            "arm",
            "quota"
        ]
    );
    for name in names {
        let want = if name == "tls" { "skip" } else { "ok" };
        assert_eq!(status(&r, name), want, "{name}: {}", step(&r, name));
    }
    assert!(detail(&r, "dns").contains("127.0.0.1 (loopback)"));
    assert!(detail(&r, "tls").contains("plain HTTP"));
    let cred = detail(&r, "credential");
    assert!(cred.starts_with("Entra ID (managed identity)"), "{cred}");
    assert!(cred.contains("token expires in"), "{cred}");
    assert!(
        cred.contains("object id 11111111-1111-1111-1111-111111111111, tenant 22222222-2222-2222-2222-222222222222"),
        "{cred}"
    );
    assert!(!cred.contains("eyJ"), "the token is never shown: {cred}");
    assert!(
        detail(&r, "data-plane").contains("answered 200"),
        "{}",
        detail(&r, "data-plane")
    );
    let dep = detail(&r, "deployment");
    assert!(dep.starts_with("`gpt-4o`: model gpt-4o "), "{dep}");
    assert!(dep.contains("capacity "), "{dep}");
    assert!(detail(&r, "arm").contains("publicNetworkAccess Enabled"));
    let quota = detail(&r, "quota");
    assert!(
        quota.contains("OpenAI.") && quota.contains(" free "),
        "{quota}"
    );

    // The same as text, 80 columns wide.
    let out = doctor(&["--profile", "t"], &env, Some(&file)).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for line in t.lines() {
        assert!(line.chars().count() <= 80, "over 80 columns: {line}");
    }
    assert!(t.contains("\n✓ Deployment  `gpt-4o`: model gpt-4o"), "{t}");
    assert!(t.contains("\n- TLS         plain HTTP"), "{t}");
    assert!(t.ends_with("All checks passed.\n"), "{t}");
}

#[tokio::test]
async fn the_embedded_simulator_as_json() {
    let out = doctor(&["--json"], &[], None).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = json(&out);
    assert_eq!(r["simulator"], true);
    assert_eq!(r["ok"], true, "{r:#}");
    assert!(
        r["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_eq!(status(&r, "credential"), "ok");
    assert_eq!(
        detail(&r, "credential"),
        "API key from the embedded simulator's key"
    );
    assert_eq!(status(&r, "quota"), "ok");
    for s in r["steps"].as_array().unwrap() {
        assert!(s["detail"].is_string(), "{s}");
        assert!(
            ["ok", "warn", "fail", "skip"].contains(&s["status"].as_str().unwrap()),
            "{s}"
        );
    }
}

#[tokio::test]
async fn a_dead_port_fails_tcp_and_skips_what_needs_it() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let out = doctor(
        &[
            "--endpoint",
            &url,
            "--api-key",
            "k",
            "-d",
            "gpt-4o",
            "--json",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = json(&out);
    assert_eq!(r["ok"], false);
    assert_eq!(status(&r, "dns"), "ok");
    assert_eq!(status(&r, "tcp"), "fail");
    assert_eq!(
        detail(&r, "tcp"),
        format!("127.0.0.1:{port}: connection refused")
    );
    assert!(
        fix(&r, "tcp").contains(&format!("aoai sim --port {port}")),
        "{}",
        fix(&r, "tcp")
    );
    assert_eq!(status(&r, "tls"), "skip");
    assert_eq!(status(&r, "data-plane"), "skip");
    assert_eq!(detail(&r, "data-plane"), "needs TCP");
    assert_eq!(status(&r, "credential"), "ok");
    assert_eq!(detail(&r, "credential"), "API key from the --api-key flag");
    assert_eq!(status(&r, "arm"), "skip");

    let out = doctor(
        &["--endpoint", &url, "--api-key", "k", "-d", "gpt-4o"],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out.stdout);
    assert!(t.contains("\n✗ TCP "), "{t}");
    assert!(t.contains("fix: nothing listens on"), "{t}");
    assert!(t.ends_with("1 check failed: TCP.\n"), "{t}");
}

#[tokio::test]
async fn a_refused_key_gets_key_advice() {
    let sim = sim_with(|c| c.api_keys = vec!["the-right-key".into()]).await;
    let out = doctor(
        &[
            "--endpoint",
            &sim.base_url(),
            "--api-key",
            "a-wrong-key",
            "-d",
            "gpt-4o",
            "--json",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = json(&out);
    assert_eq!(status(&r, "tcp"), "ok");
    assert_eq!(status(&r, "data-plane"), "fail");
    assert!(detail(&r, "data-plane").contains("refused: 401"), "{r:#}");
    let f = fix(&r, "data-plane");
    assert!(f.contains("the key was refused"), "{f}");
    assert!(f.contains("AZURE_OPENAI_API_KEY"), "{f}");
    assert!(
        !text(&out.stdout).contains("a-wrong-key"),
        "the key is never shown"
    );
}

#[tokio::test]
async fn a_missing_deployment_names_the_ones_that_exist() {
    let sim = sim_with(|c| c.entra.require = true).await;
    let (file, env) = entra_profile(&sim, "missing");
    let out = doctor(
        &["--profile", "t", "-d", "nope", "--json"],
        &env,
        Some(&file),
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = json(&out);
    assert_eq!(r["deployment"], "nope");
    assert_eq!(status(&r, "data-plane"), "ok", "{r:#}");
    assert!(detail(&r, "data-plane").contains("404"));
    assert_eq!(status(&r, "deployment"), "fail");
    assert!(detail(&r, "deployment").starts_with("no deployment `nope` on account"));
    let f = fix(&r, "deployment");
    assert!(f.contains("gpt-4o") && f.contains("-d"), "{f}");
    assert_eq!(status(&r, "quota"), "skip");

    // Without ARM, the 404 alone says so.
    let out = doctor(
        &[
            "--endpoint",
            &sim.base_url(),
            "--api-key",
            "k",
            "-d",
            "nope",
            "--json",
        ],
        &[],
        None,
    )
    .await;
    let r = json(&out);
    assert_eq!(status(&r, "deployment"), "fail", "{r:#}");
    assert!(fix(&r, "deployment").contains("aoai deployments"));
}

/// A TLS server on 127.0.0.1 with a self-signed certificate for that address: it shakes
/// hands and hangs up. Returns the port, the certificate's PEM and the server task.
async fn tls_server() -> (u16, String, tokio::task::JoinHandle<()>) {
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "aoai doctor test");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let pem = cert.pem();
    let der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![der], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        // Bounded: the doctor connects at most a few times per run.
        for _ in 0..16 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(5), acceptor.accept(tcp))
                        .await;
            });
        }
    });
    (port, pem, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_shows_the_certificate_trusted_or_not() {
    let (port, pem, server) = tls_server().await;
    let url = format!("https://127.0.0.1:{port}");
    let args = [
        "--endpoint",
        url.as_str(),
        "--api-key",
        "k",
        "-d",
        "gpt-4o",
        "--json",
        "--first-byte-timeout",
        "3",
    ];
    // Not in the trust store: the certificate is still shown, with the fix.
    let ca_dir = tmpdir("tls");
    let empty = ca_dir.join("other.pem");
    let other = rcgen::generate_simple_self_signed(vec!["elsewhere".to_string()]).unwrap();
    std::fs::write(&empty, other.cert.pem()).unwrap();
    let out = doctor(
        &args,
        &[("SSL_CERT_FILE", empty.display().to_string())],
        None,
    )
    .await;
    let r = json(&out);
    assert_eq!(status(&r, "tls"), "fail", "{r:#}");
    let d = detail(&r, "tls");
    assert!(d.starts_with("certificate not trusted"), "{d}");
    assert!(d.contains("subject CN=aoai doctor test"), "{d}");
    assert!(fix(&r, "tls").contains("trust store"));
    assert_eq!(detail(&r, "data-plane"), "needs TLS");

    // Trusted (SSL_CERT_FILE names it): subject, issuer, expiry and protocol.
    let trusted = ca_dir.join("ca.pem");
    std::fs::write(&trusted, &pem).unwrap();
    let out = doctor(
        &args,
        &[("SSL_CERT_FILE", trusted.display().to_string())],
        None,
    )
    .await;
    let r = json(&out);
    assert_eq!(status(&r, "tls"), "ok", "{r:#}");
    let d = detail(&r, "tls");
    assert!(
        d.contains("subject CN=aoai doctor test; issuer CN=aoai doctor test"),
        "{d}"
    );
    assert!(d.contains("days left"), "{d}");
    assert!(d.contains("TLSv1_3"), "{d}");
    // The server speaks no HTTP: the call fails, and so does the run.
    assert_eq!(status(&r, "data-plane"), "fail", "{r:#}");
    assert_eq!(out.status.code(), Some(1));
    server.abort();
}

#[tokio::test]
async fn a_call_that_cannot_connect_suggests_the_doctor() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aoai"));
    cmd.args([
        "chat",
        "--endpoint",
        &url,
        "--api-key",
        "k",
        "-d",
        "gpt-4o",
        "hi",
    ]);
    for v in CLEARED {
        cmd.env_remove(v);
    }
    let child = tokio::process::Command::from(cmd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = bounded(child.wait_with_output()).await.unwrap();
    let err = text(&out.stderr);
    assert!(err.contains("could not connect"), "{err}");
    assert!(err.contains("hint: run `aoai doctor`"), "{err}");
}
