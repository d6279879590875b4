//! ARM plane (azure-wire.md §5): accounts, deployments, usages, models, listKeys. Bearer
//! required, `api-version` required, `nextLink` paging, a read token bucket with
//! `x-ms-ratelimit-remaining-subscription-reads` and 429 + `Retry-After`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use serde_json::{Value, json};

use super::SimRequestLog;
use super::fleet::{self, DeploymentInfo};
use super::state::{Shared, lock};

type Q = Query<HashMap<String, String>>;

const ARM_JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// A validated ARM request: auth and api-version checked, one read consumed.
struct Arm {
    shared: Arc<Shared>,
    request_id: String,
    correlation: HeaderValue,
    path: String,
    api_version: String,
    skiptoken: Option<usize>,
    /// Query parameters other than `api-version`/`$skiptoken`, kept on `nextLink`.
    extra_query: String,
    remaining_reads: u64,
    received_at: std::time::Instant,
}

fn error_body(code: &str, message: &str) -> String {
    json!({"error": {"code": code, "message": message}}).to_string()
}

impl Arm {
    fn respond(&self, status: StatusCode, body: String) -> Response {
        respond_raw(
            &self.shared,
            &self.request_id,
            &self.correlation,
            &self.path,
            self.received_at,
            status,
            body,
            |h| {
                h.insert(
                    "x-ms-ratelimit-remaining-subscription-reads",
                    HeaderValue::from(self.remaining_reads),
                );
            },
        )
    }

