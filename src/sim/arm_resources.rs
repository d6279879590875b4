//! The ARM resources the simulator's fleet implies, as `crate::wire::arm` bodies: the account,
//! its deployments (sku, capacity, `rateLimits` exactly as the data plane enforces them), the
//! region's quota lines, the model catalogue and free capacity per region (azure-wire.md §5).
//! `arm.rs` serves them.

use serde_json::{Map, Number, Value};

use super::config::{SKUS, quota_pool};
use super::fleet::{self, DeploymentInfo, RateLimitRule};
use super::state::Shared;
use crate::wire::arm as w;

fn account_id(shared: &Shared) -> String {
    let a = &shared.cfg.account;
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.CognitiveServices/accounts/{}",
        a.subscription_id, a.resource_group, a.name
    )
}

pub(super) fn account_resource(shared: &Shared) -> w::AccountResource {
    let a = &shared.cfg.account;
    let endpoint = format!("{}/", shared.base_url);
    let mut endpoints = Map::new();
    for api in ["OpenAI Language Model Instance API", "OpenAI Dall-E API"] {
        endpoints.insert(api.into(), Value::String(endpoint.clone()));
    }
    w::AccountResource {
        id: account_id(shared),
        name: a.name.clone(),
        resource_type: Some("Microsoft.CognitiveServices/accounts".into()),
        etag: Some("\"00000000-0000-0000-0000-000000000001\"".into()),
        location: a.location.clone(),
        kind: a.kind.clone(),
        sku: Some(w::Sku {
            name: "S0".into(),
            capacity: None,
        }),
        tags: Some(Map::new()),
        properties: Some(w::AccountProperties {
            endpoint: Some(endpoint),
            custom_sub_domain_name: Some(a.name.clone()),
            provisioning_state: Some("Succeeded".into()),
            public_network_access: Some("Enabled".into()),
            endpoints: Some(endpoints),
        }),
    }
}

fn rate_limits(rules: &[RateLimitRule]) -> Vec<w::RateLimit> {
    rules
        .iter()
        .map(|r| w::RateLimit {
            key: r.key.into(),
            renewal_period: r.renewal_period_s.into(),
            count: r.count.into(),
        })
        .collect()
}

