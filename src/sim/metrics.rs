//! Azure Monitor metrics for the simulated account (azure-wire.md §6), computed from the
//! simulator's own request log: `GET {account}/providers/Microsoft.Insights/metrics`.
//! Both name sets are served (legacy `AzureOpenAI*`/`ProcessedPromptTokens`… and the newer
//! `ModelRequests`/`InputTokens`…); unknown names get a series of zeros, as Azure does for
//! unpublished names. The window is the last hour at `PT1M`, ending at the current minute;
//! `$filter` may name `ModelDeploymentName eq '<d>'` and split by `StatusCode eq '*'`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::fleet::{self, DeploymentInfo};
use super::state::Shared;

/// Minutes in the window.
pub const WINDOW_MIN: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Requests,
    Prompt,
    Generated,
    Total,
    PtuUtil,
    TimeToResponse,
    Unknown,
}

fn kind(name: &str) -> Kind {
    match name {
        "AzureOpenAIRequests" | "ModelRequests" => Kind::Requests,
        "ProcessedPromptTokens" | "InputTokens" => Kind::Prompt,
        "GeneratedTokens" | "OutputTokens" => Kind::Generated,
        "TokenTransaction" | "TotalTokens" => Kind::Total,
        "AzureOpenAIProvisionedManagedUtilizationV2" | "ProvisionedUtilization" => Kind::PtuUtil,
        "AzureOpenAITimeToResponse" | "TimeToResponse" => Kind::TimeToResponse,
        _ => Kind::Unknown,
    }
}

