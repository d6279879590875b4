//! Corporate egress on a jump box: `aoai` reaches Azure through the HTTPS proxy the
//! environment names, for both planes, and trusts a TLS-inspecting proxy's CA from
//! `SSL_CERT_FILE`. The chain is real: the `aoai` binary → mitmproxy in regular mode, only
//! tunnelling CONNECT (`ignore_hosts=.*`, TLS untouched) → mitmproxy in reverse mode, which
//! terminates TLS with a certificate from its own CA and forwards to the simulator. Skipped
//! without mitmdump (failed under `CI`), as tests/har.rs is. And plain http on loopback (the
//! simulator) stays direct whatever proxy the environment names.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{bounded, sim_with};

#[path = "common/az.rs"]
mod az;
#[path = "common/mitm.rs"]
mod mitm;
#[path = "common/sim.rs"]
mod raw;
use az::{TENANT, signed_in};
use mitm::{Kill, free_port, mitmdump_or_skip, spawn_mitmdump, wait_listening};

use serde_json::Value;

/// The two mitmdumps: `proxy` (egress, CONNECT only) and `front` (TLS in front of the sim).
struct Egress {
    _proxy: Kill,
    _front: Kill,
    proxy: String,
    front: String,
    front_port: u16,
    /// The CA the front's certificates chain to (what a corporate CA is on a jump box).
    front_ca: PathBuf,
    /// Another CA, which signed nothing the client sees.
    wrong_ca: PathBuf,
    proxy_log: PathBuf,
}

impl Egress {
    fn start(mitm: &Path, dir: &Path, sim_base: &str) -> Egress {
        let (proxy_port, front_port) = (free_port(), free_port());
        let (proxy_conf, front_conf) = (dir.join("proxy-conf"), dir.join("front-conf"));
        let proxy_log = dir.join("proxy.log");
        let proxy = spawn_mitmdump(
            mitm,
            proxy_port,
            &proxy_conf,
            &proxy_log,
            &["--set", "ignore_hosts=.*"],
        );
        let front = spawn_mitmdump(
            mitm,
            front_port,
            &front_conf,
            &dir.join("front.log"),
            &["--mode", &format!("reverse:{sim_base}")],
        );
        wait_listening(proxy_port);
        wait_listening(front_port);
        Egress {
            _proxy: proxy,
            _front: front,
            proxy: format!("http://127.0.0.1:{proxy_port}"),
            front: format!("https://localhost:{front_port}"),
            front_port,
            front_ca: front_conf.join("mitmproxy-ca-cert.pem"),
            wrong_ca: proxy_conf.join("mitmproxy-ca-cert.pem"),
            proxy_log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.proxy_log).unwrap_or_default()
    }

    /// How many tunnels the proxy opened to the front (one per CONNECT).
    fn tunnels(&self) -> usize {
        self.log()
            .matches(&format!("server connect localhost:{} ", self.front_port))
            .count()
    }

