//! `aoai quota [--location L] [--model M [--model-version V]] [--json]`: the regions' quota
//! usages (used / limit), the deployments sharing each pool, and free model capacity.

use std::collections::BTreeSet;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::cli::QuotaArgs;
use crate::domain::headroom::pool_name;
use crate::engine::connect::connect;

use crate::engine::probe::discover;

pub async fn run(args: QuotaArgs) -> anyhow::Result<ExitCode> {
    let conn = connect(&args.arm.options()).await?;
    let clients = conn.arm_clients();
    if clients.is_empty() {
        anyhow::bail!(
            "no subscription: set `subscriptions` in the profile or AZURE_SUBSCRIPTION_ID (quota is read from ARM)"
        );
    }
    let fail = |e: crate::azure::arm::ArmError| {
        eprintln!("aoai quota: {e}");
        Ok(ExitCode::from(1))
    };
    let views = match discover(&clients).await {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let mut regions = Vec::new();
    for arm in &clients {
        let locations: BTreeSet<String> = match &args.location {
            Some(l) => [l.clone()].into(),
            None => views
                .iter()
                .filter(|v| v.subscription == arm.subscription())
                .map(|v| v.account.location.to_ascii_lowercase())
                .collect(),
        };
        for loc in locations {
            let usages = match arm.usages(&loc).await {
                Ok(u) => u,
                Err(e) => return fail(e),
            };
            let rows: Vec<Value> = usages
                .iter()
                .map(|u| {
                    let sharing: Vec<Value> = views
                        .iter()
                        .filter(|v| v.subscription == arm.subscription() && v.account.location.eq_ignore_ascii_case(&loc))
                        .flat_map(|v| {
                            v.deployments
                                .as_ref()
                                .map(|d| d.as_slice())
                                .unwrap_or(&[])
                                .iter()
                                .filter(|d| pool_name(&d.sku, &d.model).eq_ignore_ascii_case(&u.name))
                                .map(|d| json!({"account": v.account.name, "deployment": d.name, "capacity": d.capacity}))
                        })
                        .collect();
                    json!({"name": u.name, "label": u.label, "current": u.current, "limit": u.limit, "unit": u.unit, "deployments": sharing})
                })
                .collect();
            regions
                .push(json!({"subscription": arm.subscription(), "location": loc, "usages": rows}));
        }
    }
    let mut capacities = Vec::new();
    if let Some(model) = &args.model {
        let version = args.model_version.clone().unwrap_or_default();
        for arm in &clients {
            match arm.model_capacities(args.location.as_deref(), model, &version).await {
                Ok(cs) => capacities.extend(cs.into_iter().map(|c| {
                    json!({"location": c.location, "model": c.model, "version": c.version, "sku": c.sku, "available": c.available})
                })),
                Err(e) => return fail(e),
            }
        }
    }
    if args.json {
        println!("{}", json!({"regions": regions, "capacities": capacities}));
        return Ok(ExitCode::SUCCESS);
    }
    for r in &regions {
        println!(
            "{} ({})",
            r["location"].as_str().unwrap_or(""),
            r["subscription"].as_str().unwrap_or("")
        );
        for u in r["usages"].as_array().into_iter().flatten() {
            let deps: Vec<String> = u["deployments"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    format!(
                        "{} ({})",
                        d["deployment"].as_str().unwrap_or(""),
                        d["capacity"]
                    )
                })
                .collect();
            println!(
                "  {:<44} {:>8} / {:<8} {}",
                u["name"].as_str().unwrap_or(""),
                u["current"],
                u["limit"],
                deps.join(", ")
            );
        }
    }
    if !capacities.is_empty() {
        println!("free capacity");
        for c in &capacities {
            println!(
                "  {:<14} {:<26} {:>8}",
                c["location"].as_str().unwrap_or(""),
                c["sku"].as_str().unwrap_or(""),
                c["available"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
