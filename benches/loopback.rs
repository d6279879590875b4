//! Loopback benchmarks (figures, not assertions):
//!  1. client measurement overhead: TTFT as the client measures it minus the simulator's own
//!     first-token write time, p50/p99 over N streamed calls;
//!  2. simulator throughput: streamed chat completions per second with C concurrent clients.
//!
//! Run: `cargo bench --bench loopback` (env BENCH_CALLS, BENCH_SECS, BENCH_CONCURRENCY).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aoai::azure::{Auth, CallSpec, ChatClient, ClientConfig, Endpoint, Secret};
use aoai::domain::call::Outcome;
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

fn request(max_tokens: u32) -> ChatRequest {
    ChatRequest {
        messages: vec![ChatMessage::new(
            "user",
            "Say something short about rate limits.",
        )],
        max_tokens: Some(max_tokens),
        seed: Some(7),
        ..Default::default()
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        aoai::tokens::warm_up();
        let sim = Simulator::start(SimConfig::instant()).await.expect("sim starts");
        let cfg = ClientConfig::new(Endpoint::parse(&sim.base_url()).unwrap(), Auth::ApiKey(Secret::new("bench")));
        let client = ChatClient::new(cfg).unwrap();

        // 1. Overhead, sequential calls so queueing does not pollute the figure.
        let calls = env_or("BENCH_CALLS", 2000);
        let spec = CallSpec::new("gpt-4o", request(32));
        let cancel = CancellationToken::new();
        let mut overhead_ms = Vec::with_capacity(calls as usize);
        let mut failed = 0;
        for i in 0..calls {
            let sent = Instant::now();
            let mut first_seen: Option<Instant> = None;
            let mut on = |ev: aoai::domain::call::CallEvent| {
                if matches!(ev, aoai::domain::call::CallEvent::FirstToken { .. }) && first_seen.is_none() {
                    first_seen = Some(Instant::now());
                }
            };
            let rec = client.run(i, &spec, &cancel, &mut on).await;
            if rec.outcome != Outcome::Done {
                failed += 1;
                continue;
            }
            let rid = rec.request_id.clone().unwrap_or_default();
            let log = sim.requests();
            let Some(entry) = log.iter().rev().find(|e| e.request_id == rid) else { failed += 1; continue };
            let (Some(server_first), Some(ttft)) = (entry.first_token_at, rec.timing.ttft_ms) else { failed += 1; continue };
            // Client TTFT (from `sent` inside the client) vs. the server's write instant, both on
            // the same monotonic clock: overhead = client-observed first token − server write.
            let client_first = sent + Duration::from_secs_f64(ttft / 1000.0);
            let _ = first_seen;
            let d = client_first.saturating_duration_since(server_first).as_secs_f64() * 1000.0;
            overhead_ms.push(d);
        }
        overhead_ms.sort_by(|a, b| a.total_cmp(b));
        println!(
            "client overhead (client TTFT − simulator first-token write), {} streamed calls ({} failed): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            overhead_ms.len(),
            failed,
            percentile(&overhead_ms, 50.0),
            percentile(&overhead_ms, 99.0),
            overhead_ms.last().copied().unwrap_or(f64::NAN)
        );

        // 2. Simulator throughput with concurrent clients for a fixed time.
        let secs = env_or("BENCH_SECS", 5);
        let conc = env_or("BENCH_CONCURRENCY", 32);
        let done = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..conc {
            let client = client.clone();
            let done = done.clone();
            let errors = errors.clone();
            tasks.push(tokio::spawn(async move {
                let spec = CallSpec::new("gpt-4o", request(32));
                let cancel = CancellationToken::new();
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let rec = client.run(w * 1_000_000 + i, &spec, &cancel, &mut |_| {}).await;
                    i += 1;
                    if rec.outcome == Outcome::Done { done.fetch_add(1, Ordering::Relaxed) } else { errors.fetch_add(1, Ordering::Relaxed) };
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let el = start.elapsed().as_secs_f64();
        let n = done.load(Ordering::Relaxed);
        println!(
            "simulator + client throughput: {n} streamed calls (32 max tokens) in {el:.1} s with {conc} concurrent clients = {:.0} calls/s ({} errors) — both on this machine's cores",
            n as f64 / el,
            errors.load(Ordering::Relaxed)
        );
        sim.shutdown().await;
    });
}
