//! Pay-as-you-go against provisioned throughput, pure: what a workload (average tokens per
//! request and a rate) costs a month on a model's standard (token) prices, how many PTUs it
//! needs (`super::ptu`), what those cost by the hour and reserved for a month or a year
//! (`data/prices.toml` `[ptu.*]`), and the break-even rate above which the PTUs are cheaper.
//!
//! The break-even is linear in the rate: below a deployment's capacity PAYG grows with the
//! rate while the PTUs' price stays put, so the rate where they meet is
//! `PTUs × price ÷ (PAYG per request × minutes in a month)`. If that rate is above what the
//! PTUs serve, even a fully used PTU costs more than PAYG for this shape: no break-even.

use serde::Serialize;

use super::cost::PriceTable;
use super::ptu::{DeploymentType, PtuError, PtuEstimate, PtuTable, Workload};

/// Hours in a billing month, as Azure's calculator counts them.
pub const HOURS_PER_MONTH: f64 = 730.0;
pub const MINUTES_PER_MONTH: f64 = HOURS_PER_MONTH * 60.0;

/// One way of paying for the PTUs: its monthly price and where PAYG meets it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PtuOption {
    /// USD a month for the estimate's PTUs.
    pub month_usd: f64,
    /// The rate (requests per minute) above which the PTUs cost less than PAYG; `None` when
    /// PAYG stays cheaper up to the PTUs' capacity.
    pub break_even_rpm: Option<f64>,
}

/// The provisioned side of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PtuPlan {
    pub estimate: PtuEstimate,
    /// Requests per minute the estimate's PTUs serve at this shape.
    pub capacity_rpm: f64,
    pub hourly: PtuOption,
    pub reserved_month: PtuOption,
    /// A year's reservation, per month.
    pub reserved_year: PtuOption,
}

/// A workload priced on one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostPlan {
    pub model: String,
    pub deployment_type: DeploymentType,
    pub rpm: f64,
    /// PAYG USD per request at the average shape; `None`: the model has no token price.
    pub payg_per_request_usd: Option<f64>,
    /// PAYG USD a month at `rpm`, around the clock.
    pub payg_month_usd: Option<f64>,
    /// `None` with `ptu_note` when the model has no PTU row, the type is not offered, or
    /// the type has no PTU price.
    pub ptu: Option<PtuPlan>,
    pub ptu_note: Option<String>,
}

/// PAYG USD of one request of the average shape (fractional tokens priced exactly).
fn payg_per_request(prices: &PriceTable, model: &str, w: &Workload) -> Option<f64> {
    let (_, p) = prices.lookup(model)?;
    let uncached = (w.prompt_tokens - w.cached_tokens).max(0.0);
    let micro = uncached * p.input as f64
        + w.cached_tokens * p.cached_input as f64
        + w.completion_tokens * p.output as f64;
    // µ$ per 1M tokens × tokens = 10⁻¹² $.
    Some(micro / 1e12)
}

fn option(
    ptus: u64,
    price_per_ptu_month: f64,
    per_request: Option<f64>,
    capacity: f64,
) -> PtuOption {
    let month_usd = ptus as f64 * price_per_ptu_month;
    let break_even_rpm = per_request
        .filter(|c| *c > 0.0)
        .map(|c| month_usd / (c * MINUTES_PER_MONTH))
        .filter(|r| *r <= capacity);
    PtuOption {
        month_usd,
        break_even_rpm,
    }
}

/// Prices `w` on `model`.
pub fn plan(
    model: &str,
    kind: DeploymentType,
    w: &Workload,
    prices: &PriceTable,
    ptus: &PtuTable,
) -> CostPlan {
    plan_of(model, kind, w, prices, ptus.estimate(model, kind, w))
}