    fn not_found(&self, what: &str, rg: &str) -> Response {
        let msg = format!(
            "The Resource '{what}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        );
        self.respond(StatusCode::NOT_FOUND, error_body("ResourceNotFound", &msg))
    }

    /// One page of `items` with an absolute `nextLink` while more pages follow.
    fn page(&self, items: Vec<Value>) -> Response {
        let size = self.shared.cfg.arm.page_size.max(1);
        let mut pages: Vec<Vec<Value>> = items.chunks(size).map(<[Value]>::to_vec).collect();
        if pages.is_empty() {
            pages.push(Vec::new());
        }
        if self.shared.cfg.arm.empty_page {
            let at = if pages.len() >= 2 { 1 } else { 0 };
            pages.insert(at, Vec::new());
        }
        let idx = self.skiptoken.unwrap_or(0);
        let value = pages.get(idx).cloned().unwrap_or_default();
        let mut body = json!({ "value": value });
        if idx + 1 < pages.len() {
            body["nextLink"] = Value::String(format!(
                "{}{}?api-version={}{}&$skiptoken={}",
                self.shared.base_url,
                self.path,
                self.api_version,
                self.extra_query,
                idx + 1
            ));
        }
        self.respond(StatusCode::OK, body.to_string())
    }
}

#[allow(clippy::too_many_arguments)]
fn respond_raw(
    shared: &Shared,
    request_id: &str,
    correlation: &HeaderValue,
    path: &str,
    received_at: std::time::Instant,
    status: StatusCode,
    body: String,
    more: impl FnOnce(&mut HeaderMap),
) -> Response {
    shared.push_log(SimRequestLog {
        request_id: request_id.to_string(),
        method: "GET".into(),
        path: path.to_string(),
        deployment: None,
        status: status.as_u16(),
        stream: false,
        received_at,
        first_token_at: None,
        prompt_tokens: 0,
        completion_tokens: 0,
    });
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(http::header::CONTENT_TYPE, ARM_JSON);
    let rid = HeaderValue::from_str(request_id).unwrap_or(HeaderValue::from_static("0"));
    h.insert("x-ms-request-id", rid.clone());
    h.insert("x-ms-correlation-request-id", correlation.clone());
    let routing = format!(
        "{}:20250101T000000Z:{request_id}",
        shared.cfg.account.location.to_uppercase()
    );
    if let Ok(v) = HeaderValue::from_str(&routing) {
        h.insert("x-ms-routing-request-id", v);
    }
    h.insert("cache-control", HeaderValue::from_static("no-cache"));
    more(h);
    resp
}

/// Auth → api-version → throttling. `Err` is the finished error response.
fn begin(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    uri: &Uri,
) -> Result<Arm, Box<Response>> {
    let ids = shared.next_ids();
    let received_at = std::time::Instant::now();
    let rid = ids.request_id;
    let correlation = headers
        .get("x-ms-correlation-request-id")
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_str(&rid).unwrap_or(HeaderValue::from_static("0")));
    let path = uri.path().to_string();
    let fail = |status: StatusCode, body: String, more: &dyn Fn(&mut HeaderMap)| {
        respond_raw(
            shared,
            &rid,
            &correlation,
            &path,
            received_at,
            status,
            body,
            |h| more(h),
        )
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match bearer {
        None => {
            let body = error_body(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            );
            return Err(Box::new(fail(StatusCode::UNAUTHORIZED, body, &|_| {})));
        }
        Some(t) => {
            use super::token::{AUD_ARM, TokenProblem, secret_for, unix_now, verify};
            let refused = match verify(&secret_for(shared.cfg.seed), t, AUD_ARM, unix_now()) {
                Ok(_) => None,
                Err(TokenProblem::Foreign) => (shared.cfg.entra.require
                    || (!shared.cfg.bearer_tokens.is_empty()
                        && !shared.cfg.bearer_tokens.iter().any(|b| b == t)))
                .then_some((
                    "InvalidAuthenticationToken",
                    "The access token is invalid.".to_string(),
                )),
                Err(TokenProblem::BadSignature) => Some((
                    "InvalidAuthenticationToken",
                    "The access token is invalid.".to_string(),
                )),
                Err(TokenProblem::Expired) => Some((
                    "ExpiredAuthenticationToken",
                    "The access token expiry UTC time is earlier than current UTC time."
                        .to_string(),
                )),
                Err(TokenProblem::Audience(aud)) => Some((
                    "InvalidAuthenticationTokenAudience",
                    format!(
                        "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
                    ),
                )),
            };
            if let Some((code, msg)) = refused {
                let body = error_body(code, &msg);
                return Err(Box::new(fail(StatusCode::UNAUTHORIZED, body, &|_| {})));
            }
        }
    }
    let Some(api_version) = q.get("api-version").cloned() else {
        let body = error_body(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
        return Err(Box::new(fail(StatusCode::BAD_REQUEST, body, &|_| {})));
    };
    let now = shared.now();
    let mut bucket = lock(&shared.arm_bucket);
    if let Err(wait) = bucket.take(now, 1.0) {
        drop(bucket);
        let secs = wait.as_millis().div_ceil(1000).max(1) as u64;
        let body = error_body(
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:00:05. For more information, refer to - https://aka.ms/armthrottling",
        );
        return Err(Box::new(fail(StatusCode::TOO_MANY_REQUESTS, body, &|h| {
            h.insert("retry-after", HeaderValue::from(secs));
            h.insert(
                "x-ms-ratelimit-remaining-subscription-reads",
                HeaderValue::from(0u64),
            );
        })));
    }
    let remaining_reads = bucket.level(now).max(0.0) as u64;
    drop(bucket);
    Ok(Arm {
        shared: shared.clone(),
        request_id: rid,
        correlation,
        path,
        api_version,
        skiptoken: q.get("$skiptoken").and_then(|s| s.parse().ok()),
        extra_query: uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|kv| {
                let k = kv.split('=').next().unwrap_or("");
                !kv.is_empty() && k != "api-version" && k != "$skiptoken" && k != "%24skiptoken"
            })
            .map(|kv| format!("&{kv}"))
            .collect(),
        remaining_reads,
        received_at,
    })
}

fn account_id(shared: &Shared) -> String {
    let a = &shared.cfg.account;
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.CognitiveServices/accounts/{}",
        a.subscription_id, a.resource_group, a.name
    )
}

fn account_json(shared: &Shared) -> Value {
    let a = &shared.cfg.account;
    let endpoint = format!("{}/", shared.base_url);
    json!({
        "id": account_id(shared),
        "name": a.name,
        "type": "Microsoft.CognitiveServices/accounts",
        "etag": "\"00000000-0000-0000-0000-000000000001\"",
        "location": a.location,
        "kind": a.kind,
        "sku": {"name": "S0"},
        "tags": {},
        "properties": {
            "endpoint": endpoint,
            "customSubDomainName": a.name,
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
            "endpoints": {
                "OpenAI Language Model Instance API": endpoint,
                "OpenAI Dall-E API": endpoint,
            },
        },
    })
}

