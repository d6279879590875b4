//! Azure Monitor metrics for one deployment (azure-wire.md §6): the last hour at `PT1M` of
//! requests by status code, prompt and generated tokens, PTU utilisation and time to
//! response. Both metric name sets are asked for and merged (legacy `AzureOpenAI*` names and
//! the newer "Models" names; an unpublished name comes back as zeros). Parsing is pure.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::arm::{ArmClient, ArmError};
pub use crate::domain::monitor::DeploymentMetrics;

pub const METRICS_API_VERSION: &str = "2023-10-01";

/// Request metrics, split by status code.
pub const REQUEST_METRICS: [&str; 2] = ["AzureOpenAIRequests", "ModelRequests"];
/// Token, utilisation and latency metrics (no StatusCode dimension).
pub const OTHER_METRICS: [&str; 8] = [
    "ProcessedPromptTokens",
    "InputTokens",
    "GeneratedTokens",
    "OutputTokens",
    "AzureOpenAIProvisionedManagedUtilizationV2",
    "ProvisionedUtilization",
    "AzureOpenAITimeToResponse",
    "TimeToResponse",
];

#[derive(Deserialize)]
struct ResponseW {
    #[serde(default)]
    value: Vec<MetricW>,
}

#[derive(Deserialize)]
struct MetricW {
    name: NameW,
    #[serde(default)]
    timeseries: Vec<SeriesW>,
}

#[derive(Deserialize)]
struct NameW {
    value: String,
}

#[derive(Deserialize)]
struct SeriesW {
    #[serde(default)]
    metadatavalues: Vec<MetaW>,
    #[serde(default)]
    data: Vec<PointW>,
}

#[derive(Deserialize)]
struct MetaW {
    name: NameW,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PointW {
    #[serde(default)]
    total: Option<f64>,
    #[serde(default)]
    average: Option<f64>,
    #[serde(default)]
    maximum: Option<f64>,
}

impl PointW {
    fn value(&self) -> f64 {
        self.total.or(self.average).or(self.maximum).unwrap_or(0.0)
    }
}

/// Element-wise max: the two name sets describe the same thing; the unpublished one is zeros.
fn merge(into: &mut Vec<f64>, add: &[f64]) {
    if into.len() < add.len() {
        into.resize(add.len(), 0.0);
    }
    for (a, b) in into.iter_mut().zip(add) {
        *a = a.max(*b);
    }
}

/// Parses one or more metrics responses (JSON bodies) into a deployment's series.
pub fn parse_metrics(deployment: &str, bodies: &[&[u8]]) -> Result<DeploymentMetrics, String> {
    let mut out = DeploymentMetrics {
        deployment: deployment.to_string(),
        ..Default::default()
    };
    // Per name set, requests by status, so the two sets are merged rather than added.
    let mut by_set: [BTreeMap<String, Vec<f64>>; 2] = Default::default();
    for body in bodies {
        let r: ResponseW = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        for m in r.value {
            for s in m.timeseries {
                let dep = s
                    .metadatavalues
                    .iter()
                    .find(|d| d.name.value.eq_ignore_ascii_case("ModelDeploymentName"))
                    .map(|d| d.value.as_str());
                if dep.is_some_and(|d| !d.eq_ignore_ascii_case(deployment)) {
                    continue;
                }
                let status = s
                    .metadatavalues
                    .iter()
                    .find(|d| d.name.value.eq_ignore_ascii_case("StatusCode"))
                    .map_or_else(|| "all".to_string(), |d| d.value.clone());
                let values: Vec<f64> = s.data.iter().map(PointW::value).collect();
                match m.name.value.as_str() {
                    "AzureOpenAIRequests" => merge(by_set[0].entry(status).or_default(), &values),
                    "ModelRequests" => merge(by_set[1].entry(status).or_default(), &values),
                    "ProcessedPromptTokens" | "InputTokens" => {
                        merge(&mut out.prompt_tokens, &values)
                    }
                    "GeneratedTokens" | "OutputTokens" => merge(&mut out.generated_tokens, &values),
                    "AzureOpenAIProvisionedManagedUtilizationV2" | "ProvisionedUtilization" => {
                        merge(&mut out.ptu_utilization, &values)
                    }
                    "AzureOpenAITimeToResponse" | "TimeToResponse" => {
                        merge(&mut out.time_to_response_ms, &values)
                    }
                    _ => {}
                }
            }
        }
    }
    let [legacy, newer] = by_set;
    let set_total = |s: &BTreeMap<String, Vec<f64>>| s.values().flatten().sum::<f64>();
    out.requests_by_status = if set_total(&newer) > set_total(&legacy) {
        newer
    } else {
        legacy
    };
    out.requests_by_status
        .retain(|_, v| v.iter().any(|x| *x > 0.0));
    Ok(out)
}

/// The metrics URL for an account (full ARM id), names and filter.
pub fn metrics_url(
    base: &str,
    account_id: &str,
    names: &[&str],
    filter: &str,
    timespan: &str,
) -> String {
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    format!(
        "{}{}/providers/Microsoft.Insights/metrics?api-version={METRICS_API_VERSION}&metricnames={}&timespan={}&interval=PT1M&aggregation=Total,Average&$filter={}",
        base.trim_end_matches('/'),
        account_id.trim_end_matches('/'),
        enc(&names.join(",")),
        enc(timespan),
        enc(filter)
    )
}

/// `start/end` for the last hour, ISO 8601.
pub fn last_hour() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{}/{}", iso(now - 3600), iso(now))
}

