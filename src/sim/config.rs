//! Simulator configuration: the fleet (account + deployments), limits, latency and faults.
//! Loaded from TOML with `deny_unknown_fields`, so every error names the offending key and
//! line (see `docs/simulator.md` for the format).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::faults::FaultKind;

/// Errors loading a simulator config. Messages name the key (and line, for TOML syntax).
#[derive(Debug, thiserror::Error)]
pub enum SimConfigError {
    #[error("cannot read simulator config {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid simulator config: {0}")]
    Toml(String),
    #[error("invalid simulator config: key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

/// Which 429 body wording to send (azure-wire.md §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitWording {
    /// `{"code":"429","message":"Requests to the ChatCompletions_Create Operation under …"}`.
    Classic,
    /// `{"code":"RateLimitReached","message":"Your requests to {dep} for {model} in …"}`.
    #[default]
    RateLimitReached,
}

/// How content tokens are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// One chunk every `1 / tokens_per_s`.
    #[default]
    Smooth,
    /// `burst_tokens` chunks at once, then a pause of the same total duration.
    Bursty,
}

/// Per-chunk `content_filter_results` shape on content deltas (§4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChunkFilterResults {
    /// The four categories hate/self_harm/sexual/violence (2024–25 captures).
    #[default]
    Full,
    /// `{}` (2026 captures).
    Empty,
}

/// When the output content filter delivers its verdict on a stream (`content_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContentFilterMode {
    /// Default (buffered) mode: verdicts ride on each content chunk.
    #[default]
    Sync,
    /// Asynchronous filter: content chunks carry no verdict; annotation chunks with
    /// `content_filter_offsets` follow the finish chunk (tests/fixtures/conformance/13).
    Async,
}

/// One `[[answer]]` rule of the simulator config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRule {
    /// A regular expression (Rust `regex` syntax) searched in the last user message.
    #[serde(rename = "match")]
    pub pattern: String,
    /// The answer sent when it matches (its tokens are counted like any answer's).
    pub text: String,
    /// Only calls to this deployment; default: every deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
}

/// The whole simulator configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Counter-based request ids, fixed `created`, counter-based chatcmpl ids.
    pub deterministic: bool,
    /// Seed for fault probabilities and for text when a request has no `seed`.
    pub seed: u64,
    /// The `created` value used in deterministic mode.
    pub fixed_created: u64,
    /// Accepted `api-key` values (also accepted as bearer). Empty = any non-empty key.
    pub api_keys: Vec<String>,
    /// Accepted bearer tokens (data plane and ARM). Empty = any non-empty token.
    pub bearer_tokens: Vec<String>,
    pub rate_limit_wording: RateLimitWording,
    /// Send the leading annotation chunk (`prompt_filter_results`) in streams.
    pub annotation_chunk: bool,
    pub chunk_filter_results: ChunkFilterResults,
    /// Prompt phrases (case-insensitive) that trigger a 400 jailbreak content filter.
    pub jailbreak_phrases: Vec<String>,
    /// Prompt phrases that make the output get filtered (`finish_reason:"content_filter"`).
    pub output_filter_phrases: Vec<String>,
    pub account: AccountConfig,
    pub arm: ArmConfig,
    pub deployments: Vec<DeploymentConfig>,
    /// The fake Entra ID token endpoints and bearer validation (`sim/entra.rs`).
    pub entra: EntraConfig,
    /// How many of the latest requests the request log keeps (metrics, tests, benches).
    pub request_log: usize,
    /// `[[answer]]` rules: a regex on the last user message → a fixed answer (first match
    /// wins; before structured output and the generated markdown).
    #[serde(rename = "answer", skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<AnswerRule>,
    /// `[gateway]`: an API Management gateway in front of the data plane (`sim/gateway.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<super::gateway::GatewayConfig>,
}

