//! Serde types for the ARM (`Microsoft.CognitiveServices`) response bodies the console reads
//! and the simulator serves: accounts, deployments, quota usages, the model catalogue, model
//! capacities, list pages and the error body (azure-wire.md §5; real bodies in
//! `tests/fixtures/arm`). Pure: no I/O. Field names are spelled as ARM spells them.
//!
//! Reading is tolerant, as real ARM bodies differ by api-version: every field has a default
//! unless the body means nothing without it, and fields ARM omits are `Option`s that are left
//! out when written. Numbers that the spec types as `number` but ARM writes as integers
//! (`renewalPeriod`, `count`, `maxCapacity`, …) are kept as [`Number`], so any number reads
//! and a body is written back as it came.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// One page of a list: `{"value":[…],"nextLink":"<absolute URL>"}`. `nextLink` is absent or
/// `null` on the last page; an empty page with a `nextLink` is legal.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "nextLink")]
    pub next_link: Option<String>,
}

/// `sku` of an account (`{"name":"S0"}`) or a deployment (`{"name":"Standard","capacity":80}`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sku {
    pub name: String,
    /// Standard family: units of 1,000 TPM; provisioned: PTUs.
    pub capacity: Option<u64>,
}

/// A Cognitive Services account (`…/accounts/{name}` and each item of the accounts list).
/// A subscription, as `GET /subscriptions` (Microsoft.Resources, api-version 2022-12-01)
/// lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SubscriptionResource {
    pub subscription_id: String,
    pub display_name: String,
    /// `Enabled`, `Warned`, `PastDue`, `Disabled`, `Deleted`.
    pub state: String,
    pub tenant_id: String,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountResource {
    pub id: String,
    pub name: String,
    /// `Microsoft.CognitiveServices/accounts`.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    pub etag: Option<String>,
    /// Casing echoes whatever was used at create time (`westus2`, `WESTEUROPE`).
    pub location: String,
    /// `OpenAI`, `AIServices`, …
    pub kind: String,
    pub sku: Option<Sku>,
    pub tags: Option<Map<String, Value>>,
    pub properties: Option<AccountProperties>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountProperties {
    pub endpoint: Option<String>,
    pub custom_sub_domain_name: Option<String>,
    pub provisioning_state: Option<String>,
    pub public_network_access: Option<String>,
    /// Endpoints keyed by display name (`"OpenAI Language Model Instance API"`, …).
    pub endpoints: Option<Map<String, Value>>,
}

/// The body of `POST …/accounts/{name}/listKeys`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountKeys {
    pub key1: String,
    pub key2: String,
}

/// A model deployment (`…/deployments/{name}` and each item of the deployments list).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeploymentResource {
    pub id: Option<String>,
    /// `Microsoft.CognitiveServices/accounts/deployments`.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    pub name: String,
    /// Absent before api-version 2022-12-01 (capacity then sits in `scaleSettings`).
    pub sku: Option<Sku>,
    pub properties: Option<DeploymentProperties>,
    #[serde(rename = "systemData")]
    pub system_data: Option<SystemData>,
    /// Spelled `eTag` at api-version 2021-10-01 (tests/fixtures/arm/03), not read then.
    pub etag: Option<String>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentProperties {
    pub model: Option<ModelId>,
    pub version_upgrade_option: Option<String>,
    pub current_capacity: Option<u64>,
    /// String-valued (`"chatCompletion":"true"`, `"maxContextToken":"128000"`).
    pub capabilities: Option<Map<String, Value>>,
    pub rai_policy_name: Option<String>,
    pub provisioning_state: Option<String>,
    /// `rateLimits`; api-version 2023-05-01 bodies also spell it `ratelimits`
    /// (tests/fixtures/arm/09), so both are read. Deployments before 2023 have none.
    #[serde(default, alias = "ratelimits", skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RateLimit>,
    /// Before `sku` (api-version 2021-10-01) capacity lived here (tests/fixtures/arm/03).
    pub scale_settings: Option<ScaleSettings>,
    /// A provisioned deployment's spillover target (ARMSPEC 2025-09-01 schema).
    pub spillover_deployment_name: Option<String>,
}

/// `{"format":"OpenAI","name":"gpt-4o","version":"2024-08-06"}`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelId {
    pub format: Option<String>,
    pub name: String,
    pub version: String,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleSettings {
    pub scale_type: Option<String>,
    pub capacity: Option<u64>,
}

/// One `rateLimits` entry: `count` per `renewalPeriod` seconds of `key` (`request`, `token`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    #[serde(default)]
    pub key: String,
    #[serde(default = "zero")]
    pub renewal_period: Number,
    #[serde(default = "zero")]
    pub count: Number,
}

fn zero() -> Number {
    Number::from(0u64)
}

/// Who made a resource and when.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemData {
    pub created_by: Option<String>,
    pub created_by_type: Option<String>,
    pub created_at: Option<String>,
    pub last_modified_by: Option<String>,
    pub last_modified_by_type: Option<String>,
    pub last_modified_at: Option<String>,
}

