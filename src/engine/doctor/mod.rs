//! `aoai doctor`: checks the endpoint in use step by step — the proxy the environment sets,
//! DNS, TCP, TLS, the credential, a 1-token data-plane call, the deployment, ARM read access
//! and quota headroom — and returns a [`Report`] whose lines say what is wrong and what to do.
//! A failed step skips only the steps that need it (a dead port: DNS ok, TCP fails, TLS and
//! the call skipped, ARM still read). The judgement is `domain::doctor`'s; this module probes.

mod net;

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::azure::arm::ArmError;
use crate::azure::identity::{Plane, SCOPE_DATA_PLANE, SentCredential, advice_for_denied};
use crate::azure::{Auth, CallSpec};
use crate::domain::doctor::{
    CredentialFacts, Report, Status, Step, StepName, TokenClaims, credential_step, dns_step, needs,
    proxy_step, tcp_step, tls_step,
};
use crate::domain::doctor_azure::{
    ArmFacts, ProbeFacts, arm_step, data_plane_step, deployment_step, find_deployment, quota_step,
};
use crate::domain::netaddr::{ProxyUse, proxy_for};
use crate::domain::retry::RetryPolicy;
use crate::engine::connect::{self, ConnectOptions, Connection};
use crate::wire::{ChatMessage, ChatRequest};

/// What `aoai doctor` checks.
#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
    pub conn: ConnectOptions,
    /// `-d`; default: the profile's (gpt-4o on the simulator).
    pub deployment: Option<String>,
}

/// Longest wait for a name to resolve.
const DNS_LIMIT: Duration = Duration::from_secs(10);
/// Longest wait for a TLS handshake or a proxy tunnel.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// Longest wait for the data-plane call.
const CALL_LIMIT: Duration = Duration::from_secs(60);

/// The environment variables that choose a proxy, as (name, value).
fn proxy_env() -> Vec<(String, String)> {
    const NAMES: [&str; 8] = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ];
    NAMES
        .iter()
        .filter_map(|n| std::env::var(n).ok().map(|v| (n.to_string(), v)))
        .collect()
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The endpoint split into what the probes need.
struct Target {
    url: String,
    scheme: String,
    /// Without brackets for IPv6.
    host: String,
    port: u16,
    literal: Option<IpAddr>,
}

fn target(endpoint: &str) -> anyhow::Result<Target> {
    let u = Url::parse(endpoint.trim())
        .map_err(|_| anyhow::anyhow!("endpoint `{endpoint}` is not a URL"))?;
    let host = match u.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => anyhow::bail!("endpoint `{endpoint}` has no host"),
    };
    let mut clean = u.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_query(None);
    Ok(Target {
        url: clean.to_string().trim_end_matches('/').to_string(),
        scheme: u.scheme().to_string(),
        literal: host.parse().ok(),
        port: u.port_or_known_default().unwrap_or(443),
        host,
    })
}

