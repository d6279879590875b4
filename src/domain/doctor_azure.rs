//! `aoai doctor`'s steps about the service, pure: the data-plane check (a 1-token call), the
//! deployment (from ARM when it can be read, else from that call), ARM read access and the
//! quota headroom of the deployment's pool. The network steps are in [`super::doctor`].

use super::arm::{Account, Deployment, QuotaUsage};
use super::doctor::{Step, StepName, needs};
use super::headroom::{self, DeploymentLimits, QuotaRow};
use super::num::fixed;

/// How the minimal data-plane call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeFacts {
    /// `None`: no HTTP answer (`message` says why).
    pub status: Option<u16>,
    pub code: Option<String>,
    pub message: String,
    pub ms: f64,
    /// The model version the service reported.
    pub model: Option<String>,
    pub region: Option<String>,
}

/// Data plane: a 1-token call to `deployment`. `advice` is the role / key advice for a 401
/// or 403 (the client's `advice_for_denied`).
pub fn data_plane_step(deployment: &str, p: &ProbeFacts, advice: Option<String>) -> Step {
    let what = format!("a 1-token chat to `{deployment}`");
    let code = p
        .code
        .as_deref()
        .filter(|c| Some(c.to_string()) != p.status.map(|s| s.to_string()))
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    let took = format!("{} ms", fixed(p.ms, 0));
    match p.status {
        Some(s @ 200..=299) => {
            let mut extra = Vec::new();
            if let Some(m) = &p.model {
                extra.push(format!("model {m}"));
            }
            if let Some(r) = &p.region {
                extra.push(format!("region {r}"));
            }
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!(" ({})", extra.join(", "))
            };
            Step::ok(
                StepName::DataPlane,
                format!("{what} answered {s} in {took}{extra}: the credential is accepted"),
            )
        }
        Some(s @ (401 | 403)) => Step::fail(
            StepName::DataPlane,
            format!("{what} was refused: {s}{code}: {}", short(&p.message)),
            advice.unwrap_or_else(|| {
                "check the credential and that it is for this resource".to_string()
            }),
        ),
        Some(404) => Step::ok(
            StepName::DataPlane,
            format!("the credential is accepted, but {what} answered 404{code} (see Deployment)"),
        ),
        Some(429) => Step::warn(
            StepName::DataPlane,
            format!("{what} was throttled (429) after {took}: the credential is accepted"),
            "the deployment is at its rate limit now; see Quota, or try again in a minute",
        ),
        Some(s @ 400..=499) => Step::warn(
            StepName::DataPlane,
            format!("{what} answered {s}{code}: {}", short(&p.message)),
            "the credential is accepted; the request shape was not (an embeddings deployment, or an old api-version): see the message",
        ),
        Some(s) => Step::fail(
            StepName::DataPlane,
            format!("{what} answered {s}{code}: {}", short(&p.message)),
            "the service failed the call: try again; if it persists, check Azure status for the region",
        ),
        None => Step::fail(
            StepName::DataPlane,
            format!("{what} got no answer: {}", short(&p.message)),
            "see the TCP, TLS and Proxy steps",
        ),
    }
}

fn short(s: &str) -> String {
    let first = s.lines().next().unwrap_or("");
    if first.chars().count() > 200 {
        format!("{}…", first.chars().take(200).collect::<String>())
    } else {
        first.to_string()
    }
}

/// What ARM said about the endpoint's account. One per doctor run, so the size of `Read`
/// against the other variants does not matter.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum ArmFacts {
    /// No subscription configured.
    NoSubscription,
    /// Reading failed; `advice` from the client's `advice_for_denied`.
    Failed {
        error: String,
        advice: Option<String>,
    },
    Read {
        subscription: String,
        accounts: usize,
        /// The account serving the endpoint's host, with its `publicNetworkAccess`.
        account: Option<(Account, Option<String>)>,
        /// Its deployments (or why they could not be listed).
        deployments: Result<Vec<Deployment>, String>,
    },
}

