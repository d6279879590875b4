//! Cost of a call from an editable price table (`data/prices.toml`). Prices are held as
//! integer micro-dollars per 1M tokens, so a call's cost in pico-dollars is an exact integer:
//! tokens × (µ$ per 1M tokens) = 10⁻¹² $ units.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::usage::Usage;

/// The table shipped in the repository.
pub const DEFAULT_PRICES_TOML: &str = include_str!("../../data/prices.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    /// micro-dollars per 1M input tokens
    pub input: u64,
    pub cached_input: u64,
    pub output: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    models: BTreeMap<String, Price>,
    /// per-SKU multiplier in parts per million (1.1 → 1_100_000)
    sku_ppm: BTreeMap<String, u64>,
    /// Provisioned list prices by deployment type (`global`, `datazone`, `regional`).
    ptu: BTreeMap<String, PtuPrice>,
}

/// What one PTU costs, USD: by the hour, a month's reservation, a year's reservation.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PtuPrice {
    pub hourly: f64,
    pub monthly: f64,
    pub yearly: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    #[error("price table: {0}")]
    Parse(String),
    #[error("price table: models.\"{model}\".{key} must be a non-negative number of dollars")]
    Negative { model: String, key: &'static str },
    #[error("price table: ptu.{kind}.{key} must be a non-negative number of dollars")]
    NegativePtu { kind: String, key: &'static str },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    models: BTreeMap<String, PriceEntry>,
    #[serde(default)]
    sku_multiplier: BTreeMap<String, f64>,
    #[serde(default)]
    ptu: BTreeMap<String, PtuPrice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceEntry {
    input: f64,
    cached_input: Option<f64>,
    output: f64,
}

fn to_micro(model: &str, key: &'static str, usd: f64) -> Result<u64, PriceError> {
    if !usd.is_finite() || usd < 0.0 {
        return Err(PriceError::Negative {
            model: model.to_string(),
            key,
        });
    }
    Ok((usd * 1_000_000.0).round() as u64)
}

impl PriceTable {
    pub fn parse(toml_text: &str) -> Result<Self, PriceError> {
        let file: PriceFile =
            toml::from_str(toml_text).map_err(|e| PriceError::Parse(e.to_string()))?;
        let mut models = BTreeMap::new();
        for (name, e) in file.models {
            let input = to_micro(&name, "input", e.input)?;
            let price = Price {
                input,
                cached_input: match e.cached_input {
                    Some(c) => to_micro(&name, "cached_input", c)?,
                    None => input,
                },
                output: to_micro(&name, "output", e.output)?,
            };
            models.insert(name.to_ascii_lowercase(), price);
        }
        let sku_ppm = file
            .sku_multiplier
            .into_iter()
            .filter(|(_, m)| m.is_finite() && *m > 0.0)
            .map(|(k, m)| (k.to_ascii_lowercase(), (m * 1_000_000.0).round() as u64))
            .collect();
        let mut ptu = BTreeMap::new();
        for (kind, p) in file.ptu {
            for (key, v) in [
                ("hourly", p.hourly),
                ("monthly", p.monthly),
                ("yearly", p.yearly),
            ] {
                if !v.is_finite() || v < 0.0 {
                    return Err(PriceError::NegativePtu { kind, key });
                }
            }
            ptu.insert(kind.to_ascii_lowercase(), p);
        }
        Ok(Self {
            models,
            sku_ppm,
            ptu,
        })
    }

    /// The provisioned price of a deployment type (`global`, `datazone`, `regional`).
    pub fn ptu_price(&self, kind: &str) -> Option<PtuPrice> {
        self.ptu.get(&kind.to_ascii_lowercase()).copied()
    }

    pub fn builtin() -> Self {
        Self::parse(DEFAULT_PRICES_TOML).expect("data/prices.toml parses (tested)")
    }

    /// The price for a model name or model version (`gpt-4o-2024-08-06`): the longest table
    /// key the name equals or starts with followed by `-`.
    pub fn lookup(&self, model: &str) -> Option<(&str, Price)> {
        let m = model.to_ascii_lowercase();
        self.models
            .iter()
            .filter(|(k, _)| {
                m == **k
                    || (m.starts_with(k.as_str())
                        && m[k.len()..].starts_with('-')
                        && is_version_suffix(&m[k.len() + 1..]))
            })
            .max_by_key(|(k, _)| k.len())
            .map(|(k, p)| (k.as_str(), *p))
    }

    /// Cost of `usage` on `model`, in pico-dollars; `None` when the model is not priced.
    pub fn cost_pico(&self, model: &str, sku: Option<&str>, usage: &Usage) -> Option<u128> {
        let (_, p) = self.lookup(model)?;
        let base = usage.uncached_prompt_tokens() as u128 * p.input as u128
            + usage.cached_tokens as u128 * p.cached_input as u128
            + usage.completion_tokens as u128 * p.output as u128;
        let ppm = sku
            .and_then(|s| self.sku_ppm.get(&s.to_ascii_lowercase()))
            .copied()
            .unwrap_or(1_000_000) as u128;
        Some(base * ppm / 1_000_000)
    }

    pub fn cost_usd(&self, model: &str, sku: Option<&str>, usage: &Usage) -> Option<f64> {
        self.cost_pico(model, sku, usage).map(pico_to_usd)
    }
}

/// A version suffix is a date (`2024-08-06`) or a short tag, never another model family
/// (`mini`, `nano`): `gpt-4o-mini` must not match `gpt-4o`.
fn is_version_suffix(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_digit())
}

pub fn pico_to_usd(p: u128) -> f64 {
    p as f64 / 1e12
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_matches_versions() {
        let t = PriceTable::builtin();
        assert_eq!(t.lookup("gpt-4o-2024-08-06").unwrap().0, "gpt-4o");
        assert_eq!(t.lookup("gpt-4o-mini-2024-07-18").unwrap().0, "gpt-4o-mini");
        assert_eq!(t.lookup("gpt-4.1-mini").unwrap().0, "gpt-4.1-mini");
        assert_eq!(t.lookup("GPT-4.1").unwrap().0, "gpt-4.1");
        assert!(t.lookup("llama-3").is_none());
        assert!(t.lookup("gpt-4omni").is_none());
    }

    #[test]
    fn cost_prices_cached_tokens_as_cached() {
        let t = PriceTable::builtin();
        let u = Usage {
            prompt_tokens: 2_000,
            cached_tokens: 1_024,
            completion_tokens: 500,
            ..Default::default()
        };
        // gpt-4o: 976 × 2.50 + 1024 × 1.25 + 500 × 10.00 per 1M = 0.00244 + 0.00128 + 0.005
        let pico = t.cost_pico("gpt-4o-2024-11-20", None, &u).unwrap();
        assert_eq!(pico, 976 * 2_500_000 + 1_024 * 1_250_000 + 500 * 10_000_000);
        assert!((pico_to_usd(pico) - 0.00872).abs() < 1e-12);
        // Regional Standard SKU is 10 % more.
        let regional = t.cost_pico("gpt-4o", Some("Standard"), &u).unwrap();
        assert_eq!(regional, pico * 11 / 10);
    }

    #[test]
    fn bad_tables_name_the_key() {
        let e = PriceTable::parse("[models.x]\ninput = -1.0\noutput = 1.0\n").unwrap_err();
        assert!(e.to_string().contains("models.\"x\".input"), "{e}");
        let e =
            PriceTable::parse("[models.x]\ninput = 1.0\noutput = 1.0\nbogus = 2\n").unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }
}
