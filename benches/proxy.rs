//! The recording proxy's cost (figures, not assertions), on loopback against the in-process
//! simulator with zero latency:
//!  1. added TTFT: for sequential streamed calls, direct and through the proxy interleaved,
//!     the client's first content token minus the simulator's own first-token write (one
//!     monotonic clock), p50 / p99 each way; the difference is what the proxy adds;
//!  2. throughput: streamed calls per second with C concurrent clients, direct then through
//!     the proxy, and the ratio;
//!  3. memory (with `BENCH_SOAK_SECS`): the `aoai proxy` binary as its own process, loaded by
//!     C clients for that long; its resident memory sampled ten times, growth after warm-up.
//!
//! Run: `cargo bench --bench proxy` (env BENCH_CALLS, BENCH_SECS, BENCH_CONCURRENCY,
//! BENCH_SOAK_SECS).

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aoai::azure::{Auth, CallSpec, ChatClient, ClientConfig, Endpoint, Secret};
use aoai::domain::call::Outcome;
use aoai::engine::proxy::{self, ProxyOptions};
use aoai::sim::{SimConfig, Simulator};
use aoai::wire::{ChatMessage, ChatRequest};
use tokio_util::sync::CancellationToken;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn spec() -> CallSpec {
    CallSpec::new(
        "gpt-4o",
        ChatRequest {
            messages: vec![ChatMessage::new(
                "user",
                "Say something short about rate limits.",
            )],
            max_tokens: Some(32),
            seed: Some(7),
            ..Default::default()
        },
    )
}

fn client(base: &str) -> ChatClient {
    let cfg = ClientConfig::new(
        Endpoint::parse(base).unwrap(),
        Auth::ApiKey(Secret::new("bench")),
    );
    ChatClient::new(cfg).unwrap()
}

/// Streamed calls per second with `conc` clients for `secs`.
async fn throughput(client: &ChatClient, conc: u64, secs: u64) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..conc {
        let (client, done, errors) = (client.clone(), done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let (spec, cancel) = (spec(), CancellationToken::new());
            let mut i = 0u64;
            while Instant::now() < deadline {
                let rec = client
                    .run(w * 10_000_000 + i, &spec, &cancel, &mut |_| {})
                    .await;
                i += 1;
                let n = if rec.outcome == Outcome::Done {
                    &done
                } else {
                    &errors
                };
                n.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    (rate, errors.load(Ordering::Relaxed))
}

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        aoai::tokens::warm_up();
        let sim = Simulator::start(SimConfig::instant()).await.expect("sim starts");
        let proxy = proxy::start(
            ProxyOptions::new(url::Url::parse(&sim.base_url()).unwrap()),
            None,
        )
        .await
        .expect("proxy starts");
        let direct = client(&sim.base_url());
        let proxied = client(&proxy.base_url());

        // 1. Added TTFT, sequential and interleaved so drift hits both sides alike.
        let calls = env_or("BENCH_CALLS", 2000);
        let (spec, cancel) = (spec(), CancellationToken::new());
        let mut over = [Vec::new(), Vec::new()];
        let mut failed = 0;
        for i in 0..calls * 2 {
            let side = (i % 2) as usize;
            let c = if side == 0 { &direct } else { &proxied };
            let sent = Instant::now();
            let rec = c.run(i, &spec, &cancel, &mut |_| {}).await;
            let rid = rec.request_id.clone().unwrap_or_default();
            let server_first = sim
                .requests()
                .iter()
                .rev()
                .find(|e| e.request_id == rid)
                .and_then(|e| e.first_token_at);
            match (rec.outcome, server_first, rec.timing.ttft_ms) {
                (Outcome::Done, Some(first), Some(ttft)) => {
                    let seen = sent + Duration::from_secs_f64(ttft / 1000.0);
                    over[side].push(seen.saturating_duration_since(first).as_secs_f64() * 1000.0);
                }
                _ => failed += 1,
            }
        }
        for v in &mut over {
            v.sort_by(|a, b| a.total_cmp(b));
        }
        let (d50, d99) = (percentile(&over[0], 50.0), percentile(&over[0], 99.0));
        let (p50, p99) = (percentile(&over[1], 50.0), percentile(&over[1], 99.0));
        println!(
            "first token after the simulator wrote it, {calls} streamed calls each way ({failed} failed):"
        );
        println!("  direct        p50 {d50:.3} ms  p99 {d99:.3} ms");
        println!("  through proxy p50 {p50:.3} ms  p99 {p99:.3} ms");
        println!(
            "  added by the proxy: p50 {:.3} ms, p99 {:.3} ms",
            p50 - d50,
            p99 - d99
        );

        // 2. Throughput.
        let secs = env_or("BENCH_SECS", 5);
        let conc = env_or("BENCH_CONCURRENCY", 16);
        let (rd, ed) = throughput(&direct, conc, secs).await;
        let (rp, ep) = throughput(&proxied, conc, secs).await;
        println!(
            "throughput, {conc} clients × {secs} s: direct {rd:.0} calls/s ({ed} errors), through the proxy {rp:.0} calls/s ({ep} errors): {:.0} % of direct",
            100.0 * rp / rd
        );

        // 3. Memory of the proxy binary under load.
        let soak = env_or("BENCH_SOAK_SECS", 0);
        if soak > 0 {
            let mut child = Command::new(env!("CARGO_BIN_EXE_aoai"))
                .args(["proxy", "--port", "0", "--upstream", &sim.base_url()])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("aoai proxy starts");
            let mut first = String::new();
            let mut lines = std::io::BufReader::new(child.stdout.take().unwrap());
            lines.read_line(&mut first).unwrap();
            // The proxy prints a line per call: keep reading them, or it loses its stdout.
            std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
            let Some(url) = first.trim().strip_prefix("listening on ").map(str::to_string) else {
                println!("aoai proxy did not start (first line {first:?}); no soak figures");
                let _ = child.kill();
                let _ = child.wait();
                return;
            };
            let pid = child.id();
            let c = client(&url);
            let step = (soak / 10).max(1);
            let mut samples = Vec::new();
            let mut served = 0.0;
            for _ in 0..10 {
                let (rate, _) = throughput(&c, conc, step).await;
                served += rate * step as f64;
                samples.push(rss_kib(pid).unwrap_or(0));
            }
            let _ = child.kill();
            let _ = child.wait();
            let base = samples[0].max(1) as f64;
            let last = *samples.last().unwrap() as f64;
            let max = *samples.iter().max().unwrap() as f64;
            println!(
                "proxy process RSS over {soak} s ({served:.0} calls, {conc} clients), KiB per tenth: {samples:?}"
            );
            println!(
                "  after warm-up (first tenth) {base:.0} KiB → end {last:.0} KiB ({:+.1} %), peak {max:.0} KiB",
                100.0 * (last - base) / base
            );
        }
        drop(proxy);
        sim.shutdown().await;
    });
}