/// Runs every step. `Err` only when there is no endpoint to check (a broken config file).
pub async fn run(opts: &DoctorOptions) -> anyhow::Result<Report> {
    let connected = connect::connect(&opts.conn).await;
    let endpoint = match &connected {
        Ok(c) => c.client.config().endpoint.as_str().to_string(),
        Err(e) => match connect::endpoint_in_use(&opts.conn)? {
            Some(ep) => ep,
            None => return Err(anyhow::anyhow!("{e:#}")),
        },
    };
    let t = target(&endpoint)?;
    let conn = connected.as_ref().ok();
    let connect_error = connected.as_ref().err().map(|e| format!("{e:#}"));
    let limit = Duration::from_secs_f64(opts.conn.connect_timeout.clamp(0.1, 120.0));
    let mut steps = Vec::new();

    // What ARM knows is needed by DNS (publicNetworkAccess) and the deployment steps.
    let arm = match conn {
        Some(c) => arm_facts(c, &t).await,
        None => ArmFacts::NoSubscription,
    };

    // Proxy.
    // What the environment says, then the one rule our clients add on top of it.
    let proxy = match proxy_for(&proxy_env(), &t.scheme, &t.host) {
        ProxyUse::Via { proxy, .. }
            if Url::parse(&t.url).is_ok_and(|u| crate::azure::net::always_direct(&u)) =>
        {
            ProxyUse::Loopback { proxy }
        }
        p => p,
    };
    steps.push(proxy_step(&proxy));
    let via = match &proxy {
        ProxyUse::Via { proxy, .. } => Some(proxy.clone()),
        ProxyUse::None | ProxyUse::Bypassed { .. } | ProxyUse::Loopback { .. } => None,
    };

    // DNS.
    let resolved = match t.literal {
        Some(ip) => Ok(vec![ip]),
        None => net::resolve(&t.host, t.port, DNS_LIMIT).await,
    };
    let public = match &arm {
        ArmFacts::Read {
            account: Some((_, p)),
            ..
        } => p.clone(),
        _ => None,
    };
    let mut dns = dns_step(
        &t.host,
        t.literal.is_some(),
        resolved.clone(),
        public.as_deref(),
    );
    if dns.status == Status::Fail && via.is_some() && resolved.is_err() {
        dns.status = Status::Warn;
        dns.fix = Some("calls go through the proxy, which resolves the name itself; for a private endpoint the name must resolve to its private address where the proxy runs".into());
    }
    let dns_ok = dns.passed();
    steps.push(dns);

    // TCP: to the endpoint, or to the proxy when calls go through one.
    let mut stream = None;
    match &via {
        Some(p) => {
            let (Some(host), Some(port)) = (p.host.clone(), p.port) else {
                steps.push(Step::fail(
                    StepName::Tcp,
                    format!("the proxy URL {} has no host or port", p.url),
                    format!("fix {}", p.var),
                ));
                return Ok(finish(opts, (conn, connect_error), t, steps, arm, None).await);
            };
            let addrs = match host.parse::<IpAddr>() {
                Ok(ip) => Ok(vec![ip]),
                Err(_) => net::resolve(&host, port, DNS_LIMIT).await,
            };
            match addrs {
                Err(e) => steps.push(Step::fail(
                    StepName::Tcp,
                    format!("the proxy host {host} does not resolve: {e}"),
                    format!("fix {}", p.var),
                )),
                Ok(addrs) => {
                    let r = net::connect(&addrs, port, limit).await;
                    let target = format!("{host}:{port}");
                    match r {
                        Ok((s, addr, ms)) => {
                            steps.push(tcp_step(&target, true, Ok((addr, ms)), false));
                            stream = Some(s);
                        }
                        Err(e) => steps.push(tcp_step(&target, true, Err(e), false)),
                    }
                }
            }
        }
        None if !dns_ok => steps.push(Step::skip(StepName::Tcp, needs(StepName::Dns))),
        None => {
            let addrs = resolved.clone().unwrap_or_default();
            let target = match t.literal {
                Some(IpAddr::V6(_)) => format!("[{}]:{}", t.host, t.port),
                _ => format!("{}:{}", t.host, t.port),
            };
            let loopback = addrs.iter().all(IpAddr::is_loopback);
            match net::connect(&addrs, t.port, limit).await {
                Ok((s, addr, ms)) => {
                    steps.push(tcp_step(&target, false, Ok((addr, ms)), loopback));
                    stream = Some(s);
                }
                Err(e) => steps.push(tcp_step(&target, false, Err(e), loopback)),
            }
        }
    }
    let tcp_ok = stream.is_some();

    // TLS.
    let tls_ok = if t.scheme != "https" {
        steps.push(Step::skip(
            StepName::Tls,
            "plain HTTP: no TLS (a local simulator or proxy)",
        ));
        true
    } else if let Some(mut s) = stream.take() {
        let tunnelled = match &via {
            Some(p) => net::tunnel(
                &mut s,
                &t.host,
                t.port,
                proxy_auth(&p.var).as_deref(),
                HANDSHAKE_LIMIT,
            )
            .await
            .map_err(|e| (e, p.var.clone())),
            None => Ok(()),
        };
        match tunnelled {
            Err((e, var)) => {
                steps.push(Step::fail(
                    StepName::Tls,
                    e,
                    format!("the proxy in {var} does not tunnel to the endpoint: check its allow-list and credentials"),
                ));
                false
            }
            Ok(()) => {
                let step = tls_step(
                    net::handshake(s, &t.host, HANDSHAKE_LIMIT).await,
                    now_unix(),
                );
                let ok = step.passed();
                steps.push(step);
                ok
            }
        }
    } else {
        steps.push(Step::skip(StepName::Tls, needs(StepName::Tcp)));
        false
    };
    let network_ok = tcp_ok && tls_ok;
    Ok(finish(opts, (conn, connect_error), t, steps, arm, Some(network_ok)).await)
}

