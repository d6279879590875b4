//! ARM (management plane) reads for the deployments & quota browser: accounts, deployments,
//! regional quota usages. Bearer token, `api-version=2024-10-01`, follows `nextLink` (empty
//! pages included), honours 429 `Retry-After`. Shapes: azure-wire.md §5. No UI.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::auth::{Auth, Secret};
use super::identity::{Plane, SCOPE_ARM, advice_for_denied};

pub const ARM_API_VERSION: &str = "2024-10-01";
pub const AZURE_ARM_BASE: &str = "https://management.azure.com";
/// The subscription the simulator serves.
pub const SIM_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

/// Longest `Retry-After` we wait on before giving up and reporting the 429.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
const MAX_THROTTLE_RETRIES: u32 = 3;
/// A guard against a server that links pages in a loop.
const MAX_PAGES: usize = 1000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArmError {
    #[error("ARM {status} {code}: {message}")]
    Http {
        status: u16,
        code: String,
        message: String,
    },
    #[error("ARM throttled (429); retry after {retry_after_s} s")]
    Throttled { retry_after_s: u64 },
    #[error("ARM request failed: {0}")]
    Transport(String),
    #[error("ARM response not understood: {0}")]
    Decode(String),
    #[error("ARM paging did not end after {0} pages")]
    TooManyPages(usize),
    /// No token: the message says what to do (`run az login`, …).
    #[error("{0}")]
    Auth(String),
}

/// The model behind a deployment, as ARM reports it: what a call is priced on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub model: String,
    pub version: String,
    pub sku: String,
}

impl ModelRef {
    /// Provisioned (PTU) SKUs are billed per PTU-hour, not per token.
    pub fn is_provisioned(&self) -> bool {
        self.sku.contains("Provisioned")
    }

    /// `gpt-4o-2024-11-20`: the price table picks the longest matching model name.
    pub fn priced_name(&self) -> String {
        if self.version.is_empty() {
            self.model.clone()
        } else {
            format!("{}-{}", self.model, self.version)
        }
    }

    /// Re-prices a finished call on this model and SKU (PTU: no token price).
    pub fn apply_cost(
        &self,
        record: &mut crate::domain::call::CallRecord,
        prices: &crate::domain::cost::PriceTable,
    ) {
        record.cost_usd = if self.is_provisioned() {
            None
        } else {
            record
                .usage
                .and_then(|u| prices.cost_usd(&self.priced_name(), Some(&self.sku), &u))
        };
    }
}

impl Deployment {
    pub fn model_ref(&self) -> ModelRef {
        ModelRef {
            model: self.model.clone(),
            version: self.version.clone(),
            sku: self.sku.clone(),
        }
    }
}

/// One model of a region's catalogue (`locations/{loc}/models`), flattened per SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogModel {
    pub model: String,
    pub version: String,
    pub sku: String,
    pub usage_name: String,
    pub max_capacity: Option<f64>,
    pub lifecycle: String,
}

/// Free capacity for a model + SKU in a region (`modelCapacities`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCapacity {
    pub location: String,
    pub model: String,
    pub version: String,
    pub sku: String,
    pub available: f64,
}

/// A Cognitive Services account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Full ARM id.
    pub id: String,
    pub name: String,
    pub location: String,
    pub kind: String,
    pub sku: String,
    pub endpoint: Option<String>,
    pub state: String,
}

/// A model deployment with the limits ARM reports for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub name: String,
    pub model: String,
    pub version: String,
    pub sku: String,
    pub capacity: u64,
    /// Requests per minute from `rateLimits` (`key: request`, scaled to 60 s).
    pub rpm: Option<u64>,
    /// Tokens per minute from `rateLimits` (`key: token`, scaled to 60 s).
    pub tpm: Option<u64>,
    pub state: String,
}

/// One quota line of a region (`usages`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaUsage {
    pub name: String,
    pub label: String,
    pub current: f64,
    pub limit: f64,
    pub unit: String,
}

