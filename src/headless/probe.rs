//! `aoai probe [-d NAME,…] [--every SECS [--count N]] [--json]`: which deployment, in which
//! region, answers right now. Targets come from ARM (every account of every subscription the
//! connection browses, each on its own endpoint); without ARM, the connection's endpoint with
//! the deployments named. Exit codes: 0 every target answered in the last round, 1 one did
//! not, 2 bad flags or no target, 130 Ctrl+C.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::cli::ProbeArgs;
use crate::domain::num::fmt_ms;
use crate::domain::probe::{History, Sample, Target};
use crate::engine::connect::connect;
use crate::engine::probe::{clients, discover, round, targets};
use crate::headless::table::align;

fn opt_u(v: Option<u64>) -> String {
    v.map_or("—".into(), |v| v.to_string())
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("—".into(), fmt_ms)
}

/// The table of one round: a row per target, its sparkline once there is a history.
pub fn table(targets: &[Target], histories: &[History], round_no: u32) -> String {
    let head = [
        "DEPLOYMENT",
        "ACCOUNT",
        "REGION",
        "STATUS",
        "TTFT",
        "E2E",
        "REQ LEFT",
        "TOK LEFT",
        "OK",
        "E2E TREND",
    ];
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    for (t, h) in targets.iter().zip(histories) {
        let Some(s) = h.last() else { continue };
        let region = s.region.clone().unwrap_or_else(|| t.location.clone());
        let (ok, n) = h.ok_count();
        let mut status = s.status_text();
        if let Some(ms) = s.retry_after_ms.filter(|_| s.status == Some(429)) {
            status.push_str(&format!(" (retry {})", fmt_ms(ms as f64)));
        }
        rows.push(vec![
            t.deployment.clone(),
            t.account.clone(),
            region,
            status,
            opt_ms(s.ttft_ms),
            opt_ms(s.e2e_ms),
            opt_u(s.remaining_requests),
            opt_u(s.remaining_tokens),
            format!("{ok}/{n}"),
            h.sparkline(),
        ]);
    }
    let mut out = format!("probe round {round_no}\n");
    out.push_str(&align(&rows));
    for (t, h) in targets.iter().zip(histories) {
        if let Some(e) = h.last().and_then(|s| s.error.as_ref()) {
            out.push_str(&format!("  {} @ {}: {e}\n", t.deployment, t.account));
        }
    }
    out
}

pub async fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    if let Some(e) = args.every
        && !(e.is_finite() && e > 0.0)
    {
        bail!("--every must be a positive number of seconds, got {e}");
    }
    let conn = connect(&args.conn.options_for(args.deployment.first())).await?;
    let arm = conn.arm_clients();
    let found = if arm.is_empty() {
        // No ARM: the connection's own endpoint, the deployments named.
        if args.deployment.is_empty() {
            eprintln!(
                "aoai probe: no ARM access to list deployments: name them with -d (or give the profile `subscriptions`)"
            );
            return Ok(ExitCode::from(2));
        }
        let endpoint = conn.client.config().endpoint.as_str().to_string();
        args.deployment
            .iter()
            .map(|d| Target {
                deployment: d.clone(),
                model: String::new(),
                account: conn.client.config().endpoint.host(),
                location: String::new(),
                endpoint: endpoint.clone(),
            })
            .collect()
    } else {
        let views = match discover(&arm).await {
            Ok(v) => v,
            Err(e) => {
                eprintln!("aoai probe: listing the deployments: {e}");
                return Ok(ExitCode::from(1));
            }
        };
        match targets(&views, &args.deployment) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("aoai probe: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    };
    if found.is_empty() {
        eprintln!("aoai probe: no chat deployment to probe");
        return Ok(ExitCode::from(2));
    }
    let cs = clients(conn.client.config(), &found)?;
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        });
    }
    let mut histories = vec![History::default(); found.len()];
    let rounds = match args.every {
        None => 1,
        Some(_) => args.count.unwrap_or(u32::MAX).max(1),
    };
    let mut next_id = 1;
    let mut all_ok = false;
    for n in 1..=rounds {
        let started = tokio::time::Instant::now();
        let records = round(&cs, &found, next_id, &cancel).await;
        next_id += records.len() as u64;
        if cancel.is_cancelled() {
            return Ok(ExitCode::from(130));
        }
        let samples: Vec<Sample> = records.iter().map(Sample::of).collect();
        all_ok = samples.iter().all(|s| s.ok);
        for (h, s) in histories.iter_mut().zip(samples) {
            h.push(s);
        }
        if args.json {
            let rows: Vec<_> = found
                .iter()
                .zip(&histories)
                .map(|(t, h)| json!({ "target": t, "sample": h.last(), "ok": h.ok_count().0, "probed": h.ok_count().1 }))
                .collect();
            println!("{}", json!({ "round": n, "targets": rows }));
        } else {
            print!("{}", table(&found, &histories, n));
        }
        if n == rounds {
            break;
        }
        let wait = Duration::from_secs_f64(args.every.unwrap_or(0.0));
        tokio::select! {
            _ = tokio::time::sleep_until(started + wait) => {}
            _ = cancel.cancelled() => return Ok(ExitCode::from(130)),
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