/// String-valued capabilities, as ARM writes them.
fn capabilities(pairs: &[(&str, String)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
        .collect()
}

fn model_id(model: &str, version: &str) -> w::ModelId {
    w::ModelId {
        format: Some("OpenAI".into()),
        name: model.into(),
        version: version.into(),
    }
}

pub(super) fn deployment_resource(shared: &Shared, name: &str) -> Option<w::DeploymentResource> {
    let d = shared.deployment(name)?;
    let c = &d.cfg;
    let info = DeploymentInfo::of(c);
    let created = "2025-01-01T00:00:00.0000000Z";
    Some(w::DeploymentResource {
        id: Some(format!("{}/deployments/{}", account_id(shared), c.name)),
        resource_type: Some("Microsoft.CognitiveServices/accounts/deployments".into()),
        name: c.name.clone(),
        sku: Some(w::Sku {
            name: c.sku.clone(),
            capacity: Some(c.capacity),
        }),
        properties: Some(w::DeploymentProperties {
            model: Some(model_id(&c.model, &c.version)),
            version_upgrade_option: Some("OnceCurrentVersionExpired".into()),
            current_capacity: Some(c.capacity),
            capabilities: Some(capabilities(&[
                ("area", "EUR".into()),
                ("chatCompletion", "true".into()),
                ("jsonObjectResponse", "true".into()),
                ("maxContextToken", info.context_window.to_string()),
                ("maxOutputToken", info.model.max_output.to_string()),
            ])),
            rai_policy_name: Some("Microsoft.Default".into()),
            provisioning_state: Some("Succeeded".into()),
            rate_limits: rate_limits(&info.arm_rate_limits(c.capacity)),
            scale_settings: None,
            spillover_deployment_name: c.spillover.clone(),
        }),
        system_data: Some(w::SystemData {
            created_by: Some("aoai-sim".into()),
            created_by_type: Some("Application".into()),
            created_at: Some(created.into()),
            last_modified_by: Some("aoai-sim".into()),
            last_modified_by_type: Some("Application".into()),
            last_modified_at: Some(created.into()),
        }),
        etag: Some(format!("\"{:016x}\"", fleet::fnv(c.name.as_bytes()))),
    })
}

pub(super) fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The quota limit of a usage name: `arm.quota_limits`, else `arm.default_quota_limit`.
fn quota_limit(shared: &Shared, name: &str) -> f64 {
    let arm = &shared.cfg.arm;
    arm.quota_limits
        .get(name)
        .copied()
        .unwrap_or(arm.default_quota_limit)
}

/// `Tokens Per Minute (thousands) - gpt-4o` or `Provisioned Throughput Units - gpt-4.1`.
fn usage_label(sku: &str, model: &str) -> String {
    if fleet::is_provisioned(sku) {
        format!("Provisioned Throughput Units - {model}")
    } else {
        format!("Tokens Per Minute (thousands) - {model}")
    }
}

fn usage(name: String, label: String, current: f64, limit: f64) -> w::Usage {
    w::Usage {
        name: w::UsageName {
            value: name,
            localized_value: label,
        },
        current_value: current,
        limit,
        unit: "Count".into(),
    }
}

/// A region's quota lines, as Azure reports them: one per `OpenAI.{Sku}.{model}` pool whose
/// `currentValue` is the capacity the region's deployments of that model on that SKU hold
/// (thousands of TPM, or PTUs), then the configured limits no deployment uses, then
/// `AccountCount`.
pub(super) fn usage_lines(shared: &Shared, location: &str) -> Vec<w::Usage> {
    let cfg = &shared.cfg;
    let here = same(location, &cfg.account.location);
    let mut rows: Vec<w::Usage> = Vec::new();
    if here {
        for d in &cfg.deployments {
            let name = quota_pool(&d.sku, &d.model);
            match rows.iter_mut().find(|r| r.name.value == name) {
                Some(row) => row.current_value += d.capacity as f64,
                None => {
                    let limit = quota_limit(shared, &name);
                    let label = usage_label(&d.sku, &d.model);
                    rows.push(usage(name, label, d.capacity as f64, limit));
                }
            }
        }
    }
    for (name, limit) in &cfg.arm.quota_limits {
        if rows.iter().any(|r| &r.name.value == name) {
            continue;
        }
        // `OpenAI.{Sku}.{model}`; the model may itself contain dots (`gpt-4.1`).
        let mut parts = name.splitn(3, '.');
        let label = match (parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(sku), Some(model)) => usage_label(sku, model),
            _ => usage_label("", name),
        };
        rows.push(usage(name.clone(), label, 0.0, *limit));
    }
    rows.push(usage(
        "AccountCount".into(),
        "Cognitive Services total account limit".into(),
        if here { 1.0 } else { 0.0 },
        cfg.arm.account_limit as f64,
    ));
    rows
}

/// The catalogue entry of one model version: every SKU with its capacity range and the
/// rate limits of one capacity unit.
fn catalog_item(model: &str, version: &str) -> w::CatalogItem {
    let info = fleet::model_info(model);
    let num = |n: u64| Some(Number::from(n));
    let skus = SKUS
        .iter()
        .map(|sku| {
            let provisioned = fleet::is_provisioned(sku);
            let (min, step, default) = if provisioned { (15, 5, 15) } else { (1, 1, 10) };
            let probe = super::config::DeploymentConfig::new("probe", model, version, sku, 1);
            w::CatalogSku {
                name: (*sku).into(),
                usage_name: quota_pool(sku, model),
                capacity: Some(w::CapacityRange {
                    minimum: num(min),
                    maximum: num(1000),
                    step: num(step),
                    default: num(default),
                }),
                deprecation_date: None,
                rate_limits: rate_limits(&DeploymentInfo::of(&probe).arm_rate_limits(1)),
            }
        })
        .collect();
    let mut caps = vec![
        ("chatCompletion", "true".to_string()),
        ("maxContextToken", info.context_window.to_string()),
        ("maxOutputToken", info.max_output.to_string()),
    ];
    if info.reasoning {
        caps.push(("reasoning", "true".into()));
    }
    w::CatalogItem {
        kind: Some("OpenAI".into()),
        sku_name: Some("S0".into()),
        model: w::CatalogModel {
            format: Some("OpenAI".into()),
            name: model.into(),
            version: version.into(),
            is_default_version: Some(true),
            max_capacity: num(1000),
            capabilities: Some(capabilities(&caps)),
            lifecycle_status: "GenerallyAvailable".into(),
            deprecation: Some(w::Deprecation {
                fine_tune: None,
                inference: Some("2026-12-31T00:00:00Z".into()),
            }),
            skus,
        },
    }
}

