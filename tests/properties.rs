//! Properties of the pure core, checked with proptest (docs/reliability.md, "Fuzzing and
//! properties"):
//!
//! - a stream reads the same however its bytes are split into reads: every split point of a
//!   real recorded stream (chat and Responses), and random many-way splits of every recorded
//!   stream, for the client's reading and the proxy's;
//! - a retry decision never waits past its cap, and gives up once the attempts are spent;
//! - HDR percentiles agree with a sorted reference to the histogram's precision, and the
//!   nearest-rank percentiles of reports equal it exactly;
//! - cost in integer pico-dollars is additive: pricing many calls one by one sums to pricing
//!   their total (a SKU multiplier's rounding loses less than one pico-dollar a call);
//! - PTU sizing is monotone: more load never needs fewer PTUs.
//!
//! Case counts are kept small so the file runs in a few seconds in a debug build.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;
use std::time::Duration;

use aoai::domain::call::WireApi;
use aoai::domain::cost::PriceTable;
use aoai::domain::ptu::{DeploymentType, Increment, PtuTable, Workload, deployable};
use aoai::domain::rank;
use aoai::domain::retry::{AttemptOutcome, Decision, RetryPolicy, backoff_ms, decide};
use aoai::domain::stats::Hist;
use aoai::domain::usage::Usage;
use harness::{client_reading, tap_reading};
use proptest::prelude::*;

/// The recorded streams of the conformance corpus: (file, wire API, body).
fn recorded_streams() -> Vec<(String, WireApi, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conformance");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for p in files {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).expect("a fixture is JSON");
        let body = v["response"]["body"]
            .as_str()
            .unwrap_or("")
            .as_bytes()
            .to_vec();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if v["response"]["status"] != 200
            || !body.starts_with(b"data:") && !body.starts_with(b"event:")
        {
            continue;
        }
        let api = if name.starts_with('9') {
            WireApi::Responses
        } else {
            WireApi::Chat
        };
        out.push((name, api, body));
    }
    assert!(out.len() >= 15, "the corpus has its streams");
    out
}

fn stream(prefix: &str) -> (String, WireApi, Vec<u8>) {
    recorded_streams()
        .into_iter()
        .find(|(n, _, _)| n.starts_with(prefix))
        .unwrap_or_else(|| panic!("no recorded stream {prefix}"))
}

/// Every split point of one real stream of each API: two reads read the same as one.
#[test]
fn every_split_point_of_a_recorded_stream_reads_the_same() {
    // 08: a chat stream of tool-call fragments; 91: a Responses stream (deployments path).
    for prefix in ["08-", "91-"] {
        let (name, api, body) = stream(prefix);
        let whole = client_reading(api, [&body[..]]);
        let tapped = format!("{:?}", tap_reading(api, 200, [&body[..]]));
        assert!(whole.error.is_none(), "{name}: {:?}", whole.error);
        assert!(
            !whole.state.text.is_empty() || whole.state.tool_calls > 0,
            "{name}"
        );
        for i in 0..=body.len() {
            let (a, b) = body.split_at(i);
            assert_eq!(
                client_reading(api, [a, b]),
                whole,
                "{name}: client, split at {i}"
            );
            assert_eq!(
                format!("{:?}", tap_reading(api, 200, [a, b])),
                tapped,
                "{name}: proxy, split at {i}"
            );
        }
    }
}

/// Reads cut at random points (several cuts per stream).
fn cuts(len: usize, points: &[usize]) -> Vec<usize> {
    let mut c: Vec<usize> = points.iter().map(|p| p % (len + 1)).collect();
    c.sort_unstable();
    c.dedup();
    c
}