/// `2025-01-01T10:03:00Z` for a unix time.
pub fn iso(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Deployment named by `ModelDeploymentName eq 'x'`, and whether `StatusCode` is split.
fn parse_filter(f: &str) -> (Option<String>, bool) {
    let mut dep = None;
    let mut by_status = false;
    for clause in f.split(" and ") {
        let mut it = clause.splitn(3, ' ');
        let (Some(k), Some(_eq), Some(v)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let v = v.trim().trim_matches('\'');
        if k.eq_ignore_ascii_case("ModelDeploymentName") && v != "*" {
            dep = Some(v.to_string());
        }
        if k.eq_ignore_ascii_case("StatusCode") {
            by_status = true;
        }
    }
    (dep, by_status)
}

fn dim(name: &str, value: &str) -> Value {
    json!({"name": {"value": name, "localizedValue": name}, "value": value})
}

pub async fn metrics(
    State(shared): State<Arc<Shared>>,
    Path((_sub, _rg, _acct)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let bearer_ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > "Bearer ".len());
    if !bearer_ok {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"error":{"code":"AuthenticationFailed","message":"Authentication failed. The 'Authorization' header is missing."}}).to_string(),
        )
            .into_response();
    }
    let names: Vec<String> = q
        .get("metricnames")
        .map(|s| {
            s.split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            json!({"code":"BadRequest","message":"metricnames is required"}).to_string(),
        )
            .into_response();
    }
    let (only, by_status) = parse_filter(q.get("$filter").map_or("", String::as_str));
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let end_min = now_unix / 60 + 1; // exclusive
    let start_min = end_min - WINDOW_MIN;
    let now_i = Instant::now();
    // (deployment, status) -> per-minute [requests, prompt, generated, ttr_sum_ms, ttr_n]
    let mut acc: BTreeMap<(String, String), Vec<[f64; 5]>> = BTreeMap::new();
    for r in shared.log_snapshot() {
        let Some(dep) = r.deployment.clone() else {
            continue;
        };
        if only.as_ref().is_some_and(|o| o != &dep) {
            continue;
        }
        let age = now_i.saturating_duration_since(r.received_at).as_secs();
        let minute = now_unix.saturating_sub(age) / 60;
        if minute < start_min || minute >= end_min {
            continue;
        }
        let slot = (minute - start_min) as usize;
        let status = if by_status {
            r.status.to_string()
        } else {
            String::new()
        };
        let row = acc
            .entry((dep, status))
            .or_insert_with(|| vec![[0.0; 5]; WINDOW_MIN as usize]);
        row[slot][0] += 1.0;
        row[slot][1] += r.prompt_tokens as f64;
        row[slot][2] += r.completion_tokens as f64;
        if let Some(ft) = r.first_token_at {
            row[slot][3] += ft.saturating_duration_since(r.received_at).as_secs_f64() * 1000.0;
            row[slot][4] += 1.0;
        }
    }
    if acc.is_empty()
        && let Some(o) = &only
    {
        acc.insert(
            (o.clone(), String::new()),
            vec![[0.0; 5]; WINDOW_MIN as usize],
        );
    }
    let ts = |i: usize| iso((start_min + i as u64) * 60);
    let value: Vec<Value> = names
        .iter()
        .map(|name| {
            let k = kind(name);
            let series: Vec<Value> = acc
                .iter()
                .filter(|((_, status), _)| k == Kind::Requests || status.is_empty() || !by_status)
                .map(|((dep, status), rows)| {
                    let ptu_per_min = shared.deployment(dep).and_then(|d| {
                        let info = DeploymentInfo::of(&d.cfg);
                        fleet::is_provisioned(&d.cfg.sku).then(|| {
                            (d.cfg.capacity * info.model.ptu_input_tpm) as f64
                        }).map(|cap| (cap, info.model.output_weight as f64))
                    });
                    let data: Vec<Value> = rows
                        .iter()
                        .enumerate()
                        .map(|(i, m)| match k {
                            Kind::Requests => json!({"timeStamp": ts(i), "total": m[0]}),
                            Kind::Prompt => json!({"timeStamp": ts(i), "total": m[1]}),
                            Kind::Generated => json!({"timeStamp": ts(i), "total": m[2]}),
                            Kind::Total => json!({"timeStamp": ts(i), "total": m[1] + m[2]}),
                            Kind::PtuUtil => {
                                let pct = ptu_per_min.map_or(0.0, |(cap, w)| {
                                    if cap > 0.0 { ((m[1] + w * m[2]) / cap * 100.0).min(100.0) } else { 0.0 }
                                });
                                json!({"timeStamp": ts(i), "average": pct, "maximum": pct})
                            }
                            Kind::TimeToResponse => {
                                let avg = if m[4] > 0.0 { m[3] / m[4] } else { 0.0 };
                                json!({"timeStamp": ts(i), "average": avg})
                            }
                            Kind::Unknown => json!({"timeStamp": ts(i), "total": 0.0}),
                        })
                        .collect();
                    let mut md = vec![dim("modeldeploymentname", dep)];
                    if k == Kind::Requests && by_status {
                        md.push(dim("statuscode", status));
                    }
                    json!({"metadatavalues": md, "data": data})
                })
                .collect();
            json!({
                "id": format!("{}/providers/Microsoft.Insights/metrics/{name}", account_path(&shared)),
                "type": "Microsoft.Insights/metrics",
                "name": {"value": name, "localizedValue": name},
                "displayDescription": "",
                "unit": match k { Kind::PtuUtil => "Percent", Kind::TimeToResponse => "MilliSeconds", _ => "Count" },
                "timeseries": series,
                "errorCode": "Success",
            })
        })
        .collect();
    let body = json!({
        "cost": 0,
        "timespan": format!("{}/{}", iso(start_min * 60), iso(end_min * 60)),
        "interval": "PT1M",
        "value": value,
        "namespace": "Microsoft.CognitiveServices/accounts",
        "resourceregion": shared.cfg.account.location,
    });
    (
        [(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body.to_string(),
    )
        .into_response()
}

fn account_path(shared: &Shared) -> String {
    let a = &shared.cfg.account;
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.CognitiveServices/accounts/{}",
        a.subscription_id, a.resource_group, a.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_745_504_517), "2025-04-24T14:21:57Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn filter() {
        assert_eq!(
            parse_filter("ModelDeploymentName eq 'gpt-4o' and StatusCode eq '*'"),
            (Some("gpt-4o".into()), true)
        );
        assert_eq!(parse_filter("ModelDeploymentName eq '*'"), (None, false));
    }
}