/// `Basic …` from the credentials in the proxy variable's URL, if any.
fn proxy_auth(var: &str) -> Option<String> {
    let raw = std::env::var(var).ok()?;
    let u = Url::parse(raw.trim()).ok()?;
    if u.username().is_empty() {
        return None;
    }
    let user = url::form_urlencoded::parse(format!("u={}", u.username()).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let pass = u
        .password()
        .and_then(|p| {
            url::form_urlencoded::parse(format!("p={p}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    ))
}

/// The credential, data-plane, deployment, ARM and quota steps, given the connection (or
/// why there is none). `network_ok`: `None` when the network steps could not run at all,
/// else whether TCP (and TLS) passed.
async fn finish(
    opts: &DoctorOptions,
    (conn, connect_error): (Option<&Connection>, Option<String>),
    t: Target,
    mut steps: Vec<Step>,
    arm: ArmFacts,
    network_ok: Option<bool>,
) -> Report {
    let credential = match (conn, connect_error) {
        (Some(c), _) => credential_facts(c).await,
        (None, e) => CredentialFacts::Unresolved {
            error: e.unwrap_or_else(|| "no credential".into()),
        },
    };
    let cred_step = credential_step(&credential, now_unix());
    let cred_ok = cred_step.passed();
    steps.push(cred_step);

    let deployment = conn.map(|c| c.deployment(opts.deployment.as_ref()));
    let name = match &deployment {
        Some(Ok(d)) => Some(d.clone()),
        _ => opts.deployment.clone(),
    };
    let probe = match (conn, &name) {
        (None, _) => {
            steps.push(Step::skip(StepName::DataPlane, needs(StepName::Credential)));
            None
        }
        (Some(_), None) => {
            steps.push(Step::skip(StepName::DataPlane, "needs a deployment name"));
            None
        }
        (Some(_), Some(_)) if network_ok != Some(true) => {
            let which = if steps
                .iter()
                .any(|s| s.name == StepName::Tls && s.status == Status::Fail)
            {
                StepName::Tls
            } else {
                StepName::Tcp
            };
            steps.push(Step::skip(StepName::DataPlane, needs(which)));
            None
        }
        (Some(_), Some(_)) if !cred_ok => {
            steps.push(Step::skip(StepName::DataPlane, needs(StepName::Credential)));
            None
        }
        (Some(c), Some(d)) => {
            let (p, advice) = probe(c, d, opts).await;
            steps.push(data_plane_step(d, &p, advice));
            Some(p)
        }
    };

    match &name {
        Some(d) => steps.push(deployment_step(d, &arm, probe.as_ref())),
        None => steps.push(Step::fail(
            StepName::Deployment,
            "no deployment named",
            "pass -d DEPLOYMENT, set AZURE_OPENAI_DEPLOYMENT, or set `deployment` in the profile",
        )),
    }
    steps.push(arm_step(&arm, &t.host));
    let usages = match (conn, &name) {
        (Some(c), Some(d)) => quota_usages(c, &arm, d).await,
        _ => None,
    };
    steps.push(quota_step(
        name.as_deref().unwrap_or(""),
        &arm,
        usages.as_ref(),
    ));
    Report::new(
        t.url,
        conn.and_then(|c| c.profile.clone()),
        conn.is_some_and(Connection::is_sim),
        name,
        steps,
    )
}

async fn credential_facts(c: &Connection) -> CredentialFacts {
    match &c.client.config().auth {
        Auth::ApiKey(_) => CredentialFacts::Key {
            source: c.auth_source.clone(),
        },
        Auth::Header { name, .. } => CredentialFacts::Key {
            source: format!("{} (sent as {name})", c.auth_source),
        },
        Auth::Bearer(s) => match TokenClaims::decode(s.expose()) {
            Some(claims) => CredentialFacts::Entra {
                kind: format!("a fixed bearer token from {}", c.auth_source),
                token: Ok(claims),
            },
            None => CredentialFacts::Key {
                source: c.auth_source.clone(),
            },
        },
        Auth::Token(p) => CredentialFacts::Entra {
            kind: p.describe(),
            token: p
                .token(SCOPE_DATA_PLANE)
                .await
                .map(|s| TokenClaims::decode(s.expose()).unwrap_or_default())
                .map_err(|e| e.to_string()),
        },
        Auth::None => CredentialFacts::Unresolved {
            error: "no credential is configured".into(),
        },
    }
}

/// The 1-token call, and the role / key advice if it was refused.
async fn probe(
    c: &Connection,
    deployment: &str,
    opts: &DoctorOptions,
) -> (ProbeFacts, Option<String>) {
    let mut req = ChatRequest {
        messages: vec![ChatMessage::new("user", "ping")],
        ..Default::default()
    };
    let field = connect::max_tokens_field(&opts.conn).unwrap_or_default();
    field.apply(&mut req, Some(1));
    let mut spec = CallSpec::new(deployment, req);
    spec.stream = false;
    spec.retry = RetryPolicy::None;
    let cancel = CancellationToken::new();
    let mut ignore = |_| {};
    let run = c.client.run(0, &spec, &cancel, &mut ignore);
    let rec = match tokio::time::timeout(CALL_LIMIT, run).await {
        Ok(r) => r,
        Err(_) => {
            cancel.cancel();
            return (
                ProbeFacts {
                    status: None,
                    code: None,
                    message: format!("no answer in {} s", CALL_LIMIT.as_secs()),
                    ms: CALL_LIMIT.as_secs_f64() * 1000.0,
                    model: None,
                    region: None,
                },
                None,
            );
        }
    };
    let (code, message) = match &rec.error {
        Some(e) => (e.code.clone(), e.message.clone()),
        None => (None, String::new()),
    };
    let status = rec.status;
    let advice = match status {
        Some(s @ (401 | 403)) => advice_for_denied(
            Plane::DataPlane,
            c.client.config().auth.credential(),
            s,
            code.as_deref().unwrap_or(""),
            &message,
        ),
        _ => None,
    };
    let facts = ProbeFacts {
        status,
        code,
        message,
        ms: rec.call_ms.or(rec.timing.e2e_ms).unwrap_or(0.0),
        model: rec.model.clone(),
        region: rec.region.clone(),
    };
    (facts, advice)
}

fn arm_error(e: &ArmError) -> ArmFacts {
    let advice = match e {
        ArmError::Http {
            status,
            code,
            message,
        } => advice_for_denied(Plane::Arm, SentCredential::Entra, *status, code, message),
        ArmError::Auth(_)
        | ArmError::Throttled { .. }
        | ArmError::Transport(_)
        | ArmError::Decode(_)
        | ArmError::TooManyPages(_) => None,
    };
    ArmFacts::Failed {
        error: e.to_string(),
        advice,
    }
}

/// The same host and port (the account's `endpoint` against the one in use).
fn same_host(account_endpoint: &str, t: &Target) -> bool {
    Url::parse(account_endpoint).is_ok_and(|u| {
        u.host_str()
            .is_some_and(|h| h.trim_matches(['[', ']']).eq_ignore_ascii_case(&t.host))
            && u.port_or_known_default() == Some(t.port)
    })
}

/// Reads the accounts of every subscription and picks the one serving the endpoint.
async fn arm_facts(c: &Connection, t: &Target) -> ArmFacts {
    let clients = c.arm_clients();
    let Some(first) = clients.first() else {
        return ArmFacts::NoSubscription;
    };
    let mut total = 0;
    let mut first_error = None;
    for arm in &clients {
        let accounts = match arm.accounts().await {
            Ok(a) => a,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        total += accounts.len();
        let found = accounts
            .iter()
            .find(|a| a.endpoint.as_deref().is_some_and(|e| same_host(e, t)))
            .or(if c.is_sim() && accounts.len() == 1 {
                accounts.first()
            } else {
                None
            });
        if let Some(acct) = found {
            let public = arm.public_network_access(&acct.id).await.ok().flatten();
            let deployments = arm.deployments(&acct.id).await.map_err(|e| e.to_string());
            return ArmFacts::Read {
                subscription: arm.subscription().to_string(),
                accounts: total,
                account: Some((acct.clone(), public)),
                deployments,
            };
        }
    }
    match first_error {
        Some(e) if total == 0 => arm_error(&e),
        _ => ArmFacts::Read {
            subscription: first.subscription().to_string(),
            accounts: total,
            account: None,
            deployments: Ok(vec![]),
        },
    }
}

/// The region's quota lines, when the deployment was found on ARM.
async fn quota_usages(
    c: &Connection,
    arm: &ArmFacts,
    deployment: &str,
) -> Option<Result<Vec<crate::domain::arm::QuotaUsage>, String>> {
    find_deployment(arm, deployment)?;
    let ArmFacts::Read {
        subscription,
        account: Some((acct, _)),
        ..
    } = arm
    else {
        return None;
    };
    let client = c
        .arm_clients()
        .into_iter()
        .find(|a| a.subscription() == subscription)?;
    Some(
        client
            .usages(&acct.location)
            .await
            .map_err(|e| e.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_drop_credentials_and_default_ports() {
        let t = target("https://user:pw@res.openai.azure.com/openai?x=1").unwrap();
        assert_eq!(t.url, "https://res.openai.azure.com/openai");
        assert_eq!((t.host.as_str(), t.port), ("res.openai.azure.com", 443));
        let t = target("http://[::1]:8089").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.literal.is_some()),
            ("::1", 8089, true)
        );
    }
}
