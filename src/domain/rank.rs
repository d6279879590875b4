//! Nearest-rank percentiles over recorded values (reports and compare): the p-th percentile
//! of n sorted values is the ⌈p·n/100⌉-th, so figures can be checked by hand. Live load
//! figures use HDR histograms instead (`stats`).

use serde::Serialize;

/// Nearest-rank percentiles of a set of values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub n: usize,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

impl Percentiles {
    pub fn of(mut v: Vec<f64>) -> Self {
        v.retain(|x| x.is_finite());
        v.sort_by(f64::total_cmp);
        Percentiles {
            n: v.len(),
            p50: nearest_rank(&v, 50.0),
            p95: nearest_rank(&v, 95.0),
            max: v.last().copied(),
        }
    }
}

pub fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_by_hand() {
        let v: Vec<f64> = (1..=20).map(|x| x as f64 * 10.0).collect();
        assert_eq!(nearest_rank(&v, 50.0), Some(100.0)); // ⌈0.5·20⌉ = 10th
        assert_eq!(nearest_rank(&v, 95.0), Some(190.0)); // ⌈0.95·20⌉ = 19th
        assert_eq!(nearest_rank(&[5.0], 95.0), Some(5.0));
        assert_eq!(nearest_rank(&[], 50.0), None);
        let p = Percentiles::of(vec![300.0, 100.0, 200.0]);
        assert_eq!(
            (p.p50, p.p95, p.max, p.n),
            (Some(200.0), Some(300.0), Some(300.0), 3)
        );
    }
}