/// The one Azure OpenAI account the simulator serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountConfig {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    /// ARM location name, e.g. `swedencentral`.
    pub location: String,
    /// Display name sent in `x-ms-region`, e.g. `Sweden Central`.
    pub region: String,
    /// `OpenAI` or `AIServices` (also picks the 429 tier text `OpenAI S0` / `AIServices S0`).
    pub kind: String,
    /// The subscription's display name (`GET /subscriptions`).
    pub subscription_name: String,
    pub tenant_id: String,
    /// More subscriptions the signed-in user can see, without accounts (for the
    /// subscription switcher): `other_subscriptions = [{ id = "…", name = "…" }]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_subscriptions: Vec<OtherSubscription>,
}

/// A subscription with no Azure OpenAI account in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherSubscription {
    pub id: String,
    pub name: String,
}

/// ARM plane knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArmConfig {
    /// Items per page for list calls (accounts, deployments, usages, models).
    pub page_size: usize,
    /// Insert an empty page (with `nextLink`) as the second page of every list.
    pub empty_page: bool,
    /// Read token bucket size (Azure: 250) and refill per second (Azure: 25).
    pub read_bucket: f64,
    pub read_refill_per_s: f64,
    /// Usage limits by usage name (`OpenAI.GlobalStandard.gpt-4o`), in thousands of TPM / PTU.
    pub quota_limits: BTreeMap<String, f64>,
    /// Limit for usage names not in `quota_limits`.
    pub default_quota_limit: f64,
    pub account_limit: u64,
}

/// Latency model of one deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyConfig {
    pub ttft_ms: u64,
    /// Content tokens per second; 0 = no pacing.
    pub tokens_per_s: f64,
    /// Fractional jitter applied to TTFT and gaps (0.2 = ±20 %), seeded.
    pub jitter: f64,
    pub delivery: Delivery,
    /// Tokens per burst with `delivery = "bursty"`.
    pub burst_tokens: usize,
    /// Reasoning tokens per second (adds `reasoning_tokens / rate` to TTFT); 0 = no delay.
    pub reasoning_tokens_per_s: f64,
}

/// One model deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    pub name: String,
    /// Model name, e.g. `gpt-4o`; looks up defaults in the model table.
    pub model: String,
    pub version: String,
    /// `Standard`, `GlobalStandard`, `DataZoneStandard`, `ProvisionedManaged`,
    /// `GlobalProvisionedManaged` or `DataZoneProvisionedManaged`.
    pub sku: String,
    /// Standard family: units of 1,000 TPM; provisioned: PTUs.
    pub capacity: u64,
    /// Context window; default from the model table.
    #[serde(default)]
    pub context_window: Option<u64>,
    /// Admission estimate when the request has no max_tokens / max_completion_tokens.
    #[serde(default = "default_estimate")]
    pub default_max_tokens_estimate: u64,
    /// Natural answer length in tokens: `[min, max]`.
    #[serde(default = "default_answer_tokens")]
    pub answer_tokens: [u64; 2],
    /// Reasoning tokens per answer `[min, max]` (reasoning models only).
    #[serde(default = "default_reasoning_tokens")]
    pub reasoning_tokens: [u64; 2],
    /// Override the model table's reasoning flag.
    #[serde(default)]
    pub reasoning: Option<bool>,
    #[serde(default)]
    pub latency: LatencyConfig,
    /// Fault probabilities by kind (`"429" = 0.05`), applied per request, seeded.
    #[serde(default)]
    pub faults: BTreeMap<String, f64>,
    /// Retry delay (ms) of injected 429s.
    #[serde(default = "default_fault_retry_ms")]
    pub fault_retry_after_ms: u64,
    /// Provisioned deployments only: the (Standard-family) deployment that serves a call
    /// this one would throttle, answered with `x-ms-is-spilled-over: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spillover: Option<String>,
    /// `"sync"` (default) or `"async"`: how streams carry the output filter's verdict.
    #[serde(default)]
    pub content_filter: ContentFilterMode,
}

/// `[entra]` of the simulator config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntraConfig {
    /// Only bearers issued by this simulator (right audience, not expired) are accepted.
    pub require: bool,
    /// Lifetime of issued tokens, seconds.
    pub token_lifetime_s: u64,
    /// Value `IDENTITY_HEADER` must carry on `/msi/token`.
    pub identity_header: String,
    /// The client secret `/oauth2/v2.0/token` accepts.
    pub client_secret: String,
    /// `false`: the managed-identity endpoints answer "no identity assigned" (400).
    pub managed_identity: bool,
    /// Object id put in issued tokens (`oid`).
    pub principal: String,
}

