//! Load-generator benchmark (figures, not assertions). The simulator runs on its own
//! single-threaded runtime and OS thread, `aoai bench`'s engine on another, in one process:
//! one core each on a 2-core machine, both on the same monotonic clock, and each thread's
//! CPU time read from /proc, so the two costs are told apart.
//!
//!  1. open loop at rising rates (streamed responses): achieved rate, drops and late starts,
//!     the generator's timing error (client first-token instant − the simulator's
//!     first-token write instant, joined by request id), CPU per 1,000 requests on each side;
//!  2. the simulator's own ceiling: closed loop with many clients until its thread is busy.
//!
//! The timing error is joined over every request of a row (the simulator's request log is
//! sized for it). `conns` is how many new connections a row opened.
//!
//! Run: `cargo bench --bench loadgen` (env LOADGEN_SECS, LOADGEN_RATES=rpm,rpm,…,
//! LOADGEN_CLIENTS, LOADGEN_PROMPT, LOADGEN_MAX_TOKENS, LOADGEN_CONNECTIONS (32; 0 = no cap),
//! LOADGEN_NICE (-10; 0 = leave), LOADGEN_PIN=1, LOADGEN_DEBUG=1 for the error per 100 ms
//! of each row: `slot:slow/requests<max up<client→sim max> in<sim received→first token>`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aoai::azure::{Auth, ChatClient, ClientConfig, Endpoint, Secret};
use aoai::domain::retry::RetryPolicy;
use aoai::domain::stats::{BenchReport, Hist};
use aoai::engine::bench::{LoadPlan, Pacing, PromptTemplate, Trace, run_load};
use aoai::sim::{SimConfig, SimHandle, Simulator};
use tokio_util::sync::CancellationToken;

/// mimalloc: the load generator and simulator allocate many small, short-lived buffers per
/// request, where it is markedly cheaper than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// This thread's id (`/proc/thread-self` → `/proc/PID/task/TID`).
fn tid() -> u32 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name()?.to_str()?.parse().ok())
        .unwrap_or(0)
}

/// Sets this thread's priority and, with LOADGEN_PIN=1, pins it to one CPU (the simulator
/// and the generator then never share a core or migrate mid-run).
fn prepare_thread(cpu: usize) {
    // A raised priority (LOADGEN_NICE, default -10; 0 leaves it): a kernel thread that wakes
    // on a core we use (here `kdamond`, ~1 ms at a time) then waits for us instead of
    // stalling the simulator or the generator mid-burst. Without the privilege, a note.
    let nice: i32 = env_or("LOADGEN_NICE", -10);
    if nice != 0 {
        // SAFETY: plain syscall on this thread's id.
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid(), nice) };
        if r != 0 {
            eprintln!(
                "note: could not raise the thread priority ({}); figures may be noisier",
                std::io::Error::last_os_error()
            );
        }
    }
    if std::env::var_os("LOADGEN_PIN").is_none() {
        return;
    }
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the call only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// CPU seconds (user + system) a thread of this process has used.
fn thread_cpu_s(tid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return f64::NAN;
    };
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after the command: state(3) … utime(14) stime(15); clock ticks of 1/100 s.
    (ticks(11) + ticks(12)) / 100.0
}

