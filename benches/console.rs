//! Console performance, measured on the real binary in tmux (figures, not assertions):
//!  - launch → first full frame (status bar and prompt on screen), with the embedded simulator
//!    and with a remote endpoint; measured by polling `capture-pane`, so an upper bound that
//!    includes tmux's own latency;
//!  - CPU of the console process while idle for 10 s;
//!  - CPU of the console process while it streams 2,000 tokens/s for 10 s (the simulator runs
//!    in this bench process, so its CPU is not counted).
//!
//! Run: `cargo bench --bench console` (needs tmux). BENCH_SECS changes the 10 s windows.

use std::time::{Duration, Instant};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::{Tmux, cpu_percent_over};

use aoai::sim::config::{DeploymentConfig, LatencyConfig};
use aoai::sim::{SimConfig, Simulator};

fn first_frame(screen: &str) -> bool {
    screen.contains("F2 Chat") && screen.contains("Prompt")
}

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let bin = env!("CARGO_BIN_EXE_aoai");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut cfg = SimConfig::instant();
    let mut fast = DeploymentConfig::new(
        "stream-2k",
        "gpt-4o",
        "2024-11-20",
        "GlobalStandard",
        1_000_000,
    );
    fast.answer_tokens = [100_000, 100_000];
    fast.latency = LatencyConfig {
        tokens_per_s: 2000.0,
        ..LatencyConfig::default()
    };
    cfg.deployments.push(fast);
    let sim = rt.block_on(Simulator::start(cfg)).expect("sim starts");
    let tmux = Tmux::new();
    let env = "env -u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY TERM=xterm-256color";

    // First frame, embedded simulator (the newcomer's path), best of 5.
    let mut embedded = Vec::new();
    for i in 0..5 {
        let name = format!("e{i}");
        let t0 = Instant::now();
        tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "120",
            "-y",
            "40",
            &format!("exec {env} {bin}"),
        ]);
        let waited = tmux.wait_for(&name, Duration::from_secs(10), first_frame);
        embedded.push(waited.map(|_| t0.elapsed()));
        tmux.cmd(&["kill-session", "-t", &name]);
    }
    let remote_cmd = format!(
        "exec {env} {bin} --endpoint {} --api-key bench -d stream-2k --max-tokens 100000",
        sim.base_url()
    );
    let mut remote = Vec::new();
    for i in 0..5 {
        let name = format!("r{i}");
        let t0 = Instant::now();
        tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "120",
            "-y",
            "40",
            &remote_cmd,
        ]);
        remote.push(
            tmux.wait_for(&name, Duration::from_secs(10), first_frame)
                .map(|_| t0.elapsed()),
        );
        tmux.cmd(&["kill-session", "-t", &name]);
    }
    let ms = |v: &[Option<Duration>]| -> String {
        let mut got: Vec<f64> = v
            .iter()
            .flatten()
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        got.sort_by(|a, b| a.total_cmp(b));
        match (got.first(), got.get(got.len() / 2)) {
            (Some(best), Some(median)) => format!(
                "best {best:.0} ms, median {median:.0} ms ({} of {} runs)",
                got.len(),
                v.len()
            ),
            _ => "no frame within 10 s".into(),
        }
    };
    println!(
        "launch → first full frame, embedded simulator: {}",
        ms(&embedded)
    );
    println!(
        "launch → first full frame, remote endpoint:    {}",
        ms(&remote)
    );

    // Idle and streaming CPU on one console process.
    tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "main",
        "-x",
        "120",
        "-y",
        "40",
        &remote_cmd,
    ]);
    tmux.wait_for("main", Duration::from_secs(10), first_frame)
        .expect("console starts");
    let pid = tmux.pid("main");
    std::thread::sleep(Duration::from_millis(500));
    let idle = cpu_percent_over(pid, secs);
    println!("console CPU while idle for {secs} s: {idle:.2} % of one core");

    tmux.cmd(&["send-keys", "-t", "main", "-l", "stream please"]);
    tmux.cmd(&["send-keys", "-t", "main", "Enter"]);
    tmux.wait_for("main", Duration::from_secs(10), |s| s.contains("streaming"))
        .expect("stream starts");
    let streaming = cpu_percent_over(pid, secs);
    let still = tmux.capture("main").contains("streaming");
    println!(
        "console CPU while streaming 2,000 tokens/s for {secs} s: {streaming:.2} % of one core (still streaming at the end: {still})"
    );
    tmux.cmd(&["send-keys", "-t", "main", "Escape"]);
    drop(tmux);
    rt.block_on(sim.shutdown());
}