/// ARM: read access, and which account serves `host`.
pub fn arm_step(a: &ArmFacts, host: &str) -> Step {
    match a {
        ArmFacts::NoSubscription => Step::skip(
            StepName::Arm,
            "no subscription: set `subscriptions` in the profile or AZURE_SUBSCRIPTION_ID to check the deployment's SKU, capacity and quota",
        ),
        ArmFacts::Failed { error, advice } => Step::fail(
            StepName::Arm,
            error.clone(),
            advice.clone().unwrap_or_else(|| {
                "check the ARM endpoint and the signed-in principal (`az account show`)".into()
            }),
        ),
        ArmFacts::Read {
            subscription,
            accounts,
            account: None,
            ..
        } => Step::warn(
            StepName::Arm,
            format!(
                "subscription {subscription}: {accounts} account(s) readable, none serves {host}"
            ),
            "the endpoint's account is in another subscription: set it in the profile's `subscriptions` or AZURE_SUBSCRIPTION_ID",
        ),
        ArmFacts::Read {
            subscription,
            accounts,
            account: Some((acct, public)),
            deployments,
        } => {
            let public = public
                .as_deref()
                .map(|p| format!(", publicNetworkAccess {p}"))
                .unwrap_or_default();
            let detail = format!(
                "subscription {subscription}: {accounts} account(s); this endpoint is `{}` ({}, {}{public})",
                acct.name, acct.location, acct.kind
            );
            match deployments {
                Ok(_) => Step::ok(StepName::Arm, detail),
                Err(e) => Step::warn(
                    StepName::Arm,
                    format!("{detail}; its deployments could not be listed: {e}"),
                    "the principal needs `Reader` (or `Cognitive Services User`) on the account",
                ),
            }
        }
    }
}

/// The deployment named `name` among the account's, if ARM listed them.
pub fn find_deployment<'a>(a: &'a ArmFacts, name: &str) -> Option<&'a Deployment> {
    match a {
        ArmFacts::Read {
            deployments: Ok(d), ..
        } => d.iter().find(|d| d.name.eq_ignore_ascii_case(name)),
        _ => None,
    }
}

/// Deployment: exists, model, version, SKU, capacity. From ARM when it listed the account's
/// deployments; else from the data-plane call (`probe`: `None` when it was not made).
pub fn deployment_step(name: &str, arm: &ArmFacts, probe: Option<&ProbeFacts>) -> Step {
    if let ArmFacts::Read {
        account: Some((acct, _)),
        deployments: Ok(all),
        ..
    } = arm
    {
        return match find_deployment(arm, name) {
            Some(d) => {
                let detail = describe(d);
                if d.state.is_empty() || d.state.eq_ignore_ascii_case("succeeded") {
                    Step::ok(StepName::Deployment, detail)
                } else {
                    Step::warn(
                        StepName::Deployment,
                        format!("{detail}; provisioning state {}", d.state),
                        "the deployment is not ready (being created, updated or failed): see the portal",
                    )
                }
            }
            None => {
                let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
                let fix = if names.is_empty() {
                    format!(
                        "account `{}` has no deployments: create one (portal → Deployments)",
                        acct.name
                    )
                } else {
                    format!(
                        "deployments on `{}`: {}; pass one with -d (or set the profile's `deployment`)",
                        acct.name,
                        names.join(", ")
                    )
                };
                Step::fail(
                    StepName::Deployment,
                    format!("no deployment `{name}` on account `{}`", acct.name),
                    fix,
                )
            }
        };
    }
    match probe {
        None => Step::skip(StepName::Deployment, needs(StepName::DataPlane)),
        Some(p) if p.status == Some(404) => Step::fail(
            StepName::Deployment,
            format!(
                "no deployment `{name}` on this resource (404{})",
                p.code
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            ),
            "check the name: `aoai deployments` lists them (needs ARM), or the portal (Deployments)",
        ),
        Some(p)
            if p.status
                .is_some_and(|s| (200..300).contains(&s) || s == 429) =>
        {
            let model = p
                .model
                .as_deref()
                .map(|m| format!(", model {m}"))
                .unwrap_or_default();
            Step::ok(
                StepName::Deployment,
                format!("`{name}` answers{model}; SKU and capacity need ARM (see ARM)"),
            )
        }
        Some(_) => Step::skip(StepName::Deployment, needs(StepName::DataPlane)),
    }
}