/// One quota line of a region (`locations/{loc}/usages`). Token quotas are in thousands of
/// TPM (`"Tokens Per Minute (thousands) - GPT-4o"`), provisioned ones in PTUs; `currentValue`
/// is what the region's deployments of that pool hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub name: UsageName,
    #[serde(default)]
    pub current_value: f64,
    #[serde(default)]
    pub limit: f64,
    /// `Count`.
    #[serde(default)]
    pub unit: String,
}

/// `{"value":"OpenAI.Standard.gpt-4o","localizedValue":"Tokens Per Minute (thousands) - GPT-4o"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct UsageName {
    pub value: String,
    pub localized_value: String,
}

/// One item of a region's model catalogue (`locations/{loc}/models`).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogItem {
    pub kind: Option<String>,
    pub sku_name: Option<String>,
    pub model: CatalogModel,
}

/// A model version of the catalogue with the SKUs it can be deployed on.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CatalogModel {
    pub format: Option<String>,
    pub name: String,
    pub version: String,
    pub is_default_version: Option<bool>,
    pub max_capacity: Option<Number>,
    pub capabilities: Option<Map<String, Value>>,
    /// `GenerallyAvailable`, `Preview`, …
    pub lifecycle_status: String,
    pub deprecation: Option<Deprecation>,
    /// Can be `[]` (tests/fixtures/arm/09).
    pub skus: Vec<CatalogSku>,
}

/// Retirement dates of a catalogue model.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deprecation {
    pub fine_tune: Option<String>,
    pub inference: Option<String>,
}

/// One SKU of a catalogue model. `usageName` joins it to a usages line; live bodies
/// sometimes carry only the prefix (`OpenAI.Standard`, azure-wire.md §5).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CatalogSku {
    pub name: String,
    pub usage_name: String,
    pub capacity: Option<CapacityRange>,
    pub deprecation_date: Option<String>,
    /// Per capacity unit; `ratelimits` at api-version 2023-05-01.
    #[serde(default, alias = "ratelimits", skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RateLimit>,
}

/// The capacities a SKU can be deployed with (`{"maximum":10000,"default":120}` and the like).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityRange {
    pub minimum: Option<Number>,
    pub maximum: Option<Number>,
    pub step: Option<Number>,
    pub default: Option<Number>,
}

/// One item of `modelCapacities`: free capacity for a model + SKU in a region.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuCapacity {
    pub id: Option<String>,
    /// `Microsoft.CognitiveServices/locations/models/skuCapacities`.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub location: String,
    pub properties: SkuCapacityProperties,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuCapacityProperties {
    pub model: ModelId,
    #[serde(default)]
    pub sku_name: String,
    #[serde(default)]
    pub available_capacity: f64,
    pub available_finetune_capacity: Option<Number>,
}

/// ARM's error body: `{"error":{"code":"ResourceNotFound","message":"…"}}`. A 404 can also
/// come back as an HTML page (tests/fixtures/arm/11), so a reader must not insist on this.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl ErrorResponse {
    pub fn new(code: &str, message: &str) -> Self {
        ErrorResponse {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_with_empty_value_and_null_link() {
        let p: Page<Usage> = serde_json::from_str(r#"{"value":[],"nextLink":null}"#).unwrap();
        assert!(p.value.is_empty() && p.next_link.is_none());
        let p: Page<Usage> = serde_json::from_str("{}").unwrap();
        assert!(p.value.is_empty());
        // The last page is written without `nextLink`.
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"value":[]}"#);
    }

    #[test]
    fn rate_limits_keep_integers_and_read_floats() {
        let r: RateLimit =
            serde_json::from_str(r#"{"key":"request","renewalPeriod":10,"count":80}"#).unwrap();
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"key":"request","renewalPeriod":10,"count":80})
        );
        let r: RateLimit =
            serde_json::from_str(r#"{"key":"token","renewalPeriod":60.0,"count":1.5}"#).unwrap();
        assert_eq!(r.count.as_f64(), Some(1.5));
    }

    #[test]
    fn deployment_reads_both_rate_limit_spellings() {
        let camel: DeploymentProperties = serde_json::from_str(
            r#"{"rateLimits":[{"key":"request","renewalPeriod":10,"count":1}]}"#,
        )
        .unwrap();
        let lower: DeploymentProperties = serde_json::from_str(
            r#"{"ratelimits":[{"key":"request","renewalPeriod":10,"count":1}]}"#,
        )
        .unwrap();
        assert_eq!(camel, lower);
        // Written back in the newer spelling.
        assert!(
            serde_json::to_string(&lower)
                .unwrap()
                .contains("\"rateLimits\"")
        );
    }

    #[test]
    fn absent_fields_stay_absent() {
        let a = AccountResource {
            name: "a".into(),
            sku: Some(Sku {
                name: "S0".into(),
                capacity: None,
            }),
            ..AccountResource::default()
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({"id":"","name":"a","location":"","kind":"","sku":{"name":"S0"}})
        );
        let e = ErrorResponse::new("ResourceNotFound", "gone");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"error":{"code":"ResourceNotFound","message":"gone"}}"#
        );
    }
}
