//! A call's figures as text: the block `aoai chat` prints after the answer and the console's
//! History screen shows.

use crate::domain::call::{CallRecord, Outcome, WireApi};
use crate::domain::num::{fmt_ms, opt_ms, opt_u};
use crate::domain::ratelimit::RateLimit;

/// A window reset time: `7 s`, `0 s`, `1.5 s`.
fn secs(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// `resets requests 500 s · tokens 7 s (windows 60 s)`, when the service sent reset times
/// (`x-ratelimit-reset-*`, 2026+); `None` otherwise. Unknown (`-1`) values never show.
pub fn reset_line(rl: &RateLimit) -> Option<String> {
    if rl.reset_requests_s.is_none() && rl.reset_tokens_s.is_none() {
        return None;
    }
    let mut line = format!(
        "resets requests {} · tokens {}",
        rl.reset_requests_s.map_or("—".into(), secs),
        rl.reset_tokens_s.map_or("—".into(), secs)
    );
    match (rl.renewal_period_requests_s, rl.renewal_period_tokens_s) {
        (Some(a), Some(b)) if a == b => line.push_str(&format!(" (windows {})", secs(a))),
        (Some(a), Some(b)) => line.push_str(&format!(" (windows {} / {})", secs(a), secs(b))),
        (Some(a), None) | (None, Some(a)) => line.push_str(&format!(" (window {})", secs(a))),
        (None, None) => {}
    }
    Some(line)
}

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
    if let Some(line) = reset_line(rl) {
        out.push_str(&format!("   {line}\n"));
    }
    if let Some(line) = gateway_line(rl) {
        out.push_str(&format!("   {line}\n"));
    }
    if rl.spilled_over {
        out.push_str("   spilled over: served by the spillover deployment\n");
    }
    if let Some(f) = &r.async_filter {
        out.push_str(&format!("   {}\n", f.summary()));
    }
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
        if super::doctor::suggests_doctor(e) {
            out.push_str(&format!("   hint: {}\n", super::doctor::DOCTOR_HINT));
        }
    }
    out
}

/// An API Management gateway's token-limit counters: `gateway 9500 tokens left · 500 used`
/// (`None` when the profile names no gateway headers or the gateway sent none).
pub fn gateway_line(rl: &crate::domain::ratelimit::RateLimit) -> Option<String> {
    let parts: Vec<String> = [
        rl.gateway_remaining_tokens
            .map(|n| format!("{n} tokens left")),
        rl.gateway_consumed_tokens.map(|n| format!("{n} used")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| format!("gateway {}", parts.join(" · ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stream::AsyncFilter;

    #[test]
    fn new_header_facts_are_printed() {
        let mut r = CallRecord {
            deployment: "gpt-4.1-ptu".into(),
            ratelimit: RateLimit::from_headers([
                ("x-ratelimit-reset-requests", "500"),
                ("x-ratelimit-reset-tokens", "7"),
                ("x-ratelimit-renewalperiod-requests", "60"),
                ("x-ratelimit-renewalperiod-tokens", "60"),
                ("x-ratelimit-remaining-tokens", "-1"),
                ("x-ratelimit-limit-tokens", "-1"),
                ("x-ms-is-spilled-over", "true"),
            ]),
            async_filter: Some(AsyncFilter {
                annotations: 2,
                filtered: vec!["violence".into()],
                checked_to: 40,
            }),
            ..CallRecord::default()
        };
        let text = metrics_block(&r, false);
        assert!(
            text.contains("   resets requests 500 s · tokens 7 s (windows 60 s)\n"),
            "{text}"
        );
        assert!(
            text.contains("tokens —/— ·"),
            "-1 is unknown, not 0 or -1: {text}"
        );
        assert!(!text.contains("-1"), "{text}");
        assert!(text.contains("   spilled over"), "{text}");
        assert!(text.contains("   filtered (async): violence\n"), "{text}");
        r.ratelimit = RateLimit::default();
        r.async_filter = None;
        let text = metrics_block(&r, false);
        assert!(!text.contains("resets"), "{text}");
        assert!(!text.contains("spilled"), "{text}");
        assert!(!text.contains("async"), "{text}");
        assert_eq!(
            reset_line(&RateLimit {
                reset_tokens_s: Some(1.5),
                ..RateLimit::default()
            })
            .as_deref(),
            Some("resets requests — · tokens 1.5 s")
        );
    }
}
