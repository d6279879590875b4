//! ARM (management plane) reads for the deployments & quota browser: accounts, deployments,
//! regional quota usages. Bearer token, `api-version=2024-10-01`, follows `nextLink` (empty
//! pages included), honours 429 `Retry-After`. Shapes: azure-wire.md §5. No UI.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::auth::{Auth, Secret};
use super::identity::{Plane, SCOPE_ARM, advice_for_denied};
use crate::wire::arm as w;

/// The data model lives in `domain::arm`; re-exported so `azure::arm::Account` etc. keep working.
pub use crate::domain::arm::{
    Account, ArmError, CatalogModel, Deployment, ModelCapacity, ModelRef, QuotaUsage, Subscription,
    full_usage_name,
};

pub const ARM_API_VERSION: &str = "2024-10-01";
/// The Subscriptions API's (Microsoft.Resources).
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";
pub const AZURE_ARM_BASE: &str = "https://management.azure.com";
/// The subscription the simulator serves.
pub const SIM_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";

/// Longest `Retry-After` we wait on before giving up and reporting the 429.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
const MAX_THROTTLE_RETRIES: u32 = 3;
/// A guard against a server that links pages in a loop.
const MAX_PAGES: usize = 1000;

/// A transport failure, named by host and root cause (reqwest's own text names only the URL).
fn transport(e: &reqwest::Error) -> ArmError {
    let cause = super::call_error::transport_cause(e);
    match e.url().and_then(|u| u.host_str()) {
        Some(host) => ArmError::Transport(format!("{host}: {cause}")),
        None => ArmError::Transport(cause),
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
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
        let http = super::net::client_builder(base)
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
        let items: Vec<w::CatalogItem> = self.list(url).await?;
        Ok(items.into_iter().flat_map(CatalogModel::rows).collect())
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
        let items: Vec<w::SkuCapacity> = self.list(url).await?;
        Ok(items.into_iter().map(ModelCapacity::from).collect())
    }

    /// GET an absolute ARM URL (Azure Monitor rides on ARM).
    pub(crate) async fn get_url<T: DeserializeOwned>(&self, url: &str) -> Result<T, ArmError> {
        self.get_json(url).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}?api-version={ARM_API_VERSION}", self.base, path)
    }

    /// Every subscription the identity can see (any state), as ARM lists them.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, ArmError> {
        let url = format!(
            "{}/subscriptions?api-version={SUBSCRIPTIONS_API_VERSION}",
            self.base
        );
        Ok(self
            .list::<w::SubscriptionResource>(url)
            .await?
            .into_iter()
            .map(Subscription::from)
            .collect())
    }

    pub async fn accounts(&self) -> Result<Vec<Account>, ArmError> {
        let url = self.url(&format!(
            "/subscriptions/{}/providers/Microsoft.CognitiveServices/accounts",
            self.subscription
        ));
        Ok(self
            .list::<w::AccountResource>(url)
            .await?
            .into_iter()
            .map(Account::from)
            .collect())
    }

    /// The account's `publicNetworkAccess` (`Enabled` / `Disabled`), by its full ARM id.
    pub async fn public_network_access(
        &self,
        account_id: &str,
    ) -> Result<Option<String>, ArmError> {
        let url = self.url(account_id.trim_end_matches('/'));
        let a: w::AccountResource = self.get_json(&url).await?;
        Ok(a.properties.and_then(|p| p.public_network_access))
    }

    /// Deployments of an account, by the account's full ARM id.
    pub async fn deployments(&self, account_id: &str) -> Result<Vec<Deployment>, ArmError> {
        let url = self.url(&format!("{}/deployments", account_id.trim_end_matches('/')));
        Ok(self
            .list::<w::DeploymentResource>(url)
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
            .list::<w::Usage>(url)
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
            let page: w::Page<T> = self.get_json(&url).await?;
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
                .map_err(|e| transport(&e))?;
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
            let body = resp.bytes().await.map_err(|e| transport(&e))?;
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
