//! Provisioned-throughput (PTU) sizing from a workload shape, using the editable table in
//! `data/ptu.toml` (figures: `shared/docs/azure-wire.md` §7).
//!
//! The estimate follows Microsoft's capacity calculator: a minute of traffic costs
//! `input − cached × deduction + output × weight` input-equivalent tokens; divided by the
//! model's input TPM per PTU that gives the exact PTUs, which are then rounded up to what can
//! be deployed (the deployment type's minimum, then whole increments above it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The table shipped in the repository.
pub const DEFAULT_PTU_TOML: &str = include_str!("../../data/ptu.toml");

/// Where a provisioned deployment's capacity lives (sku `GlobalProvisionedManaged`,
/// `DataZoneProvisionedManaged`, `ProvisionedManaged`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentType {
    #[default]
    Global,
    Datazone,
    Regional,
}

impl DeploymentType {
    /// Of an ARM SKU name: `GlobalProvisionedManaged` → global, `DataZone…` → datazone, else
    /// regional.
    pub fn of_sku(sku: &str) -> DeploymentType {
        if sku.starts_with("DataZone") {
            DeploymentType::Datazone
        } else if sku.starts_with("Global") {
            DeploymentType::Global
        } else {
            DeploymentType::Regional
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentType::Global => "global",
            DeploymentType::Datazone => "datazone",
            DeploymentType::Regional => "regional",
        }
    }
}

impl std::str::FromStr for DeploymentType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "global" => Ok(DeploymentType::Global),
            "datazone" | "data-zone" | "data_zone" => Ok(DeploymentType::Datazone),
            "regional" => Ok(DeploymentType::Regional),
            other => Err(format!(
                "deployment type `{other}` is not one of: global, datazone, regional"
            )),
        }
    }
}

/// Minimum PTUs of one deployment and the increment above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Increment {
    pub min: u64,
    pub step: u64,
}

/// One model's row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PtuModel {
    pub input_tpm_per_ptu: f64,
    pub output_weight: f64,
    pub cached_deduction: f64,
    #[serde(default)]
    pub global: Option<Increment>,
    #[serde(default)]
    pub datazone: Option<Increment>,
    #[serde(default)]
    pub regional: Option<Increment>,
}

