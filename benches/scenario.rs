//! Scenario load + report at scale (figures, not assertions): writes a 100,000-call scenario
//! (calls recorded from the simulator, then repeated with varied figures), then measures
//!  - `aoai replay FILE --report --json` as a user runs it: wall time and peak RSS (child rusage);
//!  - `aoai replay FILE` (the console) in tmux: launch → first frame, → every call listed, its
//!    RSS then, and the last call played;
//!  - a full in-memory load (`aoai::engine::record::load`, what `sim --replay` reads): time and
//!    the growth of this process's peak RSS.
//!
//! Run: `cargo bench --bench scenario` (BENCH_CALLS changes the count).

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

#[path = "support/tmux.rs"]
mod tmux;
use tmux::Tmux;

use aoai::azure::{Auth, CallSpec, ChatClient, ClientConfig, Endpoint, Secret};
use aoai::domain::scenario::Header;
use aoai::sim::config::ChunkFilterResults;
use aoai::sim::{SimConfig, Simulator};
use aoai::wire::{ChatMessage, ChatRequest};
use tokio_util::sync::CancellationToken;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("aoai-bench-scenario-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.jsonl");

    // A few real calls recorded from the simulator (2026-style `{}` chunk filter results).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let templates = rt.block_on(async {
        let mut cfg = SimConfig::instant();
        cfg.chunk_filter_results = ChunkFilterResults::Empty;
        let sim = Simulator::start(cfg).await.unwrap();
        let ccfg = ClientConfig::new(
            Endpoint::parse(&sim.base_url()).unwrap(),
            Auth::ApiKey(Secret::new("k")),
        );
        let client = ChatClient::new(ccfg.clone()).unwrap();
        let mut out = Vec::new();
        for i in 0..8 {
            let req = ChatRequest {
                messages: vec![
                    ChatMessage::new("system", "You are terse."),
                    ChatMessage::new("user", &format!("Question {i} about quotas?")),
                ],
                max_tokens: Some(48),
                seed: Some(i),
                ..Default::default()
            };
            let mut spec = CallSpec::new("gpt-4o", req);
            spec.capture_events = true;
            let started = SystemTime::now();
            let rec = client
                .run(i as u64, &spec, &CancellationToken::new(), &mut |_| {})
                .await;
            out.push(aoai::engine::record::scenario_call(
                &ccfg, &spec, rec, started,
            ));
        }
        out
    });
    let t0 = Instant::now();
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(
            f,
            "{}",
            serde_json::to_string(&Header::new(
                "2026-11-23T00:00:00Z".into(),
                Some("bench".into())
            ))
            .unwrap()
        )
        .unwrap();
        for i in 0..n {
            let mut c = templates[i % templates.len()].clone();
            c.record.id = i as u64 + 1;
            if let Some(t) = c.record.timing.ttft_ms.as_mut() {
                *t += (i % 997) as f64 * 0.37;
            }
            if let Some(e) = c.record.timing.e2e_ms.as_mut() {
                *e += (i % 991) as f64 * 1.3;
            }
            writeln!(f, "{}", serde_json::to_string(&c).unwrap()).unwrap();
        }
    }
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "wrote {n} calls, {:.1} MB ({:.1} KB per call, {} events per call) in {:.1} s",
        size as f64 / 1e6,
        size as f64 / n as f64 / 1e3,
        templates[0].record.events.len(),
        t0.elapsed().as_secs_f64()
    );

    // 1. The report, as a user runs it.
    let bin = env!("CARGO_BIN_EXE_aoai");
    let t = Instant::now();
    // Reaped by `wait4` below, which also gives its peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(bin)
        .args(["replay", path.to_str().unwrap(), "--report", "--json"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child and fills a zeroed rusage.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = t.elapsed().as_secs_f64();
    let rss_kib = usage.ru_maxrss as u64;
    println!(
        "aoai replay --report on {n} calls: {wall:.2} s, peak RSS {:.1} MB = {:.2}× the file size (exit status {status})",
        rss_kib as f64 / 1024.0,
        rss_kib as f64 * 1024.0 / size as f64
    );

    // 2. The console on the file, as `aoai replay FILE` opens it, in tmux: the first frame
    //    (the table with its first rows), the whole file listed, the console's memory then,
    //    and the last call played (read back from its line).
    let tmux = Tmux::new();
    let t = Instant::now();
    tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "replay",
        "-x",
        "120",
        "-y",
        "40",
        &format!(
            "exec env -u AZURE_OPENAI_ENDPOINT -u AZURE_OPENAI_API_KEY TERM=xterm-256color {bin} replay {} --speed 0",
            path.display()
        ),
    ]);
    let first = tmux
        .wait_for("replay", Duration::from_secs(30), |s| {
            s.contains("Replay · big.jsonl") && s.contains("Call 1 of")
        })
        .map(|_| t.elapsed());
    let all = format!("· {} calls ·", group(n));
    let listed = tmux
        .wait_for("replay", Duration::from_secs(120), |s| s.contains(&all))
        .map(|_| t.elapsed());
    let pid = tmux.pid("replay");
    let rss = rss_kib(pid);
    let secs = |d: Option<Duration>| {
        d.map_or("not within the limit".into(), |d| {
            format!("{:.2} s", d.as_secs_f64())
        })
    };
    println!(
        "console (aoai replay FILE): first frame {}, all {n} calls listed {}, console RSS then {:.1} MB = {:.2}× the file size",
        secs(first),
        secs(listed),
        rss as f64 / 1024.0,
        rss as f64 * 1024.0 / size as f64
    );
    tmux.cmd(&["send-keys", "-t", "replay", "End"]);
    tmux.cmd(&["send-keys", "-t", "replay", "Enter"]);
    let t = Instant::now();
    let played = tmux.wait_for("replay", Duration::from_secs(30), |s| s.contains("✓ done"));
    println!(
        "console: the last call played (read back from its line) in {}",
        secs(played.map(|_| t.elapsed()))
    );
    drop(tmux);

    // 3. A full in-memory load (what `aoai sim --replay` and `--resend` read).
    let before = peak_rss_kib();
    let t = Instant::now();
    let loaded = aoai::engine::record::load(&path).unwrap();
    let load_s = t.elapsed().as_secs_f64();
    let grew = peak_rss_kib().saturating_sub(before);
    println!(
        "full load of {} calls: {load_s:.2} s, peak RSS grew {:.1} MB = {:.2}× the file size",
        loaded.calls.len(),
        grew as f64 / 1024.0,
        grew as f64 * 1024.0 / size as f64
    );
    drop(loaded);
    let _ = std::fs::remove_dir_all(&dir);
}

/// 100000 as the console writes it: 100,000.
fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
