//! A deployment's Azure Monitor metrics, as the deployments screen draws them.

use std::collections::BTreeMap;

/// One hour of a deployment's metrics, oldest minute first; every series has the same length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentMetrics {
    pub deployment: String,
    /// Status code → requests per minute.
    pub requests_by_status: BTreeMap<String, Vec<f64>>,
    pub prompt_tokens: Vec<f64>,
    pub generated_tokens: Vec<f64>,
    /// Percent, average per minute.
    pub ptu_utilization: Vec<f64>,
    /// Milliseconds, average per minute.
    pub time_to_response_ms: Vec<f64>,
}

impl DeploymentMetrics {
    pub fn total_requests(&self) -> f64 {
        // Folded from +0.0: an empty `sum()` of floats is -0.0, printed as `-0`.
        self.requests_by_status
            .values()
            .flatten()
            .fold(0.0, |a, b| a + b)
    }
    /// Requests per minute summed over status codes.
    pub fn requests(&self) -> Vec<f64> {
        let n = self
            .requests_by_status
            .values()
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        (0..n)
            .map(|i| {
                self.requests_by_status
                    .values()
                    .map(|v| v.get(i).copied().unwrap_or(0.0))
                    .sum()
            })
            .collect()
    }
}