impl PtuModel {
    pub fn increment(&self, t: DeploymentType) -> Option<Increment> {
        match t {
            DeploymentType::Global => self.global,
            DeploymentType::Datazone => self.datazone,
            DeploymentType::Regional => self.regional,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PtuError {
    #[error("PTU table: {0}")]
    Parse(String),
    #[error("PTU table: models.\"{model}\".{key} must be a positive number")]
    NotPositive { model: String, key: &'static str },
    #[error("PTU table: models.\"{model}\".{key}.step must be at least 1")]
    ZeroStep { model: String, key: &'static str },
    #[error("no PTU figures for model `{0}` (known: {1})")]
    UnknownModel(String, String),
    #[error("model `{model}` is not offered as a {kind} provisioned deployment in the PTU table")]
    NotOffered { model: String, kind: &'static str },
    #[error("{0} must be a finite, non-negative number")]
    BadInput(&'static str),
    #[error("cached tokens ({cached}) cannot exceed prompt tokens ({prompt})")]
    CachedOverPrompt { cached: f64, prompt: f64 },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PtuTable {
    /// Keyed by lower-case model name.
    models: BTreeMap<String, (String, PtuModel)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PtuFile {
    models: BTreeMap<String, PtuModel>,
}

/// A workload: average tokens per request and the request rate.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Workload {
    pub prompt_tokens: f64,
    pub completion_tokens: f64,
    /// Of the prompt tokens, how many were served from the prompt cache.
    pub cached_tokens: f64,
    pub rpm: f64,
}

/// The sizing of one workload on one model and deployment type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PtuEstimate {
    /// The table row used (`gpt-4o` for `gpt-4o-2024-11-20`).
    pub model: String,
    pub deployment_type: DeploymentType,
    pub rpm: f64,
    pub prompt_tokens: f64,
    pub completion_tokens: f64,
    pub cached_tokens: f64,
    /// rpm × prompt tokens.
    pub input_tpm: f64,
    /// rpm × completion tokens.
    pub output_tpm: f64,
    /// input + output.
    pub total_tpm: f64,
    /// input − cached × deduction + output × weight: what the PTUs must serve.
    pub weighted_tpm: f64,
    pub input_tpm_per_ptu: f64,
    pub output_weight: f64,
    /// weighted TPM ÷ input TPM per PTU, unrounded.
    pub ptu_exact: f64,
    pub min: u64,
    pub step: u64,
    /// PTUs to deploy: at least `min`, then whole `step`s.
    pub ptu: u64,
}

fn check(model: &str, key: &'static str, v: f64) -> Result<(), PtuError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(PtuError::NotPositive {
            model: model.to_string(),
            key,
        })
    }
}

/// Rounds `exact` PTUs up to what can be deployed: `min`, `min + step`, …
pub fn deployable(exact: f64, inc: Increment) -> u64 {
    let step = inc.step.max(1);
    if exact.is_nan() || exact <= inc.min as f64 {
        return inc.min;
    }
    // A hair of tolerance so 100.0000000001 (float noise) does not cost a whole step.
    let above = exact - inc.min as f64;
    let steps = (above / step as f64 - 1e-9).ceil().max(0.0) as u64;
    // An absurd load (an infinite one: `f64` overflow) gets the most steps a u64 holds
    // rather than overflowing.
    let most = (u64::MAX - inc.min) / step;
    inc.min + steps.min(most) * step
}

impl PtuTable {
    pub fn builtin() -> Self {
        // The shipped table is covered by tests; failing to parse it is a packaging bug.
        Self::parse(DEFAULT_PTU_TOML).expect("data/ptu.toml parses")
    }

    pub fn parse(toml_text: &str) -> Result<Self, PtuError> {
        let file: PtuFile =
            toml::from_str(toml_text).map_err(|e| PtuError::Parse(e.to_string()))?;
        let mut models = BTreeMap::new();
        for (name, m) in file.models {
            check(&name, "input_tpm_per_ptu", m.input_tpm_per_ptu)?;
            check(&name, "output_weight", m.output_weight)?;
            if !(m.cached_deduction.is_finite() && (0.0..=1.0).contains(&m.cached_deduction)) {
                return Err(PtuError::NotPositive {
                    model: name,
                    key: "cached_deduction",
                });
            }
            for (key, inc) in [
                ("global", m.global),
                ("datazone", m.datazone),
                ("regional", m.regional),
            ] {
                if inc.is_some_and(|i| i.step == 0) {
                    return Err(PtuError::ZeroStep { model: name, key });
                }
            }
            models.insert(name.to_ascii_lowercase(), (name, m));
        }
        Ok(PtuTable { models })
    }

    /// Model names as written in the table.
    pub fn names(&self) -> Vec<&str> {
        self.models.values().map(|(n, _)| n.as_str()).collect()
    }

    /// The row for a model name or version (`gpt-4o-2024-11-20` → `gpt-4o`): the longest
    /// table name the given name starts with, case-insensitively.
    pub fn lookup(&self, model: &str) -> Option<(&str, &PtuModel)> {
        let m = model.trim().to_ascii_lowercase();
        self.models
            .iter()
            .filter(|(k, _)| {
                m == **k || (m.starts_with(k.as_str()) && m[k.len()..].starts_with('-'))
            })
            .max_by_key(|(k, _)| k.len())
            .map(|(_, (name, row))| (name.as_str(), row))
    }

    pub fn estimate(
        &self,
        model: &str,
        kind: DeploymentType,
        w: &Workload,
    ) -> Result<PtuEstimate, PtuError> {
        for (name, v) in [
            ("prompt tokens", w.prompt_tokens),
            ("completion tokens", w.completion_tokens),
            ("cached tokens", w.cached_tokens),
            ("requests per minute", w.rpm),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(PtuError::BadInput(name));
            }
        }
        if w.cached_tokens > w.prompt_tokens {
            return Err(PtuError::CachedOverPrompt {
                cached: w.cached_tokens,
                prompt: w.prompt_tokens,
            });
        }
        let (name, row) = self
            .lookup(model)
            .ok_or_else(|| PtuError::UnknownModel(model.to_string(), self.names().join(", ")))?;
        let inc = row.increment(kind).ok_or_else(|| PtuError::NotOffered {
            model: name.to_string(),
            kind: kind.as_str(),
        })?;
        let input_tpm = w.rpm * w.prompt_tokens;
        let output_tpm = w.rpm * w.completion_tokens;
        let cached_tpm = w.rpm * w.cached_tokens;
        let weighted_tpm =
            input_tpm - cached_tpm * row.cached_deduction + output_tpm * row.output_weight;
        let ptu_exact = weighted_tpm / row.input_tpm_per_ptu;
        Ok(PtuEstimate {
            model: name.to_string(),
            deployment_type: kind,
            rpm: w.rpm,
            prompt_tokens: w.prompt_tokens,
            completion_tokens: w.completion_tokens,
            cached_tokens: w.cached_tokens,
            input_tpm,
            output_tpm,
            total_tpm: input_tpm + output_tpm,
            weighted_tpm,
            input_tpm_per_ptu: row.input_tpm_per_ptu,
            output_weight: row.output_weight,
            ptu_exact,
            min: inc.min,
            step: inc.step,
            ptu: deployable(ptu_exact, inc),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by tests/properties.rs: an infinite need (a load whose TPM overflows `f64`)
    /// overflowed `min + steps × step`.
    #[test]
    fn an_absurd_load_saturates() {
        let inc = Increment { min: 15, step: 5 };
        let most = 15 + (u64::MAX - 15) / 5 * 5;
        assert_eq!(deployable(f64::INFINITY, inc), most);
        assert_eq!(deployable(1e30, inc), most);
        let huge = Workload {
            prompt_tokens: 1e200,
            completion_tokens: 0.0,
            cached_tokens: 0.0,
            rpm: 1e200,
        };
        let e = PtuTable::builtin()
            .estimate("gpt-4o", DeploymentType::Global, &huge)
            .unwrap();
        assert_eq!((e.ptu - e.min) % e.step, 0);
        assert!(e.ptu > u64::MAX - e.step);
    }

    fn w(p: f64, c: f64, rpm: f64) -> Workload {
        Workload {
            prompt_tokens: p,
            completion_tokens: c,
            cached_tokens: 0.0,
            rpm,
        }
    }

    #[test]
    fn builtin_table_parses_and_has_the_published_rows() {
        let t = PtuTable::builtin();
        let (_, m) = t.lookup("gpt-4o").unwrap();
        assert_eq!(m.input_tpm_per_ptu, 2500.0);
        assert_eq!(m.output_weight, 3.0);
        assert_eq!(m.global, Some(Increment { min: 15, step: 5 }));
        assert_eq!(m.regional, Some(Increment { min: 50, step: 50 }));
        assert_eq!(
            t.lookup("gpt-4o-mini").unwrap().1.input_tpm_per_ptu,
            37000.0
        );
        assert_eq!(t.lookup("gpt-4.1").unwrap().1.output_weight, 4.0);
        assert_eq!(t.lookup("gpt-5").unwrap().1.output_weight, 8.0);
        assert_eq!(
            t.lookup("o1").unwrap().1.regional,
            Some(Increment { min: 25, step: 50 })
        );
        assert_eq!(
            t.lookup("DeepSeek-R1").unwrap().1.global,
            Some(Increment {
                min: 100,
                step: 100
            })
        );
    }

    #[test]
    fn versions_match_the_longest_name() {
        let t = PtuTable::builtin();
        assert_eq!(t.lookup("gpt-4o-2024-11-20").unwrap().0, "gpt-4o");
        assert_eq!(t.lookup("gpt-4o-mini-2024-07-18").unwrap().0, "gpt-4o-mini");
        assert_eq!(t.lookup("GPT-4.1-MINI").unwrap().0, "gpt-4.1-mini");
        assert_eq!(t.lookup("gpt-5-mini-2025-08-07").unwrap().0, "gpt-5-mini");
        assert_eq!(t.lookup("o3-mini").unwrap().0, "o3-mini");
        assert_eq!(t.lookup("o3-2025-04-16").unwrap().0, "o3");
        assert!(t.lookup("gpt-4").is_none());
        assert!(t.lookup("o3x").is_none(), "a prefix must end at a dash");
    }

    #[test]
    fn gpt4o_global_by_hand() {
        // 100 RPM × (1000 in, 200 out): input 100,000 TPM, output 20,000 TPM.
        // Weighted = 100,000 + 3 × 20,000 = 160,000; ÷ 2,500 = 64 PTU → 65 (min 15, step 5).
        let e = PtuTable::builtin()
            .estimate("gpt-4o", DeploymentType::Global, &w(1000.0, 200.0, 100.0))
            .unwrap();
        assert_eq!(e.input_tpm, 100_000.0);
        assert_eq!(e.output_tpm, 20_000.0);
        assert_eq!(e.total_tpm, 120_000.0);
        assert_eq!(e.weighted_tpm, 160_000.0);
        assert_eq!(e.ptu_exact, 64.0);
        assert_eq!(e.ptu, 65);
    }

    #[test]
    fn exact_multiples_are_not_rounded_up() {
        // 2,500 × 20 = 50,000 weighted TPM = 20 PTU exactly, a deployable figure.
        let e = PtuTable::builtin()
            .estimate("gpt-4o", DeploymentType::Global, &w(500.0, 0.0, 100.0))
            .unwrap();
        assert_eq!(e.ptu_exact, 20.0);
        assert_eq!(e.ptu, 20);
    }

    #[test]
    fn small_workloads_get_the_minimum() {
        let t = PtuTable::builtin();
        let tiny = w(10.0, 10.0, 1.0);
        assert_eq!(
            t.estimate("gpt-4o", DeploymentType::Global, &tiny)
                .unwrap()
                .ptu,
            15
        );
        assert_eq!(
            t.estimate("gpt-4o", DeploymentType::Datazone, &tiny)
                .unwrap()
                .ptu,
            15
        );
        assert_eq!(
            t.estimate("gpt-4o", DeploymentType::Regional, &tiny)
                .unwrap()
                .ptu,
            50
        );
        assert_eq!(
            t.estimate("gpt-4o-mini", DeploymentType::Regional, &tiny)
                .unwrap()
                .ptu,
            25
        );
        assert_eq!(
            t.estimate("DeepSeek-R1", DeploymentType::Global, &tiny)
                .unwrap()
                .ptu,
            100
        );
    }

    #[test]
    fn regional_rounds_to_fifty() {
        // gpt-4.1 regional: 60 RPM × (7,000 in, 150 out) = 420,000 + 4 × 9,000 = 456,000
        // weighted TPM ÷ 3,000 = 152 PTU → 200 (min 50, step 50).
        let e = PtuTable::builtin()
            .estimate("gpt-4.1", DeploymentType::Regional, &w(7000.0, 150.0, 60.0))
            .unwrap();
        assert_eq!(e.weighted_tpm, 456_000.0);
        assert_eq!(e.ptu_exact, 152.0);
        assert_eq!(e.ptu, 200);
        // o1 regional: min 25, step 50 → 25, 75, 125 …: 26 PTU → 75.
        assert_eq!(deployable(26.0, Increment { min: 25, step: 50 }), 75);
    }

    #[test]
    fn cached_tokens_are_deducted() {
        // gpt-4o-mini global: 1,000 RPM × (3,000 in of which 1,000 cached, 500 out):
        // 3,000,000 − 1,000,000 + 3 × 500,000 = 3,500,000 ÷ 37,000 = 94.59 → 95.
        let e = PtuTable::builtin()
            .estimate(
                "gpt-4o-mini",
                DeploymentType::Global,
                &Workload {
                    prompt_tokens: 3000.0,
                    completion_tokens: 500.0,
                    cached_tokens: 1000.0,
                    rpm: 1000.0,
                },
            )
            .unwrap();
        assert_eq!(e.weighted_tpm, 3_500_000.0);
        assert!((e.ptu_exact - 94.594).abs() < 0.001);
        assert_eq!(e.ptu, 95);
    }

    #[test]
    fn errors_name_the_problem() {
        let t = PtuTable::builtin();
        assert!(matches!(
            t.estimate("gpt-9", DeploymentType::Global, &w(1.0, 1.0, 1.0)),
            Err(PtuError::UnknownModel(..))
        ));
        assert!(matches!(
            t.estimate("Llama-3.3-70B", DeploymentType::Regional, &w(1.0, 1.0, 1.0)),
            Err(PtuError::NotOffered { .. })
        ));
        assert_eq!(
            t.estimate("gpt-4o", DeploymentType::Global, &w(1.0, f64::NAN, 1.0)),
            Err(PtuError::BadInput("completion tokens"))
        );
        let bad = "[models.x]\ninput_tpm_per_ptu = 0\noutput_weight = 1\ncached_deduction = 1.0\n";
        assert_eq!(
            PtuTable::parse(bad).unwrap_err().to_string(),
            "PTU table: models.\"x\".input_tpm_per_ptu must be a positive number"
        );
        let typo = "[models.x]\ninput_tpm_per_ptu = 1\noutput_weight = 1\ncached_deduction = 1.0\nglobl = { min = 1, step = 1 }\n";
        assert!(
            PtuTable::parse(typo)
                .unwrap_err()
                .to_string()
                .contains("globl")
        );
    }

    #[test]
    fn deployment_type_parses() {
        assert_eq!("global".parse(), Ok(DeploymentType::Global));
        assert_eq!("DataZone".parse(), Ok(DeploymentType::Datazone));
        assert_eq!("regional".parse(), Ok(DeploymentType::Regional));
        assert!("standard".parse::<DeploymentType>().is_err());
    }
}