struct SimThread {
    handle: SimHandle,
    tid: u32,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn start_sim() -> SimThread {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        prepare_thread(0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut cfg = SimConfig::instant();
            // Every request of a run is joined with its client-side twin, not only the last 10,000.
            cfg.request_log = 200_000;
            for d in &mut cfg.deployments {
                if d.name == "gpt-4o" {
                    d.capacity = 100_000_000; // never the limit here
                }
            }
            let h = Simulator::start(cfg).await.expect("sim starts");
            tx.send((h, tid())).unwrap();
            let _ = stop_rx.await;
        });
    });
    let (handle, tid) = rx.recv().unwrap();
    SimThread {
        handle,
        tid,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Run {
    fin: BenchReport,
    wall_s: f64,
    gen_cpu_s: f64,
    sim_cpu_s: f64,
    err: Hist,
    conns: u64,
}

async fn one_run(client: &ChatClient, sim: &SimThread, plan: &LoadPlan, me: u32) -> Run {
    // Sized up front: growing a map of tens of thousands of entries mid-run is a multi-ms
    // stall on the generator's thread, which would show as timing error.
    let expect = match plan.pacing {
        Pacing::Rate { rpm } => (rpm / 60.0 * plan.duration.as_secs_f64() * 1.3) as usize,
        Pacing::Clients { .. } => 100_000,
    };
    let firsts: Arc<Mutex<HashMap<String, (Instant, Instant)>>> =
        Arc::new(Mutex::new(HashMap::with_capacity(expect)));
    let f2 = firsts.clone();
    let trace = Arc::new(move |t: &Trace| {
        if let (Some(rid), Some(first)) = (&t.request_id, t.first_token_at) {
            f2.lock().unwrap().insert(rid.clone(), (t.started, first));
        }
    });
    let c0 = sim.handle.connections();
    let (g0, s0, w0) = (thread_cpu_s(me), thread_cpu_s(sim.tid), Instant::now());
    let fin = run_load(
        client,
        plan,
        &CancellationToken::new(),
        Some(trace),
        &mut |_| {},
    )
    .await
    .expect("load runs");
    let (g1, s1, wall) = (thread_cpu_s(me), thread_cpu_s(sim.tid), w0.elapsed());
    // Join every request of the run (the simulator's log is sized for it).
    let mut err = Hist::latency();
    let firsts = firsts.lock().unwrap();
    let debug = std::env::var_os("LOADGEN_DEBUG").is_some();
    let mut buckets: std::collections::BTreeMap<u64, (u64, u64, u64, u64, u64)> =
        Default::default();
    for e in sim.handle.requests() {
        if let (Some((st, c)), Some(s)) = (firsts.get(&e.request_id), e.first_token_at) {
            let us = c.saturating_duration_since(s).as_micros() as u64;
            let up = e.received_at.saturating_duration_since(*st).as_micros() as u64;
            let inside = s.saturating_duration_since(e.received_at).as_micros() as u64;
            err.record(us);
            if debug {
                let b = buckets
                    .entry(s.saturating_duration_since(w0).as_millis() as u64 / 100)
                    .or_default();
                b.0 += 1;
                if us > 1000 {
                    b.1 += 1;
                }
                b.2 = b.2.max(us);
                b.3 = b.3.max(up);
                b.4 = b.4.max(inside);
            }
        }
    }
    if debug {
        let line: Vec<String> = buckets
            .iter()
            .map(|(k, (n, slow, max, up, inside))| {
                format!(
                    "{k}:{slow}/{n}<{:.1} up{:.1} in{:.1}",
                    *max as f64 / 1000.0,
                    *up as f64 / 1000.0,
                    *inside as f64 / 1000.0
                )
            })
            .collect();
        eprintln!("{}", line.join(" "));
    }
    Run {
        fin,
        wall_s: wall.as_secs_f64(),
        gen_cpu_s: g1 - g0,
        sim_cpu_s: s1 - s0,
        err,
        conns: sim.handle.connections() - c0,
    }
}

fn main() {
    let secs: f64 = env_or("LOADGEN_SECS", 3.0);
    let rates: Vec<f64> = std::env::var("LOADGEN_RATES")
        .unwrap_or_else(|_| "60000,120000,240000,360000,480000,600000,720000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let clients: usize = env_or("LOADGEN_CLIENTS", 64);
    let prompt: u32 = env_or("LOADGEN_PROMPT", 64);
    let max_tokens: u32 = env_or("LOADGEN_MAX_TOKENS", 16);
    // `aoai bench --connections 32`: a latency spike then queues starts instead of opening
    // hundreds of connections on the generator's busy thread (0 = no cap).
    let conns: Option<usize> = Some(env_or("LOADGEN_CONNECTIONS", 32usize)).filter(|&n| n > 0);

    aoai::tokens::warm_up();
    let sim = start_sim();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    prepare_thread(1);
    let me = tid();
    rt.block_on(async {
        let cfg = ClientConfig::new(
            Endpoint::parse(&sim.handle.base_url()).unwrap(),
            Auth::ApiKey(Secret::new("bench")),
        );
        let client = ChatClient::new(cfg).unwrap();
        let template = Arc::new(PromptTemplate::new(prompt, max_tokens));
        let plan = |pacing| LoadPlan {
            wire_api: None,
            deployment: "gpt-4o".into(),
            template: template.clone(),
            pacing,
            duration: Duration::from_secs_f64(secs),
            report_every: Duration::from_secs(3600),
            retry: RetryPolicy::None,
            max_in_flight: 4_000,
            connections: conns,
            drain: Duration::from_secs(10),
        };
        // Warm-up: connections, tokenizer, allocator.
        // Closed loop with as many clients as connections are allowed, so the pool holds
        // them all before the first measured row (opening connections mid-row is a stall).
        let warm = conns.unwrap_or(clients);
        let _ = one_run(&client, &sim, &plan(Pacing::Clients { n: warm }), me).await;

        println!(
            "open loop, streamed, {prompt} prompt / {max_tokens} max tokens, {secs} s per rate; generator and simulator one thread each"
        );
        println!(
            "{:>9} {:>9} {:>7} {:>6} {:>6} | {:>6} {:>6} | {:>9} {:>9} | {:>8} {:>8} {:>8} | {:>8} {:>6}",
            "target", "done/min", "failed", "drop", "late", "gen%", "sim%", "gen ms/k", "sim ms/k",
            "err p50", "err p99", "err max", "lag p99", "conns"
        );
        for rpm in rates {
            let r = one_run(&client, &sim, &plan(Pacing::Rate { rpm }), me).await;
            let f = &r.fin;
            let n = f.completed.max(1) as f64;
            let e = r.err.percentiles();
            println!(
                "{:>9.0} {:>9.0} {:>7} {:>6} {:>6} | {:>5.0}% {:>5.0}% | {:>9.1} {:>9.1} | {:>7.3}ms {:>7.3}ms {:>7.3}ms | {:>6.2}ms {:>6}",
                rpm,
                f.completed as f64 * 60.0 / r.wall_s,
                f.failed + f.throttled,
                f.dropped,
                f.late_starts,
                100.0 * r.gen_cpu_s / r.wall_s,
                100.0 * r.sim_cpu_s / r.wall_s,
                1000.0 * 1000.0 * r.gen_cpu_s / n,
                1000.0 * 1000.0 * r.sim_cpu_s / n,
                e.p50,
                e.p99,
                e.max,
                f.start_lag_ms.p99,
                r.conns,
            );
        }

        let r = one_run(&client, &sim, &plan(Pacing::Clients { n: clients }), me).await;
        let per_s = r.fin.completed as f64 / r.wall_s;
        let sim_busy = r.sim_cpu_s / r.wall_s;
        println!(
            "simulator ceiling: {clients} closed-loop clients: {:.0} streamed calls/s ({:.0}/min); simulator thread {:.0}% busy, generator {:.0}% → simulator alone ≈ {:.0}/min per core",
            per_s,
            per_s * 60.0,
            100.0 * sim_busy,
            100.0 * r.gen_cpu_s / r.wall_s,
            per_s * 60.0 / sim_busy.max(0.01)
        );
    });
}