impl Default for EntraConfig {
    fn default() -> Self {
        EntraConfig {
            require: false,
            token_lifetime_s: 3600,
            identity_header: "sim-identity-header".into(),
            client_secret: "sim-client-secret".into(),
            managed_identity: true,
            principal: "11111111-1111-1111-1111-111111111111".into(),
        }
    }
}

/// The deployment SKUs a config may name (`deployments[].sku`, azure-wire.md §5).
pub const SKUS: [&str; 6] = [
    "Standard",
    "GlobalStandard",
    "DataZoneStandard",
    "ProvisionedManaged",
    "GlobalProvisionedManaged",
    "DataZoneProvisionedManaged",
];

pub fn is_known_sku(sku: &str) -> bool {
    SKUS.contains(&sku)
}

/// Provisioned (PTU) SKUs: `ProvisionedManaged`, `GlobalProvisionedManaged`,
/// `DataZoneProvisionedManaged`.
pub fn is_provisioned(sku: &str) -> bool {
    sku.ends_with("ProvisionedManaged")
}

/// The quota pool (ARM usage name) deployments of `model` on `sku` draw from:
/// `OpenAI.{Sku}.{model}`.
pub fn quota_pool(sku: &str, model: &str) -> String {
    format!("OpenAI.{sku}.{model}")
}

/// Default size of the request log (`request_log`).
pub const LOG_CAPACITY: usize = 10_000;

/// `gpt-4o` capacity in [`SimConfig::instant`].
pub const INSTANT_GPT4O_CAPACITY: u64 = 1_000_000;

fn default_estimate() -> u64 {
    1024
}
fn default_answer_tokens() -> [u64; 2] {
    [40, 300]
}
fn default_reasoning_tokens() -> [u64; 2] {
    [64, 512]
}
fn default_fault_retry_ms() -> u64 {
    1500
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            subscription_id: "00000000-0000-0000-0000-000000000000".into(),
            resource_group: "rg-aoai-sim".into(),
            name: "aoai-sim".into(),
            location: "swedencentral".into(),
            region: "Sweden Central".into(),
            kind: "OpenAI".into(),
            subscription_name: "aoai-sim".into(),
            tenant_id: "00000000-0000-0000-0000-00000000a0a1".into(),
            other_subscriptions: Vec::new(),
        }
    }
}

impl Default for ArmConfig {
    fn default() -> Self {
        Self {
            page_size: 100,
            empty_page: false,
            read_bucket: 250.0,
            read_refill_per_s: 25.0,
            quota_limits: BTreeMap::new(),
            default_quota_limit: 1000.0,
            account_limit: 200,
        }
    }
}

impl Default for LatencyConfig {
    fn default() -> Self {
        Self {
            ttft_ms: 0,
            tokens_per_s: 0.0,
            jitter: 0.0,
            delivery: Delivery::Smooth,
            burst_tokens: 20,
            reasoning_tokens_per_s: 0.0,
        }
    }
}

impl DeploymentConfig {
    /// A deployment with table defaults and no latency.
    pub fn new(name: &str, model: &str, version: &str, sku: &str, capacity: u64) -> Self {
        Self {
            name: name.into(),
            model: model.into(),
            version: version.into(),
            sku: sku.into(),
            capacity,
            context_window: None,
            default_max_tokens_estimate: default_estimate(),
            answer_tokens: default_answer_tokens(),
            reasoning_tokens: default_reasoning_tokens(),
            reasoning: None,
            latency: LatencyConfig::default(),
            faults: BTreeMap::new(),
            fault_retry_after_ms: default_fault_retry_ms(),
            spillover: None,
            content_filter: ContentFilterMode::Sync,
        }
    }

    fn with_latency(mut self, ttft_ms: u64, tps: f64, jitter: f64, delivery: Delivery) -> Self {
        self.latency = LatencyConfig {
            ttft_ms,
            tokens_per_s: tps,
            jitter,
            delivery,
            ..LatencyConfig::default()
        };
        self
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::default_fleet()
    }
}