/// `gpt-4o: model gpt-4o 2024-11-20, GlobalStandard, capacity 450 (450k TPM, 2,700 RPM)`.
fn describe(d: &Deployment) -> String {
    let mut limits = Vec::new();
    if let Some(t) = d.tpm {
        limits.push(format!("{} TPM", thousands(t)));
    }
    if let Some(r) = d.rpm {
        limits.push(format!("{} RPM", thousands(r)));
    }
    let limits = if limits.is_empty() {
        String::new()
    } else {
        format!(" ({})", limits.join(", "))
    };
    let unit = if d.model_ref().is_provisioned() {
        " PTU"
    } else {
        ""
    };
    format!(
        "`{}`: model {} {}, SKU {}, capacity {}{unit}{limits}",
        d.name, d.model, d.version, d.sku, d.capacity
    )
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Quota: the deployment's pool in its region (`usages`), how much of it is used and free,
/// and who shares it. `usages`: `None` when ARM was not read; `Some(Err)` when it failed.
pub fn quota_step(
    name: &str,
    arm: &ArmFacts,
    usages: Option<&Result<Vec<QuotaUsage>, String>>,
) -> Step {
    let Some(dep) = find_deployment(arm, name) else {
        let why = match arm {
            ArmFacts::Read { .. } => "needs the deployment on ARM".to_string(),
            ArmFacts::NoSubscription | ArmFacts::Failed { .. } => needs(StepName::Arm),
        };
        return Step::skip(StepName::Quota, why);
    };
    let location = match arm {
        ArmFacts::Read {
            account: Some((a, _)),
            ..
        } => a.location.clone(),
        _ => String::new(),
    };
    let usages = match usages {
        None => return Step::skip(StepName::Quota, "needs ARM"),
        Some(Err(e)) => {
            return Step::warn(
                StepName::Quota,
                format!("the quota of {location} could not be read: {e}"),
                "the principal needs `Cognitive Services Usages Reader` (or `Reader`) on the subscription",
            );
        }
        Some(Ok(u)) => u,
    };
    let limits = |d: &Deployment| DeploymentLimits::from(d);
    let siblings: Vec<DeploymentLimits> = match arm {
        ArmFacts::Read {
            deployments: Ok(all),
            ..
        } => all.iter().map(limits).collect(),
        _ => vec![],
    };
    let rows: Vec<QuotaRow> = usages
        .iter()
        .map(|u| QuotaRow {
            name: u.name.clone(),
            current: u.current,
            limit: u.limit,
        })
        .collect();
    let h = headroom::compute(&limits(dep), None, false, &rows, &siblings);
    let Some((pool, used, limit)) = h.pool else {
        return Step::warn(
            StepName::Quota,
            format!(
                "no quota line {} in {location}",
                headroom::pool_name(&dep.sku, &dep.model)
            ),
            "the region reports no quota for this model and SKU: see the portal (Quotas)",
        );
    };
    let free = h.pool_free.unwrap_or(0.0);
    let unit = if dep.model_ref().is_provisioned() {
        "PTUs"
    } else {
        "units of 1,000 TPM"
    };
    let sharing = if h.sharing.is_empty() {
        String::new()
    } else {
        format!(
            "; shared with {}",
            h.sharing
                .iter()
                .map(|(n, c)| format!("{n} ({c})"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let detail = format!(
        "{pool} in {location}: {} of {} used, {} free ({unit}){sharing}",
        fixed(used, 1),
        fixed(limit, 1),
        fixed(free, 1)
    );
    if free <= 0.0 {
        Step::warn(
            StepName::Quota,
            detail,
            "the pool is full: this deployment cannot grow; free capacity elsewhere in the pool or request more (https://aka.ms/oai/quotaincrease)",
        )
    } else {
        Step::ok(StepName::Quota, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::doctor::Status;

    fn dep(name: &str, model: &str, sku: &str, cap: u64) -> Deployment {
        Deployment {
            name: name.into(),
            model: model.into(),
            version: "2024-11-20".into(),
            sku: sku.into(),
            capacity: cap,
            rpm: Some(cap * 6),
            tpm: Some(cap * 1000),
            state: "Succeeded".into(),
        }
    }

    fn account() -> Account {
        Account {
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/acct".into(),
            name: "acct".into(),
            location: "swedencentral".into(),
            kind: "OpenAI".into(),
            sku: "S0".into(),
            endpoint: Some("https://acct.openai.azure.com/".into()),
            state: "Succeeded".into(),
        }
    }

    fn read(deps: Vec<Deployment>) -> ArmFacts {
        ArmFacts::Read {
            subscription: "s".into(),
            accounts: 1,
            account: Some((account(), Some("Enabled".into()))),
            deployments: Ok(deps),
        }
    }

    fn probe(status: Option<u16>, code: Option<&str>) -> ProbeFacts {
        ProbeFacts {
            status,
            code: code.map(str::to_string),
            message: "msg".into(),
            ms: 12.0,
            model: Some("gpt-4o-2024-11-20".into()),
            region: Some("Sweden Central".into()),
        }
    }

    #[test]
    fn a_missing_deployment_names_the_ones_that_exist() {
        let arm = read(vec![
            dep("gpt-4o", "gpt-4o", "GlobalStandard", 450),
            dep("mini", "gpt-4o-mini", "Standard", 10),
        ]);
        let s = deployment_step(
            "nope",
            &arm,
            Some(&probe(Some(404), Some("DeploymentNotFound"))),
        );
        assert_eq!(s.status, Status::Fail);
        assert_eq!(s.detail, "no deployment `nope` on account `acct`");
        assert!(s.fix.unwrap().contains("gpt-4o, mini"));
        let s = deployment_step("gpt-4o", &arm, None);
        assert_eq!(s.status, Status::Ok);
        assert_eq!(
            s.detail,
            "`gpt-4o`: model gpt-4o 2024-11-20, SKU GlobalStandard, capacity 450 (450,000 TPM, 2,700 RPM)"
        );
    }

    #[test]
    fn without_arm_the_deployment_comes_from_the_call() {
        let none = ArmFacts::NoSubscription;
        let s = deployment_step("d", &none, Some(&probe(Some(200), None)));
        assert_eq!(s.status, Status::Ok);
        assert!(s.detail.contains("model gpt-4o-2024-11-20"), "{}", s.detail);
        let s = deployment_step(
            "d",
            &none,
            Some(&probe(Some(404), Some("DeploymentNotFound"))),
        );
        assert_eq!(s.status, Status::Fail);
        assert_eq!(deployment_step("d", &none, None).status, Status::Skip);
    }

    #[test]
    fn data_plane_outcomes() {
        let s = data_plane_step("d", &probe(Some(401), Some("401")), Some("the key".into()));
        assert_eq!(
            (s.status, s.fix.as_deref()),
            (Status::Fail, Some("the key"))
        );
        assert_eq!(s.detail, "a 1-token chat to `d` was refused: 401: msg");
        assert_eq!(
            data_plane_step("d", &probe(Some(200), None), None).status,
            Status::Ok
        );
        assert_eq!(
            data_plane_step("d", &probe(Some(404), None), None).status,
            Status::Ok
        );
        assert_eq!(
            data_plane_step("d", &probe(Some(429), None), None).status,
            Status::Warn
        );
        assert_eq!(
            data_plane_step("d", &probe(Some(503), None), None).status,
            Status::Fail
        );
        assert_eq!(
            data_plane_step("d", &probe(None, None), None).status,
            Status::Fail
        );
    }

    #[test]
    fn quota_headroom_of_the_pool() {
        let arm = read(vec![
            dep("a", "gpt-4o", "GlobalStandard", 450),
            dep("b", "gpt-4o", "GlobalStandard", 50),
        ]);
        let usage = |cur: f64| {
            Ok(vec![QuotaUsage {
                name: "OpenAI.GlobalStandard.gpt-4o".into(),
                label: String::new(),
                current: cur,
                limit: 1000.0,
                unit: "Count".into(),
            }])
        };
        let s = quota_step("a", &arm, Some(&usage(500.0)));
        assert_eq!(s.status, Status::Ok);
        assert_eq!(
            s.detail,
            "OpenAI.GlobalStandard.gpt-4o in swedencentral: 500 of 1000 used, 500 free (units of 1,000 TPM); shared with b (50)"
        );
        assert_eq!(
            quota_step("a", &arm, Some(&usage(1000.0))).status,
            Status::Warn
        );
        assert_eq!(quota_step("a", &arm, None).status, Status::Skip);
        assert_eq!(
            quota_step("zz", &arm, Some(&usage(1.0))).status,
            Status::Skip
        );
    }

    #[test]
    fn arm_access() {
        assert_eq!(
            arm_step(&ArmFacts::NoSubscription, "h").status,
            Status::Skip
        );
        let s = arm_step(&read(vec![]), "acct.openai.azure.com");
        assert_eq!(s.status, Status::Ok);
        assert!(
            s.detail.contains("publicNetworkAccess Enabled"),
            "{}",
            s.detail
        );
        let other = ArmFacts::Read {
            subscription: "s".into(),
            accounts: 3,
            account: None,
            deployments: Ok(vec![]),
        };
        assert_eq!(arm_step(&other, "h").status, Status::Warn);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