/// Two metrics reads (requests split by status; the rest), merged.
pub async fn deployment_metrics(
    arm: &ArmClient,
    account_id: &str,
    deployment: &str,
) -> Result<DeploymentMetrics, ArmError> {
    let span = last_hour();
    let dep = deployment.replace('\'', "''");
    let u1 = metrics_url(
        arm.base(),
        account_id,
        &REQUEST_METRICS,
        &format!("ModelDeploymentName eq '{dep}' and StatusCode eq '*'"),
        &span,
    );
    let u2 = metrics_url(
        arm.base(),
        account_id,
        &OTHER_METRICS,
        &format!("ModelDeploymentName eq '{dep}'"),
        &span,
    );
    let a: serde_json::Value = arm.get_url(&u1).await?;
    let b: serde_json::Value = arm.get_url(&u2).await?;
    let (a, b) = (a.to_string(), b.to_string());
    parse_metrics(deployment, &[a.as_bytes(), b.as_bytes()]).map_err(ArmError::Decode)
}

/// `2025-01-01T10:03:00Z` for a unix time (civil-from-days; no date crate needed).
pub fn iso(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn no_requests_total_zero_not_minus_zero() {
        let m = DeploymentMetrics {
            deployment: "d".into(),
            requests_by_status: BTreeMap::new(),
            prompt_tokens: vec![],
            generated_tokens: vec![],
            ptu_utilization: vec![],
            time_to_response_ms: vec![],
        };
        assert_eq!(format!("{}", m.total_requests()), "0");
    }

    #[test]
    fn parses_and_merges_both_name_sets() {
        let a = br#"{"value":[
          {"name":{"value":"AzureOpenAIRequests"},"timeseries":[
            {"metadatavalues":[{"name":{"value":"modeldeploymentname"},"value":"gpt-4o"},{"name":{"value":"statuscode"},"value":"200"}],
             "data":[{"timeStamp":"t0","total":3.0},{"timeStamp":"t1","total":1.0}]},
            {"metadatavalues":[{"name":{"value":"modeldeploymentname"},"value":"gpt-4o"},{"name":{"value":"statuscode"},"value":"429"}],
             "data":[{"timeStamp":"t0","total":0.0},{"timeStamp":"t1","total":2.0}]},
            {"metadatavalues":[{"name":{"value":"modeldeploymentname"},"value":"other"},{"name":{"value":"statuscode"},"value":"200"}],
             "data":[{"timeStamp":"t0","total":9.0},{"timeStamp":"t1","total":9.0}]}]},
          {"name":{"value":"ModelRequests"},"timeseries":[]}]}"#;
        let b = br#"{"value":[
          {"name":{"value":"ProcessedPromptTokens"},"timeseries":[{"metadatavalues":[],"data":[{"total":10.0},{"total":0.0}]}]},
          {"name":{"value":"InputTokens"},"timeseries":[{"data":[{"total":0.0},{"total":5.0}]}]},
          {"name":{"value":"OutputTokens"},"timeseries":[{"data":[{"total":7.0},{"total":8.0}]}]},
          {"name":{"value":"ProvisionedUtilization"},"timeseries":[{"data":[{"average":12.5},{"maximum":40.0}]}]},
          {"name":{"value":"AzureOpenAITimeToResponse"},"timeseries":[{"data":[{"average":350.0},{}]}]}]}"#;
        let m = parse_metrics("gpt-4o", &[a, b]).unwrap();
        assert_eq!(m.requests_by_status.get("200"), Some(&vec![3.0, 1.0]));
        assert_eq!(m.requests_by_status.get("429"), Some(&vec![0.0, 2.0]));
        assert_eq!(m.requests(), vec![3.0, 3.0]);
        assert_eq!(m.total_requests(), 6.0);
        assert_eq!(m.prompt_tokens, vec![10.0, 5.0]);
        assert_eq!(m.generated_tokens, vec![7.0, 8.0]);
        assert_eq!(m.ptu_utilization, vec![12.5, 40.0]);
        assert_eq!(m.time_to_response_ms, vec![350.0, 0.0]);
    }

    #[test]
    fn url_has_both_names_and_filter() {
        let u = metrics_url(
            "https://management.azure.com/",
            "/subscriptions/s/x",
            &REQUEST_METRICS,
            "ModelDeploymentName eq 'a'",
            "a/b",
        );
        assert!(u.starts_with("https://management.azure.com/subscriptions/s/x/providers/Microsoft.Insights/metrics?api-version=2023-10-01&metricnames=AzureOpenAIRequests%2CModelRequests"), "{u}");
        assert!(u.contains("$filter=ModelDeploymentName+eq+%27a%27"));
    }
}
