//! Headroom: how close a deployment is to a 429, joining three sources (pure arithmetic):
//! the last call's `x-ratelimit-remaining-*` headers, the deployment's ARM `rateLimits`, and
//! the region's quota usage (`OpenAI.{Sku}.{model}`, used / limit, in thousands of TPM for the
//! Standard family and PTUs for provisioned), plus which deployments share that quota pool.

use super::ratelimit::RateLimit;

/// The deployment as ARM describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeploymentLimits {
    pub name: String,
    pub model: String,
    pub sku: String,
    /// Standard family: units of 1,000 TPM; provisioned: PTUs.
    pub capacity: u64,
    /// From `rateLimits`, scaled to a minute.
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
}

impl From<&super::arm::Deployment> for DeploymentLimits {
    fn from(d: &super::arm::Deployment) -> Self {
        DeploymentLimits {
            name: d.name.clone(),
            model: d.model.clone(),
            sku: d.sku.clone(),
            capacity: d.capacity,
            rpm: d.rpm,
            tpm: d.tpm,
        }
    }
}

/// One quota row of the region.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuotaRow {
    pub name: String,
    pub current: f64,
    pub limit: f64,
}

/// How close to a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// More than 25 % left on both counters.
    Ok,
    /// 10–25 % left.
    Warn,
    /// Under 10 % left: the next burst is likely to be throttled.
    Near,
    /// Nothing left (or the last call was a 429).
    Exhausted,
}

/// The joined view.
#[derive(Debug, Clone, PartialEq)]
pub struct Headroom {
    /// Remaining / limit of the current window, from the last call's headers (the limit falls
    /// back to ARM's `rateLimits` when the service did not send `x-ratelimit-limit-*`).
    pub requests: Option<(u64, u64)>,
    pub tokens: Option<(u64, u64)>,
    /// Fraction left on the tighter counter, 0..=1.
    pub left_ratio: Option<f64>,
    pub level: Level,
    /// PTU utilisation from the last call, when sent.
    pub utilization_pct: Option<f64>,
    /// Quota pool name (`OpenAI.GlobalStandard.gpt-4o`), used and limit (units).
    pub pool: Option<(String, f64, f64)>,
    /// Units this deployment could still grow by within the pool.
    pub pool_free: Option<f64>,
    /// Other deployments drawing on the same pool, with their capacity.
    pub sharing: Vec<(String, u64)>,
}

/// The quota usage name for a deployment: `OpenAI.{Sku}.{model}`.
pub fn pool_name(sku: &str, model: &str) -> String {
    format!("OpenAI.{sku}.{model}")
}

