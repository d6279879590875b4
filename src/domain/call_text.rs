//! A call's figures as text: the block `aoai chat` prints after the answer and the console's
//! History screen shows.

use crate::domain::call::{CallRecord, Outcome, WireApi};
use crate::domain::num::{fmt_ms, opt_ms, opt_u};

/// The human-readable figures of a call, as printed after the answer.
pub fn metrics_block(r: &CallRecord, sim: bool) -> String {
    let mut out = String::new();
    let status = r
        .status
        .map_or("no response".to_string(), |s| s.to_string());
    let outcome = match r.outcome {
        Outcome::Done => r.finish_reason.clone().unwrap_or_else(|| "done".into()),
        Outcome::Failed => "failed".into(),
        Outcome::Throttled => "throttled".into(),
        Outcome::Cancelled => "cancelled".into(),
    };
    // A Responses call says so next to its path; a chat call reads as it always has.
    let wire = match r.wire_api {
        WireApi::Chat => "",
        WireApi::Responses => " responses",
    };
    let mut head = format!(
        "── {} · {}{wire} · {} · {}",
        r.deployment,
        r.api.as_str(),
        status,
        outcome
    );
    if let Some(m) = &r.model {
        head.push_str(&format!(" · {m}"));
    }
    if let Some(region) = &r.region {
        head.push_str(&format!(" · {region}"));
    }
    if sim {
        head.push_str(" · simulator");
    }
    out.push_str(&head);
    out.push('\n');
    let t = &r.timing;
    out.push_str(&format!(
        "   ttfb {} · ttft {} · e2e {} · {}\n",
        opt_ms(t.ttfb_ms),
        opt_ms(t.ttft_ms),
        opt_ms(t.e2e_ms),
        t.tokens_per_s
            .map_or("— tok/s".to_string(), |v| format!("{v:.1} tok/s"))
    ));
    if t.first_summary_ms.is_some() || r.reasoning_summary.is_some() {
        let chars = r
            .reasoning_summary
            .as_ref()
            .map_or(0, |s| s.chars().count());
        out.push_str(&format!(
            "   reasoning summary first at {} · {chars} chars (not the answer: TTFT excludes it)\n",
            opt_ms(t.first_summary_ms)
        ));
    }
    match &r.usage {
        Some(u) => out.push_str(&format!(
            "   tokens prompt {} (cached {}) · completion {} (reasoning {}) · total {} · cost {}\n",
            u.prompt_tokens,
            u.cached_tokens,
            u.completion_tokens,
            u.reasoning_tokens,
            u.total_tokens,
            r.cost_usd
                .map_or("unpriced model".to_string(), |c| format!("${c:.6}"))
        )),
        None => out.push_str("   tokens — (no usage reported)\n"),
    }
    let rl = &r.ratelimit;
    out.push_str(&format!(
        "   limits requests {}/{} · tokens {}/{} · retry-after {}\n",
        opt_u(rl.remaining_requests),
        opt_u(rl.limit_requests),
        opt_u(rl.remaining_tokens),
        opt_u(rl.limit_tokens),
        rl.retry_after_ms
            .map_or("—".to_string(), |v| fmt_ms(v as f64))
    ));
    let attempts: Vec<String> = r
        .attempts
        .iter()
        .map(|a| {
            let s = a.status.map_or("—".to_string(), |s| s.to_string());
            if a.waited_ms > 0 {
                format!("{s} (waited {})", fmt_ms(a.waited_ms as f64))
            } else {
                s
            }
        })
        .collect();
    out.push_str(&format!(
        "   attempts {} [{}] · request id {}\n",
        r.attempts.len(),
        attempts.join(", "),
        r.request_id.as_deref().unwrap_or("—")
    ));
    for n in &r.notes {
        out.push_str(&format!("   note: {n}\n"));
    }
    if let Some(e) = &r.error {
        out.push_str(&format!("   error: {e}\n"));
    }
    out
}
