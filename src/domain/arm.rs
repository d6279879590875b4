//! What the console knows about the management plane: accounts, deployments with their
//! limits, quota lines, the model catalogue and free capacity, and the model a call is
//! priced on. Built from the ARM wire shapes of [`crate::wire::arm`]. Pure: no I/O.

use crate::wire::arm as w;

/// How an ARM read failed (the client's typed error; the console puts advice next to it).
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

impl CatalogModel {
    /// The rows of one catalogue item: one per SKU (none when `skus` is empty).
    pub fn rows(item: w::CatalogItem) -> impl Iterator<Item = CatalogModel> {
        let m = item.model;
        let max_capacity = m.max_capacity.as_ref().and_then(serde_json::Number::as_f64);
        m.skus.into_iter().map(move |sku| CatalogModel {
            model: m.name.clone(),
            version: m.version.clone(),
            usage_name: full_usage_name(&sku.usage_name, &m.name),
            sku: sku.name,
            max_capacity,
            lifecycle: m.lifecycle_status.clone(),
        })
    }
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

/// A subscription the signed-in identity can see.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Subscription {
    pub id: String,
    pub name: String,
    pub state: String,
    pub tenant_id: String,
}

impl Subscription {
    /// Disabled and deleted subscriptions cannot be browsed.
    pub fn usable(&self) -> bool {
        !matches!(self.state.as_str(), "Disabled" | "Deleted")
    }
}

impl From<crate::wire::arm::SubscriptionResource> for Subscription {
    fn from(s: crate::wire::arm::SubscriptionResource) -> Self {
        Subscription {
            id: s.subscription_id,
            name: s.display_name,
            state: s.state,
            tenant_id: s.tenant_id,
        }
    }
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

impl Deployment {
    /// A deployment a chat can use (not embeddings, images or speech).
    pub fn is_chat(&self) -> bool {
        let m = self.model.to_ascii_lowercase();
        !(m.contains("embedding")
            || m.starts_with("dall-e")
            || m.starts_with("whisper")
            || m.starts_with("tts")
            || m.contains("gpt-image"))
    }

    pub fn model_ref(&self) -> ModelRef {
        ModelRef {
            model: self.model.clone(),
            version: self.version.clone(),
            sku: self.sku.clone(),
        }
    }
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

/// Live `usageName`s are sometimes only a prefix (`OpenAI.Standard`): append the model
/// (azure-wire.md §5, as Azure/azure-dev does).
pub fn full_usage_name(usage_name: &str, model: &str) -> String {
    if usage_name.split('.').count() <= 2 && !usage_name.is_empty() {
        format!("{usage_name}.{model}")
    } else {
        usage_name.to_string()
    }
}

/// The first `key` entry scaled to one minute (a missing or zero period counts as 60 s).
fn per_minute(limits: &[w::RateLimit], key: &str) -> Option<u64> {
    let r = limits.iter().find(|r| r.key.eq_ignore_ascii_case(key))?;
    let period = r.renewal_period.as_f64().unwrap_or(0.0);
    let period = if period > 0.0 { period } else { 60.0 };
    let count = r.count.as_f64().unwrap_or(0.0);
    Some((count * 60.0 / period).round() as u64)
}

impl From<w::AccountResource> for Account {
    fn from(a: w::AccountResource) -> Self {
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

impl From<w::DeploymentResource> for Deployment {
    fn from(d: w::DeploymentResource) -> Self {
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

impl From<w::Usage> for QuotaUsage {
    fn from(u: w::Usage) -> Self {
        QuotaUsage {
            name: u.name.value,
            label: u.name.localized_value,
            current: u.current_value,
            limit: u.limit,
            unit: u.unit,
        }
    }
}

impl From<w::SkuCapacity> for ModelCapacity {
    fn from(c: w::SkuCapacity) -> Self {
        ModelCapacity {
            location: c.location,
            model: c.properties.model.name,
            version: c.properties.model.version,
            sku: c.properties.sku_name,
            available: c.properties.available_capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(json: &str) -> Deployment {
        serde_json::from_str::<w::DeploymentResource>(json)
            .unwrap()
            .into()
    }

    #[test]
    fn deployment_from_wire() {
        let json = r#"{"name":"gpt-4o-ptu","sku":{"name":"Standard","capacity":80},
          "properties":{"model":{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"},
          "provisioningState":"Succeeded",
          "rateLimits":[{"key":"request","renewalPeriod":10,"count":80},{"key":"token","renewalPeriod":60,"count":80000}]}}"#;
        assert_eq!(
            deployment(json),
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
        let d = deployment(json);
        assert_eq!((d.rpm, d.tpm, d.capacity), (Some(4320), Some(120000), 120));
        assert_eq!(d.model, "gpt-35-turbo");
    }

    #[test]
    fn capacity_falls_back_to_current_capacity_then_scale_settings() {
        let d = deployment(r#"{"name":"a","properties":{"currentCapacity":7}}"#);
        assert_eq!((d.capacity, d.rpm, d.tpm), (7, None, None));
        let d = deployment(
            r#"{"name":"b","properties":{"scaleSettings":{"scaleType":"Manual","capacity":1}}}"#,
        );
        assert_eq!(d.capacity, 1);
        assert_eq!(deployment(r#"{"name":"c"}"#).capacity, 0);
    }

    #[test]
    fn usage_ratio() {
        let u: w::Usage = serde_json::from_str(
            r#"{"name":{"value":"OpenAI.Standard.gpt-4o","localizedValue":"TPM"},"currentValue":20.0,"limit":30.0,"unit":"Count"}"#,
        )
        .unwrap();
        let u = QuotaUsage::from(u);
        assert!((u.used_ratio() - 2.0 / 3.0).abs() < 1e-9);
        let none = QuotaUsage { limit: 0.0, ..u };
        assert_eq!(none.used_ratio(), 0.0);
    }

    #[test]
    fn catalogue_rows_per_sku_with_full_usage_names() {
        let item: w::CatalogItem = serde_json::from_str(
            r#"{"kind":"OpenAI","model":{"name":"gpt-4o","version":"2024-11-20","maxCapacity":1000,
              "lifecycleStatus":"GenerallyAvailable",
              "skus":[{"name":"Standard","usageName":"OpenAI.Standard"},
                      {"name":"GlobalStandard","usageName":"OpenAI.GlobalStandard.gpt-4o"}]}}"#,
        )
        .unwrap();
        let rows: Vec<CatalogModel> = CatalogModel::rows(item).collect();
        let names: Vec<&str> = rows.iter().map(|r| r.usage_name.as_str()).collect();
        assert_eq!(
            names,
            ["OpenAI.Standard.gpt-4o", "OpenAI.GlobalStandard.gpt-4o"]
        );
        assert_eq!(rows[0].max_capacity, Some(1000.0));
        assert_eq!(rows[1].lifecycle, "GenerallyAvailable");
    }
}