impl SimConfig {
    /// The built-in fleet with realistic latencies (see `docs/simulator.md`).
    pub fn default_fleet() -> Self {
        let mut mini =
            DeploymentConfig::new("gpt-4o-mini", "gpt-4o-mini", "2024-07-18", "Standard", 2)
                .with_latency(300, 120.0, 0.2, Delivery::Bursty);
        mini.default_max_tokens_estimate = 256;
        mini.latency.burst_tokens = 24;
        let mut ptu = DeploymentConfig::new(
            "gpt-4.1-ptu",
            "gpt-4.1",
            "2025-04-14",
            "GlobalProvisionedManaged",
            15,
        )
        .with_latency(350, 90.0, 0.1, Delivery::Smooth);
        ptu.context_window = Some(128_000);
        let mut o4 =
            DeploymentConfig::new("o4-mini", "o4-mini", "2025-04-16", "GlobalStandard", 100)
                .with_latency(600, 150.0, 0.2, Delivery::Smooth);
        o4.latency.reasoning_tokens_per_s = 400.0;
        Self {
            deterministic: false,
            seed: 0x5eed,
            fixed_created: 1_745_504_517,
            api_keys: Vec::new(),
            bearer_tokens: Vec::new(),
            rate_limit_wording: RateLimitWording::default(),
            annotation_chunk: true,
            chunk_filter_results: ChunkFilterResults::Full,
            jailbreak_phrases: vec!["ignore all previous instructions".into()],
            output_filter_phrases: vec!["recite the full lyrics".into()],
            account: AccountConfig::default(),
            arm: ArmConfig::default(),
            deployments: vec![
                DeploymentConfig::new("gpt-4o", "gpt-4o", "2024-11-20", "GlobalStandard", 450)
                    .with_latency(400, 80.0, 0.15, Delivery::Smooth),
                mini,
                ptu,
                o4,
                // An embeddings deployment: it answers `/embeddings`, and refuses chat.
                DeploymentConfig::new(
                    "text-embedding-3-small",
                    "text-embedding-3-small",
                    "1",
                    "Standard",
                    120,
                )
                .with_latency(60, 0.0, 0.2, Delivery::Smooth),
            ],
            entra: EntraConfig::default(),
            request_log: LOG_CAPACITY,
            gateway: None,
            answers: Vec::new(),
        }
    }

    /// The default fleet with zero latency and jitter, smooth delivery and deterministic ids,
    /// for tests and benchmarks. `gpt-4o` gets capacity 1,000,000 (100,000 requests per 10 s)
    /// so benchmarks are not throttled, and its quota pool a limit that holds it: Azure
    /// refuses a deployment beyond the pool's quota, so no region reports more in use than
    /// its limit. The other deployments keep their limits.
    pub fn instant() -> Self {
        let mut cfg = Self::default_fleet();
        cfg.deterministic = true;
        for d in &mut cfg.deployments {
            d.latency = LatencyConfig::default();
            if d.name == "gpt-4o" {
                d.capacity = INSTANT_GPT4O_CAPACITY;
                cfg.arm
                    .quota_limits
                    .insert(quota_pool(&d.sku, &d.model), INSTANT_GPT4O_CAPACITY as f64);
            }
        }
        cfg
    }