fn pieces<'a>(body: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts {
        out.push(&body[at..c]);
        at = c;
    }
    out.push(&body[at..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_recorded_stream_reads_the_same_in_random_reads(
        points in prop::collection::vec(any::<usize>(), 1..12),
    ) {
        for (name, api, body) in recorded_streams() {
            let c = cuts(body.len(), &points);
            let reads = pieces(&body, &c);
            prop_assert_eq!(
                client_reading(api, reads.iter().copied()),
                client_reading(api, [&body[..]]),
                "{}: client, cut at {:?}", name, c
            );
            prop_assert_eq!(
                format!("{:?}", tap_reading(api, 200, reads.iter().copied())),
                format!("{:?}", tap_reading(api, 200, [&body[..]])),
                "{}: proxy, cut at {:?}", name, c
            );
        }
    }

    /// Made-up streams too: CRLF line ends, comments, a bare `[DONE]`, no final blank line.
    #[test]
    fn made_up_streams_read_the_same_in_random_reads(
        texts in prop::collection::vec("[a-z é\"\\\\]{0,6}", 0..6),
        crlf in any::<bool>(),
        comment in any::<bool>(),
        bare_done in any::<bool>(),
        final_blank in any::<bool>(),
        points in prop::collection::vec(any::<usize>(), 1..8),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut s = String::new();
        for (i, t) in texts.iter().enumerate() {
            if comment {
                s.push_str(&format!(": keep-alive {i}{nl}"));
            }
            let delta = serde_json::json!({"id": "c", "model": "m",
                "choices": [{"index": 0, "delta": {"content": t}}]});
            s.push_str(&format!("data: {delta}{nl}{nl}"));
        }
        let fin = serde_json::json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        s.push_str(&format!("data: {fin}{nl}{nl}"));
        s.push_str(if bare_done { "[DONE]" } else { "data: [DONE]" });
        if final_blank {
            s.push_str(nl);
            s.push_str(nl);
        }
        let body = s.as_bytes();
        let whole = client_reading(WireApi::Chat, [body]);
        prop_assert_eq!(whole.error.as_deref(), None);
        prop_assert!(whole.state.saw_done);
        prop_assert_eq!(&whole.state.text, &texts.concat());
        let c = cuts(body.len(), &points);
        let reads = pieces(body, &c);
        prop_assert_eq!(&client_reading(WireApi::Chat, reads.iter().copied()), &whole);
        prop_assert_eq!(
            format!("{:?}", tap_reading(WireApi::Chat, 200, reads.iter().copied())),
            format!("{:?}", tap_reading(WireApi::Chat, 200, [body]))
        );
    }
}

fn outcome() -> impl Strategy<Value = AttemptOutcome> {
    prop_oneof![
        Just(AttemptOutcome::Transport),
        (
            prop_oneof![Just(429u16), Just(408), Just(500), Just(503), 100u16..600],
            proptest::option::of(prop_oneof![0u64..120_000, any::<u64>()]),
        )
            .prop_map(|(status, retry_after_ms)| AttemptOutcome::Status {
                status,
                retry_after_ms
            }),
    ]
}

fn policy() -> impl Strategy<Value = RetryPolicy> {
    prop_oneof![
        Just(RetryPolicy::None),
        Just(RetryPolicy::honor()),
        (1u32..10, prop_oneof![0u64..100_000, any::<u64>()]).prop_map(
            |(max_attempts, max_wait_ms)| {
                RetryPolicy::Honor {
                    max_attempts,
                    max_wait_ms,
                }
            }
        ),
        "[a-z0-9-]{1,12}".prop_map(|deployment| RetryPolicy::Failover { deployment }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// A retry never waits past the policy's cap, never after the attempts are spent, and
    /// a whole call's waits sum to at most (attempts − 1) × cap.
    #[test]
    fn a_retry_never_waits_past_its_cap(
        policy in policy(),
        outcomes in prop::collection::vec(outcome(), 1..12),
    ) {
        let mut attempts = 0u32;
        let mut waited = 0u128;
        let mut failed_over = false;
        for o in outcomes {
            attempts += 1;
            match decide(&policy, attempts, o, failed_over) {
                Decision::GiveUp => break,
                Decision::Retry { after_ms, deployment } => match &policy {
                    RetryPolicy::None => prop_assert!(false, "policy none retried"),
                    RetryPolicy::Honor { max_attempts, max_wait_ms } => {
                        prop_assert!(after_ms <= *max_wait_ms, "{after_ms} > cap {max_wait_ms}");
                        prop_assert!(attempts < *max_attempts, "retry {attempts} of {max_attempts}");
                        prop_assert!(deployment.is_none());
                        if let AttemptOutcome::Status { retry_after_ms: None, .. }
                            | AttemptOutcome::Transport = o
                        {
                            prop_assert!(after_ms <= 8_000, "backoff {after_ms} over 8 s");
                        }
                        waited += u128::from(after_ms);
                        prop_assert!(
                            waited <= u128::from(*max_wait_ms) * u128::from(max_attempts - 1)
                        );
                    }
                    RetryPolicy::Failover { deployment: d } => {
                        prop_assert_eq!(after_ms, 0);
                        prop_assert_eq!(deployment.as_deref(), Some(d.as_str()));
                        prop_assert!(!failed_over, "failed over twice");
                        failed_over = true;
                    }
                },
            }
        }
    }

    #[test]
    fn backoff_grows_and_stays_capped(n in any::<u32>()) {
        prop_assert!(backoff_ms(n) <= 8_000);
        prop_assert!(backoff_ms(n) >= 500);
        prop_assert!(backoff_ms(n.saturating_add(1)) >= backoff_ms(n));
    }
}

/// The nearest-rank reference: the ⌈q·n⌉-th smallest (at least the first).
fn reference(sorted: &[u64], q: f64) -> u64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Whether `got` is `want` to 3 significant digits (the histograms' precision), allowing for
/// a rank either side (float rounding of q·n).
fn agrees(sorted: &[u64], q: f64, got: u64) -> bool {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let lo = sorted[rank.saturating_sub(2)];
    let hi = sorted[rank.min(sorted.len() - 1)];
    let slack = |v: u64| v / 500 + 1;
    got + slack(lo) >= lo && got <= hi + slack(hi)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Latency histograms (µs in, ms out) against the sorted values.
    #[test]
    fn hdr_percentiles_agree_with_a_sorted_reference(
        us in prop::collection::vec(prop_oneof![1u64..2_000, 1u64..3_600_000_000], 1..400),
    ) {
        let mut h = Hist::latency();
        for v in &us {
            h.record_duration(Duration::from_micros(*v));
        }
        let mut sorted = us.clone();
        sorted.sort_unstable();
        let p = h.percentiles();
        prop_assert_eq!(p.count, us.len() as u64);
        for (q, got) in [(0.50, p.p50), (0.90, p.p90), (0.95, p.p95), (0.99, p.p99), (1.0, p.max)] {
            let got_us = (got * 1000.0).round() as u64;
            prop_assert!(
                agrees(&sorted, q, got_us),
                "p{} = {} µs, sorted reference {} µs", q * 100.0, got_us, reference(&sorted, q)
            );
        }
        let mean = us.iter().map(|v| *v as f64).sum::<f64>() / us.len() as f64;
        prop_assert!((p.mean * 1000.0 - mean).abs() <= mean / 500.0 + 1.0);
        prop_assert!(p.p50 <= p.p90 && p.p90 <= p.p95 && p.p95 <= p.p99 && p.p99 <= p.max);
    }

    /// Two histograms added read as one histogram of all the values.
    #[test]
    fn added_histograms_read_as_one(
        a in prop::collection::vec(1u64..10_000_000, 0..200),
        b in prop::collection::vec(1u64..10_000_000, 0..200),
    ) {
        let (mut ha, mut hb, mut all) = (Hist::values(1.0), Hist::values(1.0), Hist::values(1.0));
        for v in &a { ha.record(*v); all.record(*v); }
        for v in &b { hb.record(*v); all.record(*v); }
        ha.add(&hb);
        prop_assert_eq!(ha.percentiles(), all.percentiles());
    }

    /// Nearest-rank percentiles (reports, compare) equal the reference exactly, and the eval
    /// report's copy agrees with them.
    #[test]
    fn nearest_rank_percentiles_equal_the_reference(
        v in prop::collection::vec(0u64..1_000_000, 0..300),
        p in 0.1f64..=100.0,
    ) {
        let f: Vec<f64> = v.iter().map(|x| *x as f64).collect();
        let mut sorted = v.clone();
        sorted.sort_unstable();
        let sf: Vec<f64> = sorted.iter().map(|x| *x as f64).collect();
        let want = (!v.is_empty()).then(|| reference(&sorted, p / 100.0) as f64);
        prop_assert_eq!(rank::nearest_rank(&sf, p), want);
        prop_assert_eq!(aoai::domain::eval::report::nearest_rank(&f, p), want);
        let ps = rank::Percentiles::of(f);
        prop_assert_eq!(ps.n, v.len());
        prop_assert_eq!(ps.p50, rank::nearest_rank(&sf, 50.0));
        prop_assert_eq!(ps.p95, rank::nearest_rank(&sf, 95.0));
        prop_assert_eq!(ps.max, sf.last().copied());
    }
}

fn usage() -> impl Strategy<Value = Usage> {
    (0u64..2_000_000, 0u64..200_000, any::<u64>()).prop_map(|(prompt, completion, c)| Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        cached_tokens: if prompt == 0 { 0 } else { c % (prompt + 1) },
        reasoning_tokens: 0,
        total_tokens: prompt + completion,
    })
}

fn sum(calls: &[Usage]) -> Usage {
    let mut t = Usage::default();
    for u in calls {
        t.prompt_tokens += u.prompt_tokens;
        t.completion_tokens += u.completion_tokens;
        t.cached_tokens += u.cached_tokens;
        t.total_tokens += u.total_tokens;
    }
    t
}

const PRICED: &[&str] = &["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-5-mini", "o3-mini"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Pricing calls one by one in pico-dollars sums exactly to pricing their total; with a
    /// SKU multiplier each call rounds down by less than one pico-dollar. The dollars a report
    /// adds up (f64) stay within a part in 10¹² of the exact total.
    #[test]
    fn integer_cost_never_drifts(
        calls in prop::collection::vec(usage(), 1..200),
        model in prop::sample::select(PRICED),
    ) {
        let prices = PriceTable::builtin();
        prop_assume!(prices.lookup(model).is_some());
        let one_by_one: u128 = calls
            .iter()
            .map(|u| prices.cost_pico(model, None, u).unwrap())
            .sum();
        let total = sum(&calls);
        prop_assert_eq!(one_by_one, prices.cost_pico(model, None, &total).unwrap());
        let dollars: f64 = calls.iter().map(|u| prices.cost_usd(model, None, u).unwrap()).sum();
        let exact = aoai::domain::cost::pico_to_usd(one_by_one);
        prop_assert!((dollars - exact).abs() <= exact * 1e-12 * calls.len() as f64 + 1e-15);
        let sku = "DataZoneStandard";
        let parts: u128 = calls
            .iter()
            .map(|u| prices.cost_pico(model, Some(sku), u).unwrap())
            .sum();
        let whole = prices.cost_pico(model, Some(sku), &total).unwrap();
        prop_assert!(parts <= whole && whole - parts < calls.len() as u128);
    }
}

fn workload() -> impl Strategy<Value = Workload> {
    let tokens = prop_oneof![0.0f64..20_000.0, 0.0f64..1e12];
    (
        tokens.clone(),
        tokens,
        0.0f64..=1.0,
        prop_oneof![0.0f64..10_000.0, 0.0f64..1e15],
    )
        .prop_map(|(prompt, completion, cached_share, rpm)| Workload {
            prompt_tokens: prompt,
            completion_tokens: completion,
            cached_tokens: prompt * cached_share,
            rpm,
        })
}

const KINDS: [DeploymentType; 3] = [
    DeploymentType::Global,
    DeploymentType::Datazone,
    DeploymentType::Regional,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// More requests, longer prompts or longer answers never need fewer PTUs; more of the
    /// prompt cached never needs more.
    #[test]
    fn more_load_never_needs_fewer_ptus(
        w in workload(),
        more_rpm in 1.0f64..4.0,
        more_prompt in 1.0f64..4.0,
        more_completion in 1.0f64..4.0,
        less_cached in 0.0f64..=1.0,
    ) {
        let table = PtuTable::builtin();
        let bigger = Workload {
            rpm: w.rpm * more_rpm,
            prompt_tokens: w.prompt_tokens * more_prompt,
            completion_tokens: w.completion_tokens * more_completion,
            cached_tokens: w.cached_tokens * less_cached,
        };
        for model in table.names() {
            for kind in KINDS {
                let Ok(small) = table.estimate(model, kind, &w) else { continue };
                let big = table.estimate(model, kind, &bigger).expect("a bigger load is sized");
                prop_assert!(
                    big.ptu >= small.ptu,
                    "{model} {kind:?}: {} PTU for {w:?}, {} for {bigger:?}", small.ptu, big.ptu
                );
                prop_assert!(small.ptu >= small.min);
                prop_assert_eq!((small.ptu - small.min) % small.step.max(1), 0);
            }
        }
    }

    /// Rounding to deployable PTUs is monotone, never under the exact need (but for float
    /// noise), never a whole step over it, and stops at the most whole steps a `u64` holds.
    #[test]
    fn deployable_ptus_round_up_by_whole_steps(
        a in prop_oneof![0.0f64..5_000.0, 0.0f64..1e30, Just(f64::INFINITY)],
        b in prop_oneof![0.0f64..5_000.0, 0.0f64..1e30, Just(f64::INFINITY)],
        min in 1u64..500,
        step in 1u64..200,
    ) {
        let inc = Increment { min, step };
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(deployable(lo, inc) <= deployable(hi, inc));
        let d = deployable(lo, inc);
        prop_assert!(d >= min);
        if lo < 1e15 {
            prop_assert!(d as f64 >= lo - 1e-6);
            prop_assert!((d as f64) < lo.max(min as f64) + step as f64);
            prop_assert_eq!((d - min) % step, 0);
        }
    }
}