impl QuotaUsage {
    /// Fraction used, 0..=1 (0 when the limit is 0).
    pub fn used_ratio(&self) -> f64 {
        if self.limit > 0.0 {
            (self.current / self.limit).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

// ---- wire shapes (private) ----

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default, rename = "nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize, Default)]
struct SkuW {
    #[serde(default)]
    name: String,
    #[serde(default)]
    capacity: Option<u64>,
}

#[derive(Deserialize)]
struct AccountW {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    sku: Option<SkuW>,
    #[serde(default)]
    properties: Option<AccountPropsW>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountPropsW {
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    provisioning_state: Option<String>,
}

#[derive(Deserialize)]
struct DeploymentW {
    #[serde(default)]
    name: String,
    #[serde(default)]
    sku: Option<SkuW>,
    #[serde(default)]
    properties: Option<DeploymentPropsW>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentPropsW {
    #[serde(default)]
    model: Option<ModelW>,
    #[serde(default)]
    provisioning_state: Option<String>,
    /// `rateLimits`; api-version 2023-05-01 bodies also spell it `ratelimits`
    /// (tests/fixtures/arm/09), so both are read.
    #[serde(default, alias = "ratelimits")]
    rate_limits: Vec<RateLimitW>,
    #[serde(default)]
    current_capacity: Option<u64>,
    /// Before `sku` (api-version 2021-10-01) capacity lived here
    /// (tests/fixtures/arm/03).
    #[serde(default)]
    scale_settings: Option<ScaleSettingsW>,
}

#[derive(Deserialize)]
struct ScaleSettingsW {
    #[serde(default)]
    capacity: Option<u64>,
}

#[derive(Deserialize)]
struct ModelW {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimitW {
    #[serde(default)]
    key: String,
    #[serde(default)]
    renewal_period: f64,
    #[serde(default)]
    count: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageW {
    name: UsageNameW,
    #[serde(default)]
    current_value: f64,
    #[serde(default)]
    limit: f64,
    #[serde(default)]
    unit: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageNameW {
    #[serde(default)]
    value: String,
    #[serde(default)]
    localized_value: String,
}

#[derive(Deserialize)]
struct CatalogItemW {
    model: CatalogModelW,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogModelW {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    max_capacity: Option<f64>,
    #[serde(default)]
    lifecycle_status: String,
    #[serde(default)]
    skus: Vec<CatalogSkuW>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogSkuW {
    #[serde(default)]
    name: String,
    #[serde(default)]
    usage_name: String,
}

#[derive(Deserialize)]
struct CapacityW {
    #[serde(default)]
    location: String,
    properties: CapacityPropsW,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CapacityPropsW {
    model: ModelW,
    #[serde(default)]
    sku_name: String,
    #[serde(default)]
    available_capacity: f64,
}

/// Live `usageName`s are sometimes only a prefix (`OpenAI.Standard`): append the model
/// (azure-wire.md §5, as Azure/azure-dev does).
pub fn full_usage_name(usage_name: &str, model: &str) -> String {
    if usage_name.split('.').count() <= 2 && !usage_name.is_empty() {
        format!("{usage_name}.{model}")
    } else {
        usage_name.to_string()
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn per_minute(limits: &[RateLimitW], key: &str) -> Option<u64> {
    let r = limits.iter().find(|r| r.key.eq_ignore_ascii_case(key))?;
    let period = if r.renewal_period > 0.0 {
        r.renewal_period
    } else {
        60.0
    };
    Some((r.count * 60.0 / period).round() as u64)
}

impl From<AccountW> for Account {
    fn from(a: AccountW) -> Self {
        let props = a.properties;
        Account {
            id: a.id,
            name: a.name,
            location: a.location,
            kind: a.kind,
            sku: a.sku.map(|s| s.name).unwrap_or_default(),
            endpoint: props.as_ref().and_then(|p| p.endpoint.clone()),
            state: props.and_then(|p| p.provisioning_state).unwrap_or_default(),
        }
    }
}

impl From<DeploymentW> for Deployment {
    fn from(d: DeploymentW) -> Self {
        let sku = d.sku.unwrap_or_default();
        let props = d.properties;
        let (model, version) = props
            .as_ref()
            .and_then(|p| p.model.as_ref())
            .map(|m| (m.name.clone(), m.version.clone()))
            .unwrap_or_default();
        let limits = props
            .as_ref()
            .map(|p| p.rate_limits.as_slice())
            .unwrap_or(&[]);
        Deployment {
            name: d.name,
            model,
            version,
            capacity: sku
                .capacity
                .or(props.as_ref().and_then(|p| p.current_capacity))
                .or(props
                    .as_ref()
                    .and_then(|p| p.scale_settings.as_ref())
                    .and_then(|s| s.capacity))
                .unwrap_or(0),
            sku: sku.name,
            rpm: per_minute(limits, "request"),
            tpm: per_minute(limits, "token"),
            state: props.and_then(|p| p.provisioning_state).unwrap_or_default(),
        }
    }
}

impl From<UsageW> for QuotaUsage {
    fn from(u: UsageW) -> Self {
        QuotaUsage {
            name: u.name.value,
            label: u.name.localized_value,
            current: u.current_value,
            limit: u.limit,
            unit: u.unit,
        }
    }
}

/// Reads from the ARM plane. Cheap to clone. The token comes from `auth` per request
/// (an Entra ID provider caches and refreshes it; scope `https://management.azure.com/.default`).
#[derive(Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    subscription: String,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("base", &self.base)
            .field("subscription", &self.subscription)
            .finish()
    }
}

impl ArmClient {
    /// `base`: `https://management.azure.com` or the simulator's base URL.
    pub fn new(base: &str, token: Secret, subscription: &str) -> Result<Self, ArmError> {
        Self::with_auth(base, Auth::Bearer(token), subscription)
    }

    /// `auth`: [`Auth::Token`] (Entra ID) or a fixed [`Auth::Bearer`].
    pub fn with_auth(base: &str, auth: Auth, subscription: &str) -> Result<Self, ArmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("aoai-console/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ArmError::Transport(e.to_string()))?;
        Ok(ArmClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth,
            subscription: subscription.to_string(),
        })
    }

    pub fn subscription(&self) -> &str {
        &self.subscription
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The same client for another subscription (shares the token cache).
    pub fn for_subscription(&self, subscription: &str) -> Self {
        ArmClient {
            subscription: subscription.to_string(),
            ..self.clone()
        }
    }

    /// The region's model catalogue, one row per model version and SKU.
    pub async fn models(&self, location: &str) -> Result<Vec<CatalogModel>, ArmError> {
        let url = self.url(&format!(
            "/subscriptions/{}/providers/Microsoft.CognitiveServices/locations/{location}/models",
            self.subscription
        ));
        let items: Vec<CatalogItemW> = self.list(url).await?;
        let mut out = Vec::new();
        for it in items {
            let m = it.model;
            for sku in m.skus {
                out.push(CatalogModel {
                    model: m.name.clone(),
                    version: m.version.clone(),
                    usage_name: full_usage_name(&sku.usage_name, &m.name),
                    sku: sku.name,
                    max_capacity: m.max_capacity,
                    lifecycle: m.lifecycle_status.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Free capacity for a model version across regions (`location: None`) or in one region.
    pub async fn model_capacities(
        &self,
        location: Option<&str>,
        model: &str,
        version: &str,
    ) -> Result<Vec<ModelCapacity>, ArmError> {
        let scope = match location {
            Some(l) => format!("/locations/{l}"),
            None => String::new(),
        };
        let url = format!(
            "{}&modelFormat=OpenAI&modelName={}&modelVersion={}",
            self.url(&format!(
                "/subscriptions/{}/providers/Microsoft.CognitiveServices{scope}/modelCapacities",
                self.subscription
            )),
            enc(model),
            enc(version)
        );
        let items: Vec<CapacityW> = self.list(url).await?;
        Ok(items
            .into_iter()
            .map(|c| ModelCapacity {
                location: c.location,
                model: c.properties.model.name,
                version: c.properties.model.version,
                sku: c.properties.sku_name,
                available: c.properties.available_capacity,
            })
            .collect())
    }

    /// GET an absolute ARM URL (Azure Monitor rides on ARM).
    pub(crate) async fn get_url<T: DeserializeOwned>(&self, url: &str) -> Result<T, ArmError> {
        self.get_json(url).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}?api-version={ARM_API_VERSION}", self.base, path)
    }

    pub async fn accounts(&self) -> Result<Vec<Account>, ArmError> {
        let url = self.url(&format!(
            "/subscriptions/{}/providers/Microsoft.CognitiveServices/accounts",
            self.subscription
        ));
        Ok(self
            .list::<AccountW>(url)
            .await?
            .into_iter()
            .map(Account::from)
            .collect())
    }

    /// Deployments of an account, by the account's full ARM id.
    pub async fn deployments(&self, account_id: &str) -> Result<Vec<Deployment>, ArmError> {
        let url = self.url(&format!("{}/deployments", account_id.trim_end_matches('/')));
        Ok(self
            .list::<DeploymentW>(url)
            .await?
            .into_iter()
            .map(Deployment::from)
            .collect())
    }

    /// Quota usages of a region (`location` as ARM spells it, e.g. `swedencentral`).
    pub async fn usages(&self, location: &str) -> Result<Vec<QuotaUsage>, ArmError> {
        let url = self.url(&format!(
            "/subscriptions/{}/providers/Microsoft.CognitiveServices/locations/{location}/usages",
            self.subscription
        ));
        Ok(self
            .list::<UsageW>(url)
            .await?
            .into_iter()
            .map(QuotaUsage::from)
            .collect())
    }

    /// GETs a list and every page after it.
    async fn list<T: DeserializeOwned>(&self, first: String) -> Result<Vec<T>, ArmError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(ArmError::TooManyPages(MAX_PAGES));
            }
            let page: Page<T> = self.get_json(&url).await?;
            out.extend(page.value);
            next = page.next_link.filter(|l| !l.is_empty());
        }
        Ok(out)
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, ArmError> {
        let mut throttled = 0;
        loop {
            let token = match self.auth.header_for(SCOPE_ARM).await {
                Ok(Some((_, v))) => v,
                Ok(None) => {
                    return Err(ArmError::Auth(
                        "no credential for ARM: sign in (`az login`) or use managed identity"
                            .into(),
                    ));
                }
                Err(e) => return Err(ArmError::Auth(e.to_string())),
            };
            let mut value = reqwest::header::HeaderValue::from_str(&token)
                .map_err(|_| ArmError::Auth("the token is not a valid header value".into()))?;
            value.set_sensitive(true);
            let resp = self
                .http
                .get(url)
                .header(reqwest::header::AUTHORIZATION, value)
                .send()
                .await
                .map_err(|e| ArmError::Transport(e.to_string()))?;
            let status = resp.status().as_u16();
            if status == 429 {
                let wait = retry_after(resp.headers());
                throttled += 1;
                if throttled > MAX_THROTTLE_RETRIES || wait > MAX_RETRY_WAIT {
                    return Err(ArmError::Throttled {
                        retry_after_s: wait.as_secs_f64().ceil() as u64,
                    });
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            let body = resp
                .bytes()
                .await
                .map_err(|e| ArmError::Transport(e.to_string()))?;
            if !(200..300).contains(&status) {
                let info = crate::wire::ErrorInfo::parse(&body).unwrap_or_default();
                let code = info.code.unwrap_or_else(|| "Error".into());
                let mut message = if !info.message.is_empty() {
                    info.message
                } else {
                    // ARM's front door can answer with an IIS HTML page (tests/fixtures/arm/11).
                    let text = String::from_utf8_lossy(&body);
                    let text = text.trim();
                    if text.starts_with('<') {
                        format!("non-JSON body (HTML, {} bytes)", body.len())
                    } else if text.is_empty() {
                        "empty body".to_string()
                    } else {
                        text.chars().take(200).collect()
                    }
                };
                if let Some(advice) =
                    advice_for_denied(Plane::Arm, self.auth.credential(), status, &code, &message)
                {
                    message = format!("{advice} ({message})");
                }
                return Err(ArmError::Http {
                    status,
                    code,
                    message,
                });
            }
            return serde_json::from_slice(&body).map_err(|e| ArmError::Decode(e.to_string()));
        }
    }
}

/// `Retry-After` in seconds (ARM sends whole seconds); 1 s when absent or unreadable.
fn retry_after(h: &reqwest::header::HeaderMap) -> Duration {
    h.get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(1), Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_from_wire() {
        let json = r#"{"name":"gpt-4o-ptu","sku":{"name":"Standard","capacity":80},
          "properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},
          "provisioningState":"Succeeded",
          "rateLimits":[{"key":"request","renewalPeriod":10,"count":80},{"key":"token","renewalPeriod":60,"count":80000}]}}"#;
        let d: Deployment = serde_json::from_str::<DeploymentW>(json).unwrap().into();
        assert_eq!(
            d,
            Deployment {
                name: "gpt-4o-ptu".into(),
                model: "gpt-4o".into(),
                version: "2024-08-06".into(),
                sku: "Standard".into(),
                capacity: 80,
                rpm: Some(480),
                tpm: Some(80000),
                state: "Succeeded".into(),
            }
        );
    }

    #[test]
    fn deployment_with_lower_case_ratelimits_and_string_capabilities() {
        // The shape of a recorded 2023-05-01 list entry: `ratelimits` in lower case and
        // string-valued `capabilities`.
        let json = r#"{"id":"/subscriptions/0/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a/deployments/gpt-35",
          "type":"Microsoft.CognitiveServices/accounts/deployments","name":"gpt-35",
          "sku":{"name":"Standard","capacity":120},
          "properties":{"model":{"format":"OpenAI","name":"gpt-35-turbo","version":"0301"},
            "versionUpgradeOption":"OnceNewDefaultVersionAvailable",
            "capabilities":{"completion":"true","chatCompletion":"true"},
            "raiPolicyName":"Microsoft.Default",
            "provisioningState":"Succeeded",
            "ratelimits":[{"key":"request","renewalPeriod":10,"count":720},{"key":"token","renewalPeriod":60,"count":120000}]}}"#;
        let d: Deployment = serde_json::from_str::<DeploymentW>(json).unwrap().into();
        assert_eq!((d.rpm, d.tpm, d.capacity), (Some(4320), Some(120000), 120));
        assert_eq!(d.model, "gpt-35-turbo");
    }

    #[test]
    fn page_with_empty_value_and_null_link() {
        let p: Page<UsageW> = serde_json::from_str(r#"{"value":[],"nextLink":null}"#).unwrap();
        assert!(p.value.is_empty() && p.next_link.is_none());
        let p: Page<UsageW> = serde_json::from_str(
            r#"{"value":[{"name":{"value":"OpenAI.Standard.gpt-4o","localizedValue":"TPM"},"currentValue":20.0,"limit":30.0,"unit":"Count"}]}"#,
        )
        .unwrap();
        let u = QuotaUsage::from(p.value.into_iter().next().unwrap());
        assert!((u.used_ratio() - 2.0 / 3.0).abs() < 1e-9);
    }
}
