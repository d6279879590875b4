//! `aoai probe`: one minimal streamed call to each chosen deployment — across the accounts
//! and regions ARM shows, each on its own account's endpoint with the connection's
//! credential — all at once, every N seconds if asked. The rows and sparklines are
//! `domain::probe`'s.

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::azure::arm::{Account, ArmClient, ArmError, Deployment};
use crate::azure::{CallSpec, ChatClient, ClientConfig, Endpoint};
use crate::domain::call::CallRecord;
use crate::domain::probe::{self, Target};

/// One account and its deployments.
pub struct AccountView {
    pub subscription: String,
    pub account: Account,
    pub deployments: Result<Vec<Deployment>, ArmError>,
}

/// Every account of every subscription, with its deployments.
pub async fn discover(clients: &[ArmClient]) -> Result<Vec<AccountView>, ArmError> {
    let mut out = Vec::new();
    for arm in clients {
        for account in arm.accounts().await? {
            let deployments = arm.deployments(&account.id).await;
            out.push(AccountView {
                subscription: arm.subscription().to_string(),
                account,
                deployments,
            });
        }
    }
    Ok(out)
}

/// The targets: the deployments named (in any account; a name in several accounts is
/// probed in each — the same deployment in several regions), else every chat deployment.
/// `Err` names the deployments not found.
pub fn targets(views: &[AccountView], names: &[String]) -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    for v in views {
        let (Some(endpoint), Ok(deployments)) = (&v.account.endpoint, &v.deployments) else {
            continue;
        };
        for d in deployments {
            let wanted = if names.is_empty() {
                d.is_chat()
            } else {
                names.contains(&d.name)
            };
            if wanted {
                out.push(Target {
                    deployment: d.name.clone(),
                    model: d.model.clone(),
                    account: v.account.name.clone(),
                    location: v.account.location.clone(),
                    endpoint: endpoint.clone(),
                });
            }
        }
    }
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| !out.iter().any(|t| t.deployment == **n))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let known: Vec<&str> = views
            .iter()
            .filter_map(|v| v.deployments.as_ref().ok())
            .flatten()
            .map(|d| d.name.as_str())
            .collect();
        return Err(format!(
            "no deployment {} in any account (deployments: {})",
            missing.join(", "),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ));
    }
    Ok(out)
}

/// A client per target (in target order): the connection's settings and credential, the
/// target's endpoint. Targets on the same account share one client (and its connections).
pub fn clients(base: &ClientConfig, targets: &[Target]) -> anyhow::Result<Vec<ChatClient>> {
    let mut by_endpoint: std::collections::HashMap<&str, ChatClient> = Default::default();
    targets
        .iter()
        .map(|t| {
            if let Some(c) = by_endpoint.get(t.endpoint.as_str()) {
                return Ok(c.clone());
            }
            let cfg = ClientConfig {
                endpoint: Endpoint::parse(&t.endpoint)?,
                ..base.clone()
            };
            let c = ChatClient::new(cfg)?;
            by_endpoint.insert(&t.endpoint, c.clone());
            Ok(c)
        })
        .collect()
}

/// One round: a probe to every target at once; records in target order.
pub async fn round(
    clients: &[ChatClient],
    targets: &[Target],
    first_id: u64,
    cancel: &CancellationToken,
) -> Vec<CallRecord> {
    let calls = clients
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(i, (c, t))| async move {
            let spec = CallSpec::new(&t.deployment, probe::request());
            c.run(first_id + i as u64, &spec, cancel, &mut |_| {}).await
        });
    join_all(calls).await
}
