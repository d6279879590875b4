//! End to end against a real OTLP backend: Arize Phoenix (PyPI `arize-phoenix`), started
//! headless on 127.0.0.1 with a temp working dir; `aoai chat` exports to it through
//! OTEL_EXPORTER_OTLP_ENDPOINT and the span is read back through Phoenix's REST API.
//! Skipped (with a message) only when Phoenix is not installed and CI is not set.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

struct Phoenix {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Phoenix {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn python() -> String {
    std::env::var("AOAI_PHOENIX_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn phoenix_installed() -> bool {
    Command::new(python())
        .args(["-c", "import phoenix"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Polls `f` every 250 ms until it returns `Some`, at most `limit`.
async fn poll<T>(limit: Duration, mut f: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let end = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < end {
        if let Some(v) = f().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_arrive_in_phoenix_with_the_gen_ai_attributes() {
    if !phoenix_installed() {
        assert!(
            std::env::var("CI").is_err(),
            "CI: Phoenix (pip install arize-phoenix) must be installed for this test"
        );
        println!("SKIPPED: Arize Phoenix is not installed (pip install arize-phoenix)");
        return;
    }
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("aoai-phoenix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new(python())
        .args(["-m", "phoenix.server.main", "serve"])
        .env("PHOENIX_HOST", "127.0.0.1")
        .env("PHOENIX_PORT", port.to_string())
        .env("PHOENIX_GRPC_PORT", free_port().to_string())
        .env("PHOENIX_WORKING_DIR", &dir)
        .env("PHOENIX_TELEMETRY_ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start phoenix");
    let _guard = Phoenix { child, dir };
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let up = poll(Duration::from_secs(120), async || {
        let r = http.get(format!("{base}/healthz")).send().await.ok()?;
        r.status().is_success().then_some(())
    })
    .await;
    assert!(up.is_some(), "Phoenix did not come up on {base} in 120 s");

    let sim = sim().await;
    let sim_url = sim.base_url();
    let endpoint = base.clone();
    let out = bounded(tokio::task::spawn_blocking(move || {
        aoai()
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env("OTEL_SERVICE_NAME", "aoai-phoenix-test")
            .args([
                "chat",
                "--endpoint",
                &sim_url,
                "--api-key",
                "canary-key-7f3a9",
            ])
            .args(["-d", "gpt-4o", "--json", "Name three fruits"])
            .timeout(LIMIT)
            .output()
            .unwrap()
    }))
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec: Value = serde_json::from_slice(&out.stdout).unwrap();

    let url = format!("{base}/v1/projects/default/spans?limit=10");
    let span = poll(Duration::from_secs(30), async || {
        let v: Value = http.get(&url).send().await.ok()?.json().await.ok()?;
        v["data"]
            .as_array()?
            .iter()
            .find(|s| s["name"] == "chat gpt-4o")
            .cloned()
    })
    .await
    .expect("the span reached Phoenix");
    let a = &span["attributes"];
    assert_eq!(a["gen_ai.operation.name"], "chat");
    assert_eq!(a["gen_ai.provider.name"], "azure.ai.openai");
    assert_eq!(a["gen_ai.request.model"], "gpt-4o");
    assert_eq!(a["gen_ai.response.model"], rec["model"]);
    assert_eq!(
        a["gen_ai.usage.input_tokens"],
        rec["usage"]["prompt_tokens"]
    );
    assert_eq!(
        a["gen_ai.usage.output_tokens"],
        rec["usage"]["completion_tokens"]
    );
    assert_eq!(a["azure.request_id"], rec["request_id"]);
    assert!(!span.to_string().contains("canary-key-7f3a9"));
}
