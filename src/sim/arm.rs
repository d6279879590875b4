//! ARM plane (azure-wire.md §5): accounts, deployments, usages, models, listKeys. Bearer
//! required, `api-version` required, `nextLink` paging, a read token bucket with
//! `x-ms-ratelimit-remaining-subscription-reads` and 429 + `Retry-After`. The bodies are
//! `crate::wire::arm` types built in `arm_resources.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, Uri};
use serde::Serialize;

use super::arm_resources::{
    account_resource, capacity_items, catalog, deployment_resource, same, usage_lines,
};
use super::state::{Shared, SimRequestLog, lock};
use crate::wire::arm as w;

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

fn to_body<T: Serialize>(body: &T) -> String {
    // The wire types have only string map keys, so serialising cannot fail.
    serde_json::to_string(body).unwrap_or_default()
}

fn error_body(code: &str, message: &str) -> String {
    to_body(&w::ErrorResponse::new(code, message))
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
    fn page<T: Serialize + Clone>(&self, items: Vec<T>) -> Response {
        let size = self.shared.cfg.arm.page_size.max(1);
        let mut pages: Vec<Vec<T>> = items.chunks(size).map(<[T]>::to_vec).collect();
        if pages.is_empty() {
            pages.push(Vec::new());
        }
        if self.shared.cfg.arm.empty_page {
            let at = if pages.len() >= 2 { 1 } else { 0 };
            pages.insert(at, Vec::new());
        }
        let idx = self.skiptoken.unwrap_or(0);
        let value = pages.get(idx).cloned().unwrap_or_default();
        let next_link = (idx + 1 < pages.len()).then(|| {
            format!(
                "{}{}?api-version={}{}&$skiptoken={}",
                self.shared.base_url,
                self.path,
                self.api_version,
                self.extra_query,
                idx + 1
            )
        });
        self.respond(StatusCode::OK, to_body(&w::Page { value, next_link }))
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
            use super::entra::{AUD_ARM, TokenProblem, secret_for, unix_now, verify};
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

/// `GET /subscriptions`: the account's subscription and the configured others, in the
/// shape of the Subscriptions API (`subscriptionId`, `displayName`, `state`, `tenantId`).
pub async fn list_subscriptions(
    State(shared): State<Arc<Shared>>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    let a = &shared.cfg.account;
    let one = |id: &str, name: &str| {
        serde_json::json!({
            "id": format!("/subscriptions/{id}"),
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": id,
            "tenantId": a.tenant_id,
            "displayName": name,
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off"
            }
        })
    };
    let mut subs = vec![one(&a.subscription_id, &a.subscription_name)];
    subs.extend(a.other_subscriptions.iter().map(|o| one(&o.id, &o.name)));
    arm.page(subs)
}

pub async fn list_accounts(
    State(shared): State<Arc<Shared>>,
    Path(sub): Path<String>,
    Query(q): Q,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let arm = begin_or_return!(shared, headers, q, uri);
    // The other subscriptions exist but hold no account.
    let other = shared
        .cfg
        .account
        .other_subscriptions
        .iter()
        .any(|o| same(&o.id, &sub));
    if other {
        return arm.page(Vec::<w::AccountResource>::new());
    }
    if let Err(r) = check_sub(&arm, &sub) {
        return *r;
    }
    arm.page(vec![account_resource(&shared)])
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
    arm.respond(StatusCode::OK, to_body(&account_resource(&shared)))
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
    let keys = w::AccountKeys {
        key1: keys.first().cloned().unwrap_or_else(|| "sim-key-1".into()),
        key2: keys.get(1).cloned().unwrap_or_else(|| "sim-key-2".into()),
    };
    arm.respond(StatusCode::OK, to_body(&keys))
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
        .filter_map(|n| deployment_resource(&shared, n))
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
    match deployment_resource(&shared, &name) {
        Some(d) => arm.respond(StatusCode::OK, to_body(&d)),
        None => arm.not_found(
            &format!("Microsoft.CognitiveServices/accounts/{acct}/deployments/{name}"),
            &rg,
        ),
    }
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
    arm.page(usage_lines(&shared, &loc))
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
    arm.page(catalog(&shared))
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
    let model = q.get("modelName").map_or("", String::as_str);
    let version = q.get("modelVersion").map_or("", String::as_str);
    arm.page(capacity_items(shared, only, model, version))
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
