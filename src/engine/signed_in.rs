//! Zero-config start for a user signed in with the az CLI: no flags, env vars or config
//! file, but an `azureProfile.json` with a default subscription. Tokens come from the az CLI
//! (`az account get-access-token`, for the signed-in tenant); ARM lists the subscriptions the
//! user can see, the accounts of the default one and their deployments; the data plane is the
//! endpoint of the account that holds the deployment asked for (else the first chat
//! deployment found). `AOAI_ARM_ENDPOINT` replaces the cloud's ARM base URL (tests point it at
//! the simulator).

use anyhow::{Context, bail};

use crate::azure::arm::{Account, ArmClient};
use crate::azure::identity::{TokenProvider, entra_source};
use crate::azure::{Auth, Endpoint};
use crate::config::Credential;
use crate::config::az_cli::AzProfile;

/// The env var that replaces the ARM base URL.
pub const ARM_ENDPOINT_ENV: &str = "AOAI_ARM_ENDPOINT";

/// Most subscriptions searched for an account when the default one has none.
const MAX_SUBSCRIPTIONS_SEARCHED: usize = 10;

/// Who is signed in, and where (the console's status bar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The user's UPN (or a service principal's app id).
    pub user: String,
    pub subscription_id: String,
    pub subscription_name: String,
    pub tenant_id: String,
}

impl SignedIn {
    /// `ops@contoso.com · Prod`.
    pub fn label(&self) -> String {
        let sub = if self.subscription_name.is_empty() {
            &self.subscription_id
        } else {
            &self.subscription_name
        };
        format!("{} · {sub}", self.user)
    }
}

/// What discovery found.
pub struct Discovered {
    pub signed_in: SignedIn,
    /// The data plane: the chosen account's endpoint.
    pub endpoint: Endpoint,
    /// Entra ID through the az CLI, for both planes.
    pub auth: Auth,
    pub arm: ArmClient,
    /// Every usable subscription, the one in use first, then `(id, name)` of each.
    pub subscriptions: Vec<(String, String)>,
    /// The deployment to use: the one asked for, else the account's first chat deployment.
    pub deployment: Option<String>,
}

/// `AOAI_ARM_ENDPOINT`, if set.
pub fn arm_endpoint_override() -> Option<String> {
    std::env::var(ARM_ENDPOINT_ENV)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Signs in from the az CLI's profile and finds an endpoint (and deployment) to use.
pub async fn discover(az: &AzProfile, deployment: Option<&str>) -> anyhow::Result<Discovered> {
    let Some(default) = az.default_subscription() else {
        bail!(
            "the az CLI is signed in ({}) but has no default subscription: `az account set --subscription <id>`, or `aoai --sim` for the simulator",
            az.path.display()
        );
    };
    let provider = TokenProvider::new(
        entra_source(
            Credential::AzureCli,
            None,
            Some(&default.tenant_id)
                .filter(|t| !t.is_empty())
                .map(String::as_str),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    let auth = Auth::Token(provider);
    let base = arm_endpoint_override().unwrap_or_else(|| default.arm_base().to_string());
    let arm = ArmClient::with_auth(&base, auth.clone(), &default.id)?;
    let hint = |e: anyhow::Error| {
        anyhow::anyhow!(
            "{e:#}\n(signed in as {} with the az CLI, subscription {}: `az login --use-device-code` signs in again; `aoai --sim` uses the simulator)",
            default.user.name,
            default.name
        )
    };
    // The subscriptions ARM shows (the az profile's list when ARM will not say).
    let mut subscriptions: Vec<(String, String)> = match arm.subscriptions().await {
        Ok(subs) => subs
            .into_iter()
            .filter(|s| s.usable())
            .map(|s| (s.id, s.name))
            .collect(),
        Err(_) => az
            .usable()
            .into_iter()
            .map(|s| (s.id.clone(), s.name.clone()))
            .collect(),
    };
    // The default first.
    subscriptions.sort_by_key(|(id, _)| !id.eq_ignore_ascii_case(&default.id));
    if !subscriptions
        .iter()
        .any(|(id, _)| id.eq_ignore_ascii_case(&default.id))
    {
        subscriptions.insert(0, (default.id.clone(), default.name.clone()));
    }
    let mut searched = Vec::new();
    for (sub, name) in subscriptions.iter().take(MAX_SUBSCRIPTIONS_SEARCHED) {
        let client = arm.for_subscription(sub);
        let accounts = client
            .accounts()
            .await
            .with_context(|| format!("listing the Azure OpenAI accounts of subscription {name}"))
            .map_err(hint)?;
        if let Some((account, chosen)) =
            choose(&client, &accounts, deployment).await.map_err(hint)?
        {
            let endpoint = Endpoint::parse(account.endpoint.as_deref().unwrap_or_default())?;
            let mut subscriptions = subscriptions.clone();
            subscriptions.sort_by_key(|(id, _)| id != sub);
            return Ok(Discovered {
                signed_in: SignedIn {
                    user: default.user.name.clone(),
                    subscription_id: sub.clone(),
                    subscription_name: name.clone(),
                    tenant_id: default.tenant_id.clone(),
                },
                endpoint,
                auth,
                arm: client,
                subscriptions,
                deployment: chosen,
            });
        }
        searched.push(name.clone());
    }
    match deployment {
        Some(d) => bail!(
            "signed in as {}: no deployment `{d}` in any Azure OpenAI account of {} (`aoai deployments` lists them)",
            default.user.name,
            searched.join(", ")
        ),
        None => bail!(
            "signed in as {}: no Azure OpenAI or AI Foundry account in {} — `az account set --subscription <id>` picks another subscription, `aoai --sim` uses the simulator",
            default.user.name,
            searched.join(", ")
        ),
    }
}

/// The account to talk to and the deployment to use: the account holding `deployment`, else
/// the first account with an endpoint (and its first chat deployment). `None`: no account
/// here fits.
async fn choose(
    arm: &ArmClient,
    accounts: &[Account],
    deployment: Option<&str>,
) -> anyhow::Result<Option<(Account, Option<String>)>> {
    let with_endpoint = accounts.iter().filter(|a| a.endpoint.is_some());
    for a in with_endpoint {
        let deployments = arm
            .deployments(&a.id)
            .await
            .with_context(|| format!("listing the deployments of {}", a.name))?;
        match deployment {
            Some(want) => {
                if let Some(d) = deployments.iter().find(|d| d.name == want) {
                    return Ok(Some((a.clone(), Some(d.name.clone()))));
                }
            }
            None => {
                let first = deployments
                    .iter()
                    .find(|d| d.is_chat())
                    .map(|d| d.name.clone());
                return Ok(Some((a.clone(), first)));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_names_user_and_subscription() {
        let s = SignedIn {
            user: "ops@contoso.com".into(),
            subscription_id: "2222".into(),
            subscription_name: "Prod".into(),
            tenant_id: String::new(),
        };
        assert_eq!(s.label(), "ops@contoso.com · Prod");
    }
}