/// [`plan`] for a PTU estimate already made (`ptus.estimate(model, kind, w)`).
pub fn plan_of(
    model: &str,
    kind: DeploymentType,
    w: &Workload,
    prices: &PriceTable,
    estimate: Result<PtuEstimate, PtuError>,
) -> CostPlan {
    let per_request = payg_per_request(prices, model, w);
    let (ptu, ptu_note) = match (estimate, prices.ptu_price(kind.as_str())) {
        (Err(e), _) => (None, Some(e.to_string())),
        (Ok(_), None) => (
            None,
            Some(format!(
                "the price table has no [ptu.{}] prices",
                kind.as_str()
            )),
        ),
        (Ok(e), Some(price)) => {
            let per_request_weighted = if w.rpm > 0.0 {
                e.weighted_tpm / w.rpm
            } else {
                (w.prompt_tokens - w.cached_tokens).max(0.0) + w.completion_tokens * e.output_weight
            };
            let capacity_rpm = if per_request_weighted > 0.0 {
                e.ptu as f64 * e.input_tpm_per_ptu / per_request_weighted
            } else {
                f64::INFINITY
            };
            let plan = PtuPlan {
                hourly: option(
                    e.ptu,
                    price.hourly * HOURS_PER_MONTH,
                    per_request,
                    capacity_rpm,
                ),
                reserved_month: option(e.ptu, price.monthly, per_request, capacity_rpm),
                reserved_year: option(e.ptu, price.yearly / 12.0, per_request, capacity_rpm),
                capacity_rpm,
                estimate: e,
            };
            (Some(plan), None)
        }
    };
    CostPlan {
        model: model.to_string(),
        deployment_type: kind,
        rpm: w.rpm,
        payg_per_request_usd: per_request,
        payg_month_usd: per_request.map(|c| c * w.rpm * MINUTES_PER_MONTH),
        ptu,
        ptu_note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_match_hand_computation_from_the_tables() {
        let prices = PriceTable::builtin();
        let ptus = PtuTable::builtin();
        // gpt-4o: $2.50 in, $1.25 cached, $10 out per 1M; 2,500 input TPM per PTU, output ×3,
        // global min 15 step 5; global PTU $1/h, $260 a month, $2,652 a year.
        let w = Workload {
            prompt_tokens: 1000.0,
            completion_tokens: 200.0,
            cached_tokens: 0.0,
            rpm: 30.0,
        };
        let p = plan("gpt-4o", DeploymentType::Global, &w, &prices, &ptus);
        let per_request = 1000.0 * 2.5e-6 + 200.0 * 10e-6; // $0.0045
        assert!((p.payg_per_request_usd.unwrap() - per_request).abs() < 1e-12);
        assert!((p.payg_month_usd.unwrap() - per_request * 30.0 * 43_800.0).abs() < 1e-6);
        let t = p.ptu.unwrap();
        // weighted 30 × (1000 + 200 × 3) = 48,000 TPM → 19.2 PTU → 20 deployable.
        assert_eq!(t.estimate.ptu, 20);
        assert!((t.capacity_rpm - 20.0 * 2500.0 / 1600.0).abs() < 1e-9); // 31.25 RPM
        assert!((t.hourly.month_usd - 20.0 * 730.0).abs() < 1e-9);
        assert!((t.reserved_month.month_usd - 5200.0).abs() < 1e-9);
        assert!((t.reserved_year.month_usd - 20.0 * 221.0).abs() < 1e-9);
        // Break-even against the month's reservation: 5200 / (0.0045 × 43,800) = 26.38 RPM,
        // under the 31.25 the PTUs serve.
        let be = t.reserved_month.break_even_rpm.unwrap();
        assert!((be - 5200.0 / (per_request * 43_800.0)).abs() < 1e-9);
        // By the hour: 14,600 / 197.1 = 74 RPM, over capacity: no break-even.
        assert_eq!(t.hourly.break_even_rpm, None);
        // An unpriced model, a type it is not offered in.
        let p = plan("no-such-model", DeploymentType::Global, &w, &prices, &ptus);
        assert!(p.payg_month_usd.is_none() && p.ptu.is_none() && p.ptu_note.is_some());
    }
}
