//! `aoai deployments [--json]`: the accounts of the profile's subscription(s) and their
//! deployments from ARM, each with the data-plane endpoint derived from the account
//! (`properties.endpoint`). With no endpoint configured: the in-process simulator.

use std::process::ExitCode;

use serde_json::{Value, json};

use crate::azure::arm::Deployment;
use crate::cli::DeploymentsArgs;
use crate::engine::connect::connect;
use crate::engine::probe::discover;

pub fn deployment_json(d: &Deployment, endpoint: Option<&str>) -> Value {
    json!({
        "name": d.name,
        "model": d.model,
        "version": d.version,
        "sku": d.sku,
        "capacity": d.capacity,
        "rpm": d.rpm,
        "tpm": d.tpm,
        "state": d.state,
        "provisioned": d.model_ref().is_provisioned(),
        "endpoint": endpoint,
    })
}

pub async fn run(args: DeploymentsArgs) -> anyhow::Result<ExitCode> {
    let conn = connect(&args.arm.options()).await?;
    let clients = conn.arm_clients();
    if clients.is_empty() {
        anyhow::bail!(
            "no subscription: set `subscriptions` in the profile or AZURE_SUBSCRIPTION_ID (ARM discovery needs one)"
        );
    }
    let views = match discover(&clients).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("aoai deployments: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if args.json {
        let accounts: Vec<Value> = views
            .iter()
            .map(|v| {
                let (deps, err) = match &v.deployments {
                    Ok(d) => (
                        d.iter()
                            .map(|d| deployment_json(d, v.account.endpoint.as_deref()))
                            .collect::<Vec<_>>(),
                        None,
                    ),
                    Err(e) => (vec![], Some(e.to_string())),
                };
                json!({
                    "subscription": v.subscription,
                    "id": v.account.id,
                    "name": v.account.name,
                    "location": v.account.location,
                    "kind": v.account.kind,
                    "endpoint": v.account.endpoint,
                    "deployments": deps,
                    "error": err,
                })
            })
            .collect();
        println!("{}", json!({ "accounts": accounts }));
        return Ok(ExitCode::SUCCESS);
    }
    for v in &views {
        println!(
            "{} ({}, {}) {}",
            v.account.name,
            v.account.kind,
            v.account.location,
            v.account.endpoint.as_deref().unwrap_or("-")
        );
        match &v.deployments {
            Err(e) => println!("  error: {e}"),
            Ok(ds) => {
                // Columns as wide as their longest value (names like
                // `text-embedding-3-small` are longer than a fixed width).
                let w = |head: &str, f: &dyn Fn(&crate::azure::arm::Deployment) -> usize| {
                    ds.iter().map(f).max().unwrap_or(0).max(head.len())
                };
                let (wn, wm, wv, ws) = (
                    w("DEPLOYMENT", &|d| d.name.chars().count()),
                    w("MODEL", &|d| d.model.chars().count()),
                    w("VERSION", &|d| d.version.chars().count()),
                    w("SKU", &|d| d.sku.chars().count()),
                );
                println!(
                    "  {:<wn$} {:<wm$} {:<wv$} {:<ws$} {:>8} {:>8} {:>10}",
                    "DEPLOYMENT", "MODEL", "VERSION", "SKU", "CAPACITY", "RPM", "TPM"
                );
                for d in ds {
                    let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
                    println!(
                        "  {:<wn$} {:<wm$} {:<wv$} {:<ws$} {:>8} {:>8} {:>10}",
                        d.name,
                        d.model,
                        d.version,
                        d.sku,
                        d.capacity,
                        opt(d.rpm),
                        opt(d.tpm)
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
