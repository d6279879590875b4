//! `aoai proxy`: runs the recording proxy until Ctrl+C. The first stdout line is
//! `listening on http://ADDR:PORT`; then one line per finished call (a JSON object with the
//! record and the client with `--json`).

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::json;

use crate::cli::ProxyArgs;
use crate::domain::cost::PriceTable;
use crate::engine::connect::EmbeddedSim;
use crate::engine::proxy::{self, ProxiedCall, ProxyEvent, ProxyOptions};
use crate::engine::record::writer::RecordMsg;

/// Where the proxy forwards to: the flag, the profile's endpoint, or a fresh simulator.
async fn upstream(
    args: &ProxyArgs,
) -> anyhow::Result<(String, Option<String>, Option<EmbeddedSim>)> {
    if let Some(u) = &args.upstream {
        return Ok((u.clone(), None, None));
    }
    if let Some(name) = &args.profile {
        let file = crate::config::load(args.config.as_deref())?.with_context(|| {
            format!("no profile `{name}`: no config file (see `aoai config path`)")
        })?;
        let p = file
            .select(Some(name))?
            .with_context(|| format!("no profile `{name}`"))?
            .clone();
        if !p.simulator {
            let Some(e) = p.endpoint else {
                bail!("profile `{name}` has no endpoint");
            };
            return Ok((e, Some(p.name), None));
        }
    }
    let sim = EmbeddedSim::start().await?;
    Ok((sim.handle.base_url(), Some("simulator".into()), Some(sim)))
}

/// `--auth profile`: the profile's credential, built as the client builds it.
fn profile_credential(args: &ProxyArgs) -> anyhow::Result<crate::azure::Auth> {
    let Some(name) = &args.profile else {
        bail!("--auth profile needs --profile P (whose credential to send)");
    };
    let file = crate::config::load(args.config.as_deref())?
        .with_context(|| format!("no profile `{name}`: no config file (see `aoai config path`)"))?;
    let p = file
        .select(Some(name))?
        .with_context(|| format!("no profile `{name}`"))?;
    let Some(auth) = &p.auth else {
        bail!("profile `{name}` has no `auth` to send upstream");
    };
    crate::engine::connect::profile_auth(auth, p.api.unwrap_or_default())
}

/// One line of text for a finished call.
pub fn text_line(c: &ProxiedCall) -> String {
    let r = &c.record;
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}ms"));
    let status = r.status.map_or("---".to_string(), |s| s.to_string());
    let tokens = r.usage.map_or("-".to_string(), |u| {
        format!("{}+{} tok", u.prompt_tokens, u.completion_tokens)
    });
    let mut line = format!(
        "#{} {} {} {} {} {} {} ttfb {} ttft {} e2e {} {}",
        r.id,
        c.client.addr,
        c.method,
        c.path,
        if r.deployment.is_empty() {
            "-"
        } else {
            &r.deployment
        },
        r.wire_api.as_str(),
        status,
        ms(r.timing.ttfb_ms),
        ms(r.timing.ttft_ms),
        ms(r.timing.e2e_ms),
        tokens,
    );
    if let Some(cost) = r.cost_usd {
        line.push_str(&format!(" ${cost:.6}"));
    }
    if let Some(e) = &r.error {
        let outcome = format!("{:?}", r.outcome).to_lowercase();
        line.push_str(&format!(" [{outcome}] {e}"));
    }
    if let Some(i) = &c.injected {
        line.push_str(&format!(" (injected {i})"));
    }
    line
}

/// A finished call as one JSON object: the record plus what the proxy knows.
pub fn json_line(c: &ProxiedCall) -> serde_json::Value {
    json!({
        "client": {"addr": c.client.addr.to_string(), "user_agent": c.client.user_agent},
        "method": c.method,
        "path": c.path,
        "injected": c.injected,
        "started": crate::engine::record::rfc3339(c.started),
        "record": c.record,
    })
}

pub async fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let (up, profile, sim) = upstream(&args).await?;
    let url = url::Url::parse(&up).with_context(|| format!("upstream `{up}` is not a URL"))?;
    let prices = match &args.prices {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading price table {}", path.display()))?;
            PriceTable::parse(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => PriceTable::builtin(),
    };
    let mut opts = ProxyOptions::new(url);
    if args.auth == "profile" {
        opts.auth = Some(profile_credential(&args)?);
    }
    match (&args.proxy_key, args.auth.as_str()) {
        (Some(_), "app") => anyhow::bail!(
            "--proxy-key guards the profile's credential: it needs --auth profile (with --auth app the application's own key goes upstream)"
        ),
        (Some(k), _) if k.expose().trim().is_empty() => anyhow::bail!("--proxy-key is empty"),
        (Some(k), _) => {
            opts.proxy_key = Some(crate::azure::Secret::new(k.expose().trim().to_string()))
        }
        (None, "profile") if !args.bind.is_loopback() => eprintln!(
            "aoai proxy: warning: listening on {} with --auth profile and no --proxy-key: anyone who can reach it calls Azure with the profile's credential",
            args.bind
        ),
        (None, _) => {}
    }
    let secs = |flag: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(std::time::Duration::from_secs_f64(v))
        } else {
            Err(anyhow::anyhow!(
                "--{flag} must be a positive number of seconds, not {v}"
            ))
        }
    };
    opts.first_byte_timeout = secs("first-byte-timeout", args.first_byte_timeout)?;
    opts.idle_timeout = secs("idle-timeout", args.idle_timeout)?;
    opts.bind = args.bind;
    opts.port = args.port;
    opts.inject = args.inject.clone();
    opts.seed = args.seed;
    opts.record = args.record.clone();
    opts.profile = profile;
    opts.prices = Arc::new(prices);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = proxy::start(opts, Some(tx)).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", handle.base_url())?;
        if sim.is_some() {
            eprintln!(
                "aoai proxy: no --upstream or --profile: forwarding to the embedded simulator"
            );
        }
        out.flush()?;
    }
    loop {
        let ev = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            ev = rx.recv() => ev,
        };
        let Some(ev) = ev else { break };
        match ev {
            ProxyEvent::Finished(c) => {
                let line = if args.json {
                    json_line(&c).to_string()
                } else {
                    text_line(&c)
                };
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}")?;
                out.flush()?;
            }
            ProxyEvent::Record(RecordMsg::Failed { error, .. }) => {
                eprintln!("aoai proxy: recording stopped: {error}");
            }
            _ => {}
        }
    }
    handle.shutdown().await;
    drop(sim);
    Ok(ExitCode::SUCCESS)
}