fn level(ratio: f64) -> Level {
    if ratio <= 0.0 {
        Level::Exhausted
    } else if ratio < 0.10 {
        Level::Near
    } else if ratio <= 0.25 {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// Joins the three sources. `last` is the latest call's headers for this deployment (if
/// any); `throttled` says whether that call ended in a 429; `siblings` are all deployments
/// of the account (this one included, it is skipped).
pub fn compute(
    dep: &DeploymentLimits,
    last: Option<&RateLimit>,
    throttled: bool,
    quota: &[QuotaRow],
    siblings: &[DeploymentLimits],
) -> Headroom {
    let pair = |rem: Option<u64>, lim: Option<u64>, arm: Option<u64>| {
        let rem = rem?;
        let lim = lim.or(arm)?.max(rem);
        Some((rem, lim))
    };
    let (requests, tokens, utilization_pct) = match last {
        Some(r) => (
            pair(r.remaining_requests, r.limit_requests, dep.rpm),
            pair(r.remaining_tokens, r.limit_tokens, dep.tpm),
            r.utilization_pct,
        ),
        None => (None, None, None),
    };
    let ratio = |p: Option<(u64, u64)>| p.filter(|(_, l)| *l > 0).map(|(r, l)| r as f64 / l as f64);
    let mut left_ratio = match (ratio(requests), ratio(tokens)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(u) = utilization_pct {
        let ptu_left = (1.0 - u / 100.0).clamp(0.0, 1.0);
        left_ratio = Some(left_ratio.map_or(ptu_left, |r| r.min(ptu_left)));
    }
    if throttled {
        left_ratio = Some(0.0);
    }
    let level = left_ratio.map_or(Level::Ok, level);
    let name = pool_name(&dep.sku, &dep.model);
    let row = quota.iter().find(|q| q.name.eq_ignore_ascii_case(&name));
    let pool = row.map(|q| (q.name.clone(), q.current, q.limit));
    let pool_free = row.map(|q| (q.limit - q.current).max(0.0));
    let sharing = siblings
        .iter()
        .filter(|s| s.name != dep.name && s.sku == dep.sku && s.model == dep.model)
        .map(|s| (s.name.clone(), s.capacity))
        .collect();
    Headroom {
        requests,
        tokens,
        left_ratio,
        level,
        utilization_pct,
        pool,
        pool_free,
        sharing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn dep(name: &str, model: &str, sku: &str, cap: u64) -> DeploymentLimits {
        DeploymentLimits {
            name: name.into(),
            model: model.into(),
            sku: sku.into(),
            capacity: cap,
            rpm: Some(cap * 6),
            tpm: Some(cap * 1000),
        }
    }

    #[test]
    fn joins_headers_limits_and_quota() {
        let d = dep("a", "gpt-4o", "GlobalStandard", 450);
        let siblings = vec![
            d.clone(),
            dep("b", "gpt-4o", "GlobalStandard", 50),
            dep("c", "gpt-4o", "Standard", 10),
            dep("d", "gpt-4o-mini", "GlobalStandard", 5),
        ];
        let rl = RateLimit {
            remaining_requests: Some(2600),
            remaining_tokens: Some(45_000),
            limit_requests: None, // older service: limit from ARM rateLimits
            limit_tokens: Some(450_000),
            ..Default::default()
        };
        let quota = vec![
            QuotaRow {
                name: "OpenAI.GlobalStandard.gpt-4o".into(),
                current: 500.0,
                limit: 1000.0,
            },
            QuotaRow {
                name: "OpenAI.Standard.gpt-4o".into(),
                current: 10.0,
                limit: 30.0,
            },
        ];
        let h = compute(&d, Some(&rl), false, &quota, &siblings);
        assert_eq!(
            h,
            Headroom {
                requests: Some((2600, 2700)),
                tokens: Some((45_000, 450_000)),
                left_ratio: Some(0.1),
                level: Level::Warn,
                utilization_pct: None,
                pool: Some(("OpenAI.GlobalStandard.gpt-4o".into(), 500.0, 1000.0)),
                pool_free: Some(500.0),
                sharing: vec![("b".into(), 50)],
            }
        );
    }

    #[test]
    fn levels_and_throttle() {
        let d = dep("a", "gpt-4o", "GlobalStandard", 1);
        let mk = |rem| RateLimit {
            remaining_tokens: Some(rem),
            limit_tokens: Some(1000),
            ..Default::default()
        };
        assert_eq!(
            compute(&d, Some(&mk(900)), false, &[], &[]).level,
            Level::Ok
        );
        assert_eq!(
            compute(&d, Some(&mk(250)), false, &[], &[]).level,
            Level::Warn
        );
        assert_eq!(
            compute(&d, Some(&mk(99)), false, &[], &[]).level,
            Level::Near
        );
        assert_eq!(
            compute(&d, Some(&mk(0)), false, &[], &[]).level,
            Level::Exhausted
        );
        assert_eq!(
            compute(&d, Some(&mk(900)), true, &[], &[]).level,
            Level::Exhausted
        );
        let none = compute(&d, None, false, &[], &[]);
        assert_eq!(
            (none.left_ratio, none.level, none.pool_free),
            (None, Level::Ok, None)
        );
    }

    #[test]
    fn ptu_utilisation_counts_and_over_limit_quota_clamps() {
        let d = dep("p", "gpt-4.1", "GlobalProvisionedManaged", 15);
        let rl = RateLimit {
            remaining_tokens: Some(40_000),
            limit_tokens: Some(45_000),
            utilization_pct: Some(95.0),
            ..Default::default()
        };
        let q = [QuotaRow {
            name: "OpenAI.GlobalProvisionedManaged.gpt-4.1".into(),
            current: 120.0,
            limit: 100.0,
        }];
        let h = compute(&d, Some(&rl), false, &q, &[]);
        assert!((h.left_ratio.unwrap() - 0.05).abs() < 1e-9);
        assert_eq!(h.level, Level::Near);
        assert_eq!(h.pool_free, Some(0.0));
    }
}
