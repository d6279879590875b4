//! The model table and what a deployment's SKU + capacity imply: rate limits (exactly as ARM
//! `rateLimits` reports them), PTU throughput, context windows (azure-wire.md §5, §7).

use super::config::DeploymentConfig;

/// Static facts about a model family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelInfo {
    pub reasoning: bool,
    /// Requests per minute per Standard-family capacity unit.
    pub rpm_per_unit: u64,
    /// Tokens per minute per Standard-family capacity unit.
    pub tpm_per_unit: u64,
    /// Input tokens per minute per PTU.
    pub ptu_input_tpm: u64,
    /// PTU cost of one output token, in input tokens.
    pub output_weight: u64,
    pub context_window: u64,
    pub max_output: u64,
}

const CHAT: ModelInfo = ModelInfo {
    reasoning: false,
    rpm_per_unit: 6,
    tpm_per_unit: 1000,
    ptu_input_tpm: 2500,
    output_weight: 4,
    context_window: 128_000,
    max_output: 16_384,
};

const REASONING: ModelInfo = ModelInfo {
    reasoning: true,
    rpm_per_unit: 1,
    tpm_per_unit: 1000,
    ptu_input_tpm: 3000,
    output_weight: 4,
    context_window: 200_000,
    max_output: 100_000,
};

/// Model table (azure-wire.md §5 QUOTA and §7 PTUCOST). Unknown models get chat defaults.
pub fn model_info(model: &str) -> ModelInfo {
    let long = ModelInfo {
        context_window: 1_047_576,
        max_output: 32_768,
        ..CHAT
    };
    match model {
        "gpt-4o" => ModelInfo {
            output_weight: 3,
            ..CHAT
        },
        "gpt-4o-mini" => ModelInfo {
            ptu_input_tpm: 37_000,
            output_weight: 3,
            ..CHAT
        },
        "gpt-4.1" => ModelInfo {
            ptu_input_tpm: 3000,
            ..long
        },
        "gpt-4.1-mini" => ModelInfo {
            ptu_input_tpm: 14_900,
            ..long
        },
        "gpt-4.1-nano" => ModelInfo {
            ptu_input_tpm: 59_400,
            ..long
        },
        "o4-mini" => ModelInfo {
            ptu_input_tpm: 5400,
            ..REASONING
        },
        "o3" => REASONING,
        "o3-mini" => ModelInfo {
            tpm_per_unit: 10_000,
            ptu_input_tpm: 2500,
            max_output: 100_000,
            ..REASONING
        },
        "o1" => ModelInfo {
            tpm_per_unit: 6000,
            ptu_input_tpm: 230,
            ..REASONING
        },
        "gpt-5" | "gpt-5.1" => ModelInfo {
            ptu_input_tpm: 4750,
            output_weight: 8,
            context_window: 400_000,
            max_output: 128_000,
            ..REASONING
        },
        "gpt-5-mini" => ModelInfo {
            ptu_input_tpm: 23_750,
            output_weight: 8,
            context_window: 400_000,
            max_output: 128_000,
            ..REASONING
        },
        // Embeddings models: 8,191 input tokens, no output; standard quota per unit as chat.
        "text-embedding-3-small" | "text-embedding-3-large" | "text-embedding-ada-002" => {
            ModelInfo {
                ptu_input_tpm: 0,
                output_weight: 0,
                context_window: 8191,
                max_output: 0,
                ..CHAT
            }
        }
        _ => CHAT,
    }
}

pub use super::config::is_provisioned;

/// One ARM `rateLimits` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitRule {
    pub key: &'static str,
    pub renewal_period_s: u64,
    pub count: u64,
}

/// The limits a deployment enforces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limits {
    Standard {
        requests: RateLimitRule,
        tokens_per_minute: u64,
    },
    Provisioned {
        /// Input-equivalent tokens per minute the PTUs process.
        tokens_per_minute: u64,
        output_weight: u64,
    },
}

/// Effective per-deployment facts.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentInfo {
    pub model: ModelInfo,
    pub limits: Limits,
    pub context_window: u64,
}