fn deployment_json(shared: &Shared, name: &str) -> Option<Value> {
    let d = shared.deployment(name)?;
    let c = &d.cfg;
    let info = DeploymentInfo::of(c);
    let rate_limits: Vec<Value> = info
        .arm_rate_limits(c.capacity)
        .iter()
        .map(|r| json!({"key": r.key, "renewalPeriod": r.renewal_period_s, "count": r.count}))
        .collect();
    Some(json!({
        "id": format!("{}/deployments/{}", account_id(shared), c.name),
        "type": "Microsoft.CognitiveServices/accounts/deployments",
        "name": c.name,
        "sku": {"name": c.sku, "capacity": c.capacity},
        "properties": {
            "model": {"format": "OpenAI", "name": c.model, "version": c.version},
            "versionUpgradeOption": "OnceCurrentVersionExpired",
            "currentCapacity": c.capacity,
            "capabilities": {
                "area": "EUR",
                "chatCompletion": "true",
                "jsonObjectResponse": "true",
                "maxContextToken": info.context_window.to_string(),
                "maxOutputToken": info.model.max_output.to_string(),
            },
            "raiPolicyName": "Microsoft.Default",
            "provisioningState": "Succeeded",
            "rateLimits": rate_limits,
        },
        "systemData": {
            "createdBy": "aoai-sim",
            "createdByType": "Application",
            "createdAt": "2025-01-01T00:00:00.0000000Z",
            "lastModifiedBy": "aoai-sim",
            "lastModifiedByType": "Application",
            "lastModifiedAt": "2025-01-01T00:00:00.0000000Z",
        },
        "etag": format!("\"{:016x}\"", fleet::fnv(c.name.as_bytes())),
    }))
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

macro_rules! begin_or_return {
    ($shared:expr, $headers:expr, $q:expr, $uri:expr) => {
        match begin(&$shared, &$headers, &$q, &$uri) {
            Ok(arm) => arm,
            Err(resp) => return *resp,
        }
    };
}

fn check_sub(arm: &Arm, sub: &str) -> Result<(), Box<Response>> {
    if same(sub, &arm.shared.cfg.account.subscription_id) {
        Ok(())
    } else {
        let msg = format!("The subscription '{sub}' could not be found.");
        Err(Box::new(arm.respond(
            StatusCode::NOT_FOUND,
            error_body("SubscriptionNotFound", &msg),
        )))
    }
}

fn check_account(arm: &Arm, sub: &str, rg: &str, acct: &str) -> Result<(), Box<Response>> {
    check_sub(arm, sub)?;
    let a = &arm.shared.cfg.account;
    if same(rg, &a.resource_group) && same(acct, &a.name) {
        Ok(())
    } else {
        Err(Box::new(arm.not_found(
            &format!("Microsoft.CognitiveServices/accounts/{acct}"),
            rg,
        )))
    }
}

pub async fn list_accounts(
    State(shared): State<Arc<Shared>>,
    Path(sub): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    if let Err(r) = check_sub(&arm, &sub) {
        return *r;
    }
    arm.page(vec![account_json(&shared)])
}

pub async fn get_account(
    State(shared): State<Arc<Shared>>,
    Path((sub, rg, acct)): Path<(String, String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    if let Err(r) = check_account(&arm, &sub, &rg, &acct) {
        return *r;
    }
    arm.respond(StatusCode::OK, account_json(&shared).to_string())
}

pub async fn list_keys(
    State(shared): State<Arc<Shared>>,
    Path((sub, rg, acct)): Path<(String, String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    if let Err(r) = check_account(&arm, &sub, &rg, &acct) {
        return *r;
    }
    let keys = &shared.cfg.api_keys;
    let key1 = keys.first().cloned().unwrap_or_else(|| "sim-key-1".into());
    let key2 = keys.get(1).cloned().unwrap_or_else(|| "sim-key-2".into());
    arm.respond(
        StatusCode::OK,
        json!({"key1": key1, "key2": key2}).to_string(),
    )
}

pub async fn list_deployments(
    State(shared): State<Arc<Shared>>,
    Path((sub, rg, acct)): Path<(String, String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    if let Err(r) = check_account(&arm, &sub, &rg, &acct) {
        return *r;
    }
    let items = shared
        .order
        .iter()
        .filter_map(|n| deployment_json(&shared, n))
        .collect();
    arm.page(items)
}

pub async fn get_deployment(
    State(shared): State<Arc<Shared>>,
    Path((sub, rg, acct, name)): Path<(String, String, String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    if let Err(r) = check_account(&arm, &sub, &rg, &acct) {
        return *r;
    }
    match deployment_json(&shared, &name) {
        Some(v) => arm.respond(StatusCode::OK, v.to_string()),
        None => arm.not_found(
            &format!("Microsoft.CognitiveServices/accounts/{acct}/deployments/{name}"),
            &rg,
        ),
    }
}

/// Usage rows: `(name, current, limit)` per `OpenAI.{Sku}.{model}` plus `AccountCount`.
pub fn usage_rows(shared: &Shared, location: &str) -> Vec<(String, String, f64, f64)> {
    let cfg = &shared.cfg;
    let here = same(location, &cfg.account.location);
    let mut rows: Vec<(String, String, f64, f64)> = Vec::new();
    if here {
        for d in &cfg.deployments {
            let name = format!("OpenAI.{}.{}", d.sku, d.model);
            if let Some(row) = rows.iter_mut().find(|r| r.0 == name) {
                row.2 += d.capacity as f64;
                continue;
            }
            let localized = if fleet::is_provisioned(&d.sku) {
                format!("Provisioned Throughput Units - {}", d.model)
            } else {
                format!("Tokens Per Minute (thousands) - {}", d.model)
            };
            rows.push((name, localized, d.capacity as f64, 0.0));
        }
    }
    for (name, limit) in &cfg.arm.quota_limits {
        if !rows.iter().any(|r| &r.0 == name) {
            let model = name.rsplit('.').next().unwrap_or(name);
            rows.push((
                name.clone(),
                format!("Tokens Per Minute (thousands) - {model}"),
                0.0,
                *limit,
            ));
        }
    }
    for row in &mut rows {
        row.3 = cfg
            .arm
            .quota_limits
            .get(&row.0)
            .copied()
            .unwrap_or(cfg.arm.default_quota_limit);
    }
    rows.push((
        "AccountCount".into(),
        "Cognitive Services total account limit".into(),
        if here { 1.0 } else { 0.0 },
        cfg.arm.account_limit as f64,
    ));
    rows
}

pub async fn usages(
    State(shared): State<Arc<Shared>>,
    Path((sub, loc)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    if let Err(r) = check_sub(&arm, &sub) {
        return *r;
    }
    let items = usage_rows(&shared, &loc)
        .into_iter()
        .map(|(name, localized, current, limit)| {
            json!({
                "name": {"value": name, "localizedValue": localized},
                "currentValue": current,
                "limit": limit,
                "unit": "Count",
            })
        })
        .collect();
    arm.page(items)
}

pub async fn models(
    State(shared): State<Arc<Shared>>,
    Path((sub, _loc)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    if let Err(r) = check_sub(&arm, &sub) {
        return *r;
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    for d in &shared.cfg.deployments {
        let key = (d.model.clone(), d.version.clone());
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    let items = seen
        .iter()
        .map(|(model, version)| {
            let info = fleet::model_info(model);
            let skus: Vec<Value> = fleet::SKUS
                .iter()
                .map(|sku| {
                    let provisioned = fleet::is_provisioned(sku);
                    let (min, max, step) = if provisioned { (15, 1000, 5) } else { (1, 1000, 1) };
                    let probe = super::config::DeploymentConfig::new("probe", model, version, sku, 1);
                    let rl: Vec<Value> = DeploymentInfo::of(&probe)
                        .arm_rate_limits(1)
                        .iter()
                        .map(|r| json!({"key": r.key, "renewalPeriod": r.renewal_period_s, "count": r.count}))
                        .collect();
                    json!({
                        "name": sku,
                        "usageName": format!("OpenAI.{sku}.{model}"),
                        "capacity": {"minimum": min, "maximum": max, "step": step, "default": if provisioned { 15 } else { 10 }},
                        "rateLimits": rl,
                    })
                })
                .collect();
            let mut caps = json!({
                "chatCompletion": "true",
                "maxContextToken": info.context_window.to_string(),
                "maxOutputToken": info.max_output.to_string(),
            });
            if info.reasoning {
                caps["reasoning"] = Value::String("true".into());
            }
            json!({
                "kind": "OpenAI",
                "skuName": "S0",
                "model": {
                    "format": "OpenAI",
                    "name": model,
                    "version": version,
                    "isDefaultVersion": true,
                    "maxCapacity": 1000,
                    "capabilities": caps,
                    "lifecycleStatus": "GenerallyAvailable",
                    "deprecation": {"inference": "2026-12-31T00:00:00Z"},
                    "skus": skus,
                },
            })
        })
        .collect();
    arm.page(items)
}

/// Regions the simulator reports capacity for: the account's, plus one other with the
/// default quota free.
const OTHER_REGION: &str = "eastus";

fn capacity_items(shared: &Shared, only: Option<&str>, q: &HashMap<String, String>) -> Vec<Value> {
    let cfg = &shared.cfg;
    let model = q.get("modelName").cloned().unwrap_or_default();
    let version = q.get("modelVersion").cloned().unwrap_or_default();
    let mut regions = vec![cfg.account.location.clone(), OTHER_REGION.to_string()];
    if let Some(l) = only {
        regions.retain(|r| same(r, l));
    }
    let mut items = Vec::new();
    for region in regions {
        let rows = usage_rows(shared, &region);
        for sku in fleet::SKUS {
            let name = format!("OpenAI.{sku}.{model}");
            let (used, limit) = rows.iter().find(|r| r.0 == name).map_or(
                (
                    0.0,
                    cfg.arm
                        .quota_limits
                        .get(&name)
                        .copied()
                        .unwrap_or(cfg.arm.default_quota_limit),
                ),
                |r| (r.2, r.3),
            );
            let available = (limit - used).max(0.0);
            items.push(json!({
                "id": format!("/subscriptions/{}/providers/Microsoft.CognitiveServices/locations/{region}/models/OpenAI.{model}.{version}/skuCapacities/{sku}", cfg.account.subscription_id),
                "type": "Microsoft.CognitiveServices/locations/models/skuCapacities",
                "name": sku,
                "location": region,
                "properties": {
                    "model": {"format": "OpenAI", "name": model, "version": version},
                    "skuName": sku,
                    "availableCapacity": available,
                    "availableFinetuneCapacity": 0,
                },
            }));
        }
    }
    items
}

fn capacity_response(
    arm: Arm,
    shared: &Shared,
    only: Option<&str>,
    q: &HashMap<String, String>,
) -> Response {
    if q.get("modelName").is_none_or(|m| m.is_empty()) {
        return arm.respond(
            StatusCode::BAD_REQUEST,
            error_body(
                "InvalidParameter",
                "The modelName query parameter is required.",
            ),
        );
    }
    arm.page(capacity_items(shared, only, q))
}

pub async fn model_capacities(
    State(shared): State<Arc<Shared>>,
    Path(sub): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    if let Err(r) = check_sub(&arm, &sub) {
        return *r;
    }
    capacity_response(arm, &shared, None, &q)
}

pub async fn model_capacities_in(
    State(shared): State<Arc<Shared>>,
    Path((sub, loc)): Path<(String, String)>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    if let Err(r) = check_sub(&arm, &sub) {
        return *r;
    }
    capacity_response(arm, &shared, Some(&loc), &q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;

    #[test]
    fn usages_sum_capacity_per_sku_and_model() {
        let mut cfg = SimConfig::instant();
        cfg.deployments[0].capacity = 450;
        let mut extra = cfg.deployments[0].clone();
        extra.name = "gpt-4o-b".into();
        extra.capacity = 50;
        cfg.deployments.push(extra);
        cfg.arm
            .quota_limits
            .insert("OpenAI.GlobalStandard.gpt-4o".into(), 1000.0);
        let shared = Shared::new(cfg, "http://x".into());
        let rows = usage_rows(&shared, "SwedenCentral");
        let gpt4o = rows
            .iter()
            .find(|r| r.0 == "OpenAI.GlobalStandard.gpt-4o")
            .unwrap();
        assert_eq!((gpt4o.2, gpt4o.3), (500.0, 1000.0));
        assert_eq!(rows.last().unwrap().0, "AccountCount");
        assert_eq!(usage_rows(&shared, "eastus").len(), 2);
    }
}