/// The catalogue: every model version the fleet deploys, in config order.
pub(super) fn catalog(shared: &Shared) -> Vec<w::CatalogItem> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for d in &shared.cfg.deployments {
        let key = (d.model.as_str(), d.version.as_str());
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    seen.iter()
        .map(|(model, version)| catalog_item(model, version))
        .collect()
}

/// Regions the simulator reports capacity for: the account's, plus one other with the
/// default quota free.
const OTHER_REGION: &str = "eastus";

/// Free capacity of `model` `version` on every SKU, in the account's region and one other
/// (`only`: just that region): the pool's limit less what its deployments hold.
pub(super) fn capacity_items(
    shared: &Shared,
    only: Option<&str>,
    model: &str,
    version: &str,
) -> Vec<w::SkuCapacity> {
    let cfg = &shared.cfg;
    let mut regions = vec![cfg.account.location.clone(), OTHER_REGION.to_string()];
    if let Some(l) = only {
        regions.retain(|r| same(r, l));
    }
    let mut items = Vec::new();
    for region in regions {
        let rows = usage_lines(shared, &region);
        for sku in SKUS {
            let name = quota_pool(sku, model);
            let (used, limit) = rows
                .iter()
                .find(|r| r.name.value == name)
                .map_or((0.0, quota_limit(shared, &name)), |r| {
                    (r.current_value, r.limit)
                });
            items.push(w::SkuCapacity {
                id: Some(format!(
                    "/subscriptions/{}/providers/Microsoft.CognitiveServices/locations/{region}/models/OpenAI.{model}.{version}/skuCapacities/{sku}",
                    cfg.account.subscription_id
                )),
                resource_type: Some(
                    "Microsoft.CognitiveServices/locations/models/skuCapacities".into(),
                ),
                name: Some(sku.into()),
                location: region.clone(),
                properties: w::SkuCapacityProperties {
                    model: model_id(model, version),
                    sku_name: sku.into(),
                    available_capacity: (limit - used).max(0.0),
                    available_finetune_capacity: Some(Number::from(0u64)),
                },
            });
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimConfig;

    fn line<'a>(rows: &'a [w::Usage], name: &str) -> &'a w::Usage {
        rows.iter().find(|r| r.name.value == name).unwrap()
    }

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
        let rows = usage_lines(&shared, "SwedenCentral");
        let gpt4o = line(&rows, "OpenAI.GlobalStandard.gpt-4o");
        assert_eq!((gpt4o.current_value, gpt4o.limit), (500.0, 1000.0));
        assert_eq!(rows.last().unwrap().name.value, "AccountCount");
        assert_eq!(usage_lines(&shared, "eastus").len(), 2);
    }

    #[test]
    fn unused_limits_are_labelled_by_their_pool() {
        let mut cfg = SimConfig::instant();
        for name in [
            "OpenAI.Standard.gpt-4.1-mini",
            "OpenAI.ProvisionedManaged.gpt-4.1",
        ] {
            cfg.arm.quota_limits.insert(name.into(), 50.0);
        }
        let shared = Shared::new(cfg, "http://x".into());
        let rows = usage_lines(&shared, "eastus");
        let label = |name| line(&rows, name).name.localized_value.clone();
        assert_eq!(
            label("OpenAI.Standard.gpt-4.1-mini"),
            "Tokens Per Minute (thousands) - gpt-4.1-mini"
        );
        assert_eq!(
            label("OpenAI.ProvisionedManaged.gpt-4.1"),
            "Provisioned Throughput Units - gpt-4.1"
        );
    }
}