    pub fn from_toml_str(s: &str) -> Result<Self, SimConfigError> {
        let cfg: SimConfig = toml::from_str(s).map_err(|e| SimConfigError::Toml(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Self, SimConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// Semantic checks that serde cannot express; each error names its key.
    pub fn validate(&self) -> Result<(), SimConfigError> {
        let invalid = |key: String, message: &str| SimConfigError::Invalid {
            key,
            message: message.to_string(),
        };
        if self.arm.page_size == 0 {
            return Err(invalid("arm.page_size".into(), "must be at least 1"));
        }
        if self.arm.read_bucket < 1.0 || self.arm.read_refill_per_s <= 0.0 {
            return Err(invalid(
                "arm.read_bucket".into(),
                "bucket must be >= 1 and refill > 0",
            ));
        }
        for (i, a) in self.answers.iter().enumerate() {
            if let Some(why) = crate::domain::eval::assert::regex_problem(&a.pattern) {
                return Err(invalid(
                    format!("answer[{}].match", i + 1),
                    &format!("not a regular expression: {why}"),
                ));
            }
            if let Some(d) = &a.deployment
                && self.deployment(d).is_none()
            {
                return Err(invalid(
                    format!("answer[{}].deployment", i + 1),
                    "names no deployment of this config",
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, d) in self.deployments.iter().enumerate() {
            let key = |k: &str| format!("deployments[{i}].{k}");
            if d.name.is_empty() {
                return Err(invalid(key("name"), "must not be empty"));
            }
            if !seen.insert(d.name.as_str()) {
                return Err(invalid(key("name"), "duplicate deployment name"));
            }
            if !is_known_sku(&d.sku) {
                return Err(invalid(
                    key("sku"),
                    "unknown sku (Standard, GlobalStandard, DataZoneStandard, ProvisionedManaged, GlobalProvisionedManaged, DataZoneProvisionedManaged)",
                ));
            }
            if d.answer_tokens[0] == 0 || d.answer_tokens[0] > d.answer_tokens[1] {
                return Err(invalid(
                    key("answer_tokens"),
                    "must be [min, max] with 1 <= min <= max",
                ));
            }
            if d.reasoning_tokens[0] > d.reasoning_tokens[1] {
                return Err(invalid(
                    key("reasoning_tokens"),
                    "must be [min, max] with min <= max",
                ));
            }
            if !(0.0..=1.0).contains(&d.latency.jitter) {
                return Err(invalid(key("latency.jitter"), "must be between 0 and 1"));
            }
            if d.latency.tokens_per_s < 0.0 || d.latency.reasoning_tokens_per_s < 0.0 {
                return Err(invalid(key("latency.tokens_per_s"), "must not be negative"));
            }
            if d.latency.delivery == Delivery::Bursty && d.latency.burst_tokens == 0 {
                return Err(invalid(key("latency.burst_tokens"), "must be at least 1"));
            }
            if let Some(target) = &d.spillover {
                if !is_provisioned(&d.sku) {
                    return Err(invalid(
                        key("spillover"),
                        "only a provisioned deployment (sku *ProvisionedManaged) can spill over",
                    ));
                }
                match self.deployment(target) {
                    None => {
                        return Err(invalid(
                            key("spillover"),
                            "names no deployment of this config",
                        ));
                    }
                    Some(t) if is_provisioned(&t.sku) => {
                        return Err(invalid(
                            key("spillover"),
                            "the spillover deployment must be a Standard-family one, not provisioned",
                        ));
                    }
                    Some(_) => {}
                }
            }
            for (kind, p) in &d.faults {
                if kind.parse::<FaultKind>().is_err() {
                    return Err(invalid(
                        key(&format!("faults.\"{kind}\"")),
                        "unknown fault kind",
                    ));
                }
                if !(0.0..=1.0).contains(p) {
                    return Err(invalid(
                        key(&format!("faults.\"{kind}\"")),
                        "probability must be between 0 and 1",
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn deployment(&self, name: &str) -> Option<&DeploymentConfig> {
        self.deployments.iter().find(|d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fleet_is_valid() {
        SimConfig::default_fleet().validate().unwrap();
        let i = SimConfig::instant();
        assert!(i.deterministic);
        assert!(i.deployments.iter().all(|d| d.latency.ttft_ms == 0));
    }

    #[test]
    fn unknown_key_is_named_with_line() {
        let err = SimConfig::from_toml_str("deterministic = true\nbogus_key = 1\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("bogus_key"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn unknown_nested_key_is_named() {
        let toml = "[[deployments]]\nname = \"a\"\nmodel = \"gpt-4o\"\nversion = \"v\"\nsku = \"Standard\"\ncapacity = 1\n[deployments.latency]\nttft = 5\n";
        let msg = SimConfig::from_toml_str(toml).unwrap_err().to_string();
        assert!(msg.contains("ttft"), "{msg}");
        assert!(msg.contains("line 8"), "{msg}");
    }

    #[test]
    fn wrong_type_is_named() {
        let msg = SimConfig::from_toml_str("[arm]\npage_size = \"ten\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("page_size"), "{msg}");
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let toml = "[[deployments]]\nname = \"a\"\nmodel = \"gpt-4o\"\nversion = \"v\"\nsku = \"Standard\"\ncapacity = 1\nfaults = { explode = 0.5 }\n";
        let msg = SimConfig::from_toml_str(toml).unwrap_err().to_string();
        assert!(msg.contains("deployments[0].faults.\"explode\""), "{msg}");
        let toml = "[[deployments]]\nname = \"a\"\nmodel = \"gpt-4o\"\nversion = \"v\"\nsku = \"Premium\"\ncapacity = 1\n";
        let msg = SimConfig::from_toml_str(toml).unwrap_err().to_string();
        assert!(msg.contains("deployments[0].sku"), "{msg}");
    }

    #[test]
    fn spillover_and_async_filter_keys() {
        let base = "[[deployments]]\nname = \"ptu\"\nmodel = \"gpt-4.1\"\nversion = \"v\"\nsku = \"GlobalProvisionedManaged\"\ncapacity = 15\n";
        let std = "[[deployments]]\nname = \"std\"\nmodel = \"gpt-4.1\"\nversion = \"v\"\nsku = \"GlobalStandard\"\ncapacity = 10\ncontent_filter = \"async\"\n";
        let ok = format!("{base}spillover = \"std\"\n{std}");
        let cfg = SimConfig::from_toml_str(&ok).unwrap();
        assert_eq!(cfg.deployments[0].spillover.as_deref(), Some("std"));
        assert_eq!(cfg.deployments[1].content_filter, ContentFilterMode::Async);
        let missing = format!("{base}spillover = \"nope\"\n{std}");
        let msg = SimConfig::from_toml_str(&missing).unwrap_err().to_string();
        assert!(msg.contains("deployments[0].spillover"), "{msg}");
        let to_ptu = format!("{base}spillover = \"ptu\"\n");
        let msg = SimConfig::from_toml_str(&to_ptu).unwrap_err().to_string();
        assert!(msg.contains("deployments[0].spillover"), "{msg}");
        let from_std = format!("{std}spillover = \"std\"\n");
        let msg = SimConfig::from_toml_str(&from_std).unwrap_err().to_string();
        assert!(msg.contains("deployments[0].spillover"), "{msg}");
        let bad = std.replace("\"async\"", "\"later\"");
        let msg = SimConfig::from_toml_str(&bad).unwrap_err().to_string();
        assert!(msg.contains("content_filter"), "{msg}");
    }

    #[test]
    fn answer_rules_parse_and_bad_ones_are_named() {
        let cfg =
            SimConfig::from_toml_str("[[answer]]\nmatch = \"(?i)ptu\"\ntext = \"Buy PTUs.\"\n")
                .unwrap();
        assert_eq!(cfg.answers[0].text, "Buy PTUs.");
        // `deployments` left out: the default fleet.
        assert!(cfg.deployment("gpt-4o").is_some());
        let msg = SimConfig::from_toml_str("[[answer]]\nmatch = \"(\"\ntext = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("answer[1].match"), "{msg}");
        let msg = SimConfig::from_toml_str("[[answer]]\nmatch = \"x\"\ntext = \"x\"\nwhen = 1\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("when"), "{msg}");
        let msg = SimConfig::from_toml_str(
            "[[answer]]\nmatch = \"x\"\ntext = \"x\"\ndeployment = \"nope\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("answer[1].deployment"), "{msg}");
    }

    #[test]
    fn shipped_example_parses() {
        let text = include_str!("../../docs/sim-example.toml");
        let cfg = SimConfig::from_toml_str(text).unwrap();
        assert!(!cfg.deployments.is_empty());
        let ptu = cfg.deployment("gpt-4.1-ptu").unwrap();
        assert_eq!(ptu.spillover.as_deref(), Some("gpt-4o"));
        assert_eq!(ptu.content_filter, ContentFilterMode::Async);
        assert_eq!(cfg.answers.len(), 2);
        assert_eq!(cfg.answers[1].deployment.as_deref(), Some("gpt-4o-mini"));
    }
}