impl DeploymentInfo {
    pub fn of(d: &DeploymentConfig) -> Self {
        let mut model = model_info(&d.model);
        if let Some(r) = d.reasoning {
            model.reasoning = r;
        }
        let limits = if is_provisioned(&d.sku) {
            Limits::Provisioned {
                tokens_per_minute: d.capacity * model.ptu_input_tpm,
                output_weight: model.output_weight,
            }
        } else {
            let requests = if model.rpm_per_unit == 6 {
                RateLimitRule {
                    key: "request",
                    renewal_period_s: 10,
                    count: d.capacity,
                }
            } else {
                RateLimitRule {
                    key: "request",
                    renewal_period_s: 60,
                    count: d.capacity * model.rpm_per_unit,
                }
            };
            Limits::Standard {
                requests,
                tokens_per_minute: d.capacity * model.tpm_per_unit,
            }
        };
        Self {
            context_window: d.context_window.unwrap_or(model.context_window),
            model,
            limits,
        }
    }

    /// The ARM `rateLimits` array (§5): Standard = request + token rules; provisioned =
    /// the request rule ARM shows for PTU deployments (3 per PTU per 10 s; not enforced).
    pub fn arm_rate_limits(&self, capacity: u64) -> Vec<RateLimitRule> {
        match self.limits {
            Limits::Standard {
                requests,
                tokens_per_minute,
            } => vec![
                requests,
                RateLimitRule {
                    key: "token",
                    renewal_period_s: 60,
                    count: tokens_per_minute,
                },
            ],
            Limits::Provisioned { .. } => vec![RateLimitRule {
                key: "request",
                renewal_period_s: 10,
                count: capacity * 3,
            }],
        }
    }
}

/// A stable 64-bit FNV-1a hash (ids, fingerprints, seeds).
pub fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `fp_` + 10 hex digits, stable per model version.
pub fn system_fingerprint(d: &DeploymentConfig) -> String {
    let h = fnv(format!("{}:{}", d.model, d.version).as_bytes());
    format!("fp_{:010x}", h & 0xff_ffff_ffff)
}

/// `azureml-model-session`, e.g. `d112-20240926064409`, stable per deployment.
pub fn model_session(d: &DeploymentConfig) -> String {
    let h = fnv(d.name.as_bytes());
    let date: String = d.version.chars().filter(char::is_ascii_digit).collect();
    format!("d{:03}-{}{:06}", h % 1000, date, (h >> 16) % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_limits_follow_capacity() {
        let d = DeploymentConfig::new("m", "gpt-4o-mini", "2024-07-18", "Standard", 2);
        let info = DeploymentInfo::of(&d);
        assert_eq!(
            info.arm_rate_limits(2),
            vec![
                RateLimitRule {
                    key: "request",
                    renewal_period_s: 10,
                    count: 2
                },
                RateLimitRule {
                    key: "token",
                    renewal_period_s: 60,
                    count: 2000
                }
            ]
        );
        let o = DeploymentConfig::new("o", "o4-mini", "2025-04-16", "GlobalStandard", 100);
        let info = DeploymentInfo::of(&o);
        assert_eq!(info.arm_rate_limits(100)[0].renewal_period_s, 60);
        assert_eq!(info.arm_rate_limits(100)[0].count, 100);
        assert!(info.model.reasoning);
    }

    #[test]
    fn ptu_capacity_from_table() {
        let d = DeploymentConfig::new("p", "gpt-4.1", "2025-04-14", "GlobalProvisionedManaged", 15);
        assert_eq!(
            DeploymentInfo::of(&d).limits,
            Limits::Provisioned {
                tokens_per_minute: 45_000,
                output_weight: 4
            }
        );
    }

    #[test]
    fn fingerprint_shape() {
        let d = DeploymentConfig::new("p", "gpt-4.1", "2025-04-14", "Standard", 1);
        let fp = system_fingerprint(&d);
        assert_eq!(fp.len(), 13);
        assert!(fp[3..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