    /// Waits (bounded) until the proxy logged more than `before` tunnels.
    fn tunnelled_since(&self, before: usize) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.tunnels() > before {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// `aoai ARGS` with only `env` set (plus PATH, with `home/bin` first, and HOME).
async fn aoai(home: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let path = format!(
        "{}:{}",
        home.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aoai"));
    cmd.args(args)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .envs(env.iter().copied());
    let out = bounded(tokio::task::spawn_blocking(move || cmd.output()))
        .await
        .unwrap()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("aoai-egress-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("azure")).unwrap();
    d
}

#[tokio::test(flavor = "multi_thread")]
async fn both_planes_tunnel_through_an_https_proxy_and_trust_its_ca_from_ssl_cert_file() {
    let Some(mitm) = mitmdump_or_skip() else {
        return;
    };
    let sim = sim_with(|c| {
        c.account.subscription_name = "Sim Prod".into();
        c.account.tenant_id = TENANT.into();
    })
    .await;
    let home = dir("home");
    let e = Egress::start(&mitm, &home, &sim.base_url());
    let azure = home.join("azure");
    let azure = azure.to_str().unwrap();
    let ca = e.front_ca.to_str().unwrap();
    let chat = ["chat", "--endpoint", &e.front, "--api-key", "k"];
    let chat = |extra: &'static [&'static str]| [&chat[..], extra].concat();

    // NO_PROXY names the host: straight to it, the proxy sees nothing.
    let env = [
        ("AZURE_CONFIG_DIR", azure),
        ("HTTPS_PROXY", &e.proxy),
        ("NO_PROXY", "localhost"),
        ("SSL_CERT_FILE", ca),
    ];
    let (code, out, err) = aoai(&home, &env, &chat(&["-d", "gpt-4o", "--json", "hi"])).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    // (The readiness probe connected and hung up; a tunnel would be a server connect.)
    assert!(!e.log().contains("server connect"), "{}", e.log());

    // HTTPS_PROXY: the data plane tunnels with CONNECT; the front's CA is trusted.
    let env = [
        ("AZURE_CONFIG_DIR", azure),
        ("HTTPS_PROXY", &e.proxy),
        ("SSL_CERT_FILE", ca),
    ];
    let (code, out, err) = aoai(&home, &env, &chat(&["-d", "gpt-4o", "--json", "hi"])).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    assert!(v["text"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
    assert!(e.tunnelled_since(0), "no CONNECT seen: {}", e.log());

    // The ARM plane (signed in with the az CLI, ARM at the front), lower-case https_proxy.
    let signed = signed_in("egress-arm");
    let azure_in = signed.join("azure");
    let before = e.tunnels();
    let arm_env = [
        ("AZURE_CONFIG_DIR", azure_in.to_str().unwrap()),
        ("AOAI_ARM_ENDPOINT", &e.front),
        ("https_proxy", &e.proxy),
        ("SSL_CERT_FILE", ca),
    ];
    let (code, out, err) = aoai(&signed, &arm_env, &["deployments", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let names = v["accounts"][0]["deployments"].to_string();
    assert!(names.contains("\"gpt-4o\""), "{v}");
    assert!(e.tunnelled_since(before), "ARM did not tunnel: {}", e.log());

    // Entra ID (client secret; the authority at the front, which serves the simulator's token
    // endpoint): the token request tunnels too, then the chat call with the token.
    let config = home.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.corp]\nendpoint = \"{}\"\nauth = {{ type = \"entra\", credential = \"client-secret\" }}\n",
            e.front
        ),
    )
    .unwrap();
    let before = e.tunnels();
    let env = [
        ("AZURE_CONFIG_DIR", azure),
        ("HTTPS_PROXY", &e.proxy),
        ("SSL_CERT_FILE", ca),
        ("AZURE_AUTHORITY_HOST", &e.front),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000c1e47"),
        ("AZURE_CLIENT_SECRET", "sim-client-secret"),
    ];
    let args = [
        "chat",
        "--config",
        config.to_str().unwrap(),
        "--profile",
        "corp",
    ];
    let (code, out, err) = aoai(
        &home,
        &env,
        &[&args[..], &["-d", "gpt-4o", "--json", "hi"]].concat(),
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], 200, "{v}");
    assert!(
        e.tunnelled_since(before + 1),
        "token and chat did not both tunnel: {}",
        e.log()
    );
    // mitmdump shortens long URLs in its log: `POST http://SIM/<tenant>…`.
    let front = std::fs::read_to_string(home.join("front.log")).unwrap();
    assert!(
        front.contains(&format!("POST http://{}/{}", sim.addr, &TENANT[..20])),
        "the token request did not reach the front: {front}"
    );

    // A CA that did not sign the front's certificate: refused, in words that say what to do.
    let env = [
        ("AZURE_CONFIG_DIR", azure),
        ("HTTPS_PROXY", &e.proxy),
        ("SSL_CERT_FILE", e.wrong_ca.to_str().unwrap()),
    ];
    let (code, out, err) = aoai(&home, &env, &chat(&["-d", "gpt-4o", "hi"])).await;
    assert_ne!(code, 0, "{out}");
    let named = format!("SSL_CERT_FILE ({}) holds no CA", e.wrong_ca.display());
    assert!(
        err.contains("TLS certificate is not trusted") && err.contains(&named),
        "{err}"
    );
    let arm_env = [
        arm_env[0],
        arm_env[1],
        arm_env[2],
        ("SSL_CERT_FILE", e.wrong_ca.to_str().unwrap()),
    ];
    let (code, _, err) = aoai(&signed, &arm_env, &["deployments", "--json"]).await;
    assert_ne!(code, 0);
    assert!(
        err.contains("TLS certificate is not trusted") && err.contains("SSL_CERT_FILE"),
        "{err}"
    );

    // `aoai proxy` reaches its upstream through the egress proxy too.
    let before = e.tunnels();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aoai"));
    cmd.args(["proxy", "--port", "0", "--upstream", &e.front])
        .env_clear()
        .env("HOME", &home)
        .env("AZURE_CONFIG_DIR", azure)
        .env("HTTPS_PROXY", &e.proxy)
        .env("SSL_CERT_FILE", ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = Kill(cmd.spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let first = bounded(tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    }))
    .await
    .unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let r = raw::post(
        &format!("{base}/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"),
        &serde_json::json!({"messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        e.tunnelled_since(before),
        "aoai proxy did not tunnel: {}",
        e.log()
    );
}

#[tokio::test]
async fn plain_http_on_loopback_never_goes_through_a_proxy() {
    // The simulator on http://127.0.0.1 with a corporate HTTP_PROXY (here: a dead port) and
    // a NO_PROXY that does not list loopback: still answered.
    let sim = sim_with(|_| {}).await;
    let home = dir("loopback");
    let dead = format!("http://127.0.0.1:{}", free_port());
    let env = [
        (
            "AZURE_CONFIG_DIR",
            home.join("azure").to_str().unwrap().to_string(),
        ),
        ("HTTP_PROXY", dead.clone()),
        ("ALL_PROXY", dead),
        ("NO_PROXY", "example.com".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let base = sim.base_url();
    let (code, out, err) = aoai(
        &home,
        &env,
        &[
            "chat",
            "--endpoint",
            &base,
            "--api-key",
            "k",
            "-d",
            "gpt-4o",
            "--json",
            "hi",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], 200, "{v}");
}
