//! `aoai doctor`'s report, pure: the steps (DNS, TCP, TLS, proxy, credential, data-plane
//! check, deployment, ARM, quota), each ok / warn / fail / skipped with a detail line and,
//! when something is wrong, the fix; and the judgement that turns what the engine measured
//! into those lines. The engine probes; the front ends print. No I/O here.

use core::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::call::{CallError, ErrorKind};
use super::netaddr::{AddrClass, ProxyUse, classify};

/// The line the console and `aoai chat` add under a call that failed to connect or was
/// refused its credential.
pub const DOCTOR_HINT: &str =
    "run `aoai doctor` to check the proxy, DNS, TCP, TLS and the credential step by step";

/// Whether `aoai doctor` diagnoses this failure: no connection (refused, unreachable, a
/// timeout while connecting) or a refused credential (401 / 403).
pub fn suggests_doctor(e: &CallError) -> bool {
    match e.kind {
        ErrorKind::Connect => true,
        ErrorKind::Timeout => e.message.contains("connect"),
        ErrorKind::Http => matches!(e.status, Some(401 | 403)),
        ErrorKind::Throttled
        | ErrorKind::MalformedSse
        | ErrorKind::Truncated
        | ErrorKind::StreamError
        | ErrorKind::Cancelled
        | ErrorKind::BadBody => false,
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but something deserves a look (a certificate expiring soon, a full quota pool).
    Warn,
    Fail,
    /// Not checked: not applicable (plain HTTP) or an earlier step it needs failed.
    Skip,
}

impl Status {
    /// The mark printed before the step.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
            Status::Skip => "-",
        }
    }
}

/// The steps, in report order (the proxy first: it decides where TCP connects).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepName {
    Proxy,
    Dns,
    Tcp,
    Tls,
    Credential,
    DataPlane,
    Deployment,
    Arm,
    Quota,
}

impl StepName {
    pub fn title(self) -> &'static str {
        match self {
            StepName::Dns => "DNS",
            StepName::Tcp => "TCP",
            StepName::Tls => "TLS",
            StepName::Proxy => "Proxy",
            StepName::Credential => "Credential",
            StepName::DataPlane => "Data plane",
            StepName::Deployment => "Deployment",
            StepName::Arm => "ARM",
            StepName::Quota => "Quota",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: StepName,
    pub status: Status,
    pub detail: String,
    /// What to do about a failure or warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Step {
    pub fn new(name: StepName, status: Status, detail: impl Into<String>) -> Step {
        Step {
            name,
            status,
            detail: detail.into(),
            fix: None,
        }
    }
    pub fn ok(name: StepName, detail: impl Into<String>) -> Step {
        Step::new(name, Status::Ok, detail)
    }
    pub fn skip(name: StepName, detail: impl Into<String>) -> Step {
        Step::new(name, Status::Skip, detail)
    }
    pub fn fail(name: StepName, detail: impl Into<String>, fix: impl Into<String>) -> Step {
        Step::new(name, Status::Fail, detail).with_fix(fix)
    }
    pub fn warn(name: StepName, detail: impl Into<String>, fix: impl Into<String>) -> Step {
        Step::new(name, Status::Warn, detail).with_fix(fix)
    }
    pub fn with_fix(mut self, fix: impl Into<String>) -> Step {
        self.fix = Some(fix.into());
        self
    }
    pub fn passed(&self) -> bool {
        matches!(self.status, Status::Ok | Status::Warn)
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The endpoint checked (no credentials ever appear in it).
    pub endpoint: String,
    pub profile: Option<String>,
    /// The embedded simulator (no endpoint configured).
    pub simulator: bool,
    pub deployment: Option<String>,
    /// `false` when any step failed.
    pub ok: bool,
    pub steps: Vec<Step>,
}

impl Report {
    pub fn new(
        endpoint: String,
        profile: Option<String>,
        simulator: bool,
        deployment: Option<String>,
        steps: Vec<Step>,
    ) -> Report {
        let ok = !steps.iter().any(|s| s.status == Status::Fail);
        Report {
            endpoint,
            profile,
            simulator,
            deployment,
            ok,
            steps,
        }
    }

    pub fn step(&self, name: StepName) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }
}

/// The advice every "a step it needs failed" skip carries.
pub fn needs(step: StepName) -> String {
    format!("needs {}", step.title())
}

/// DNS: the addresses `host` resolved to, classified. `public_access` is the account's
/// `publicNetworkAccess` when ARM could read it.
pub fn dns_step(
    host: &str,
    literal: bool,
    resolved: Result<Vec<IpAddr>, String>,
    public_access: Option<&str>,
) -> Step {
    const ZONE_FIX: &str = "check the host name (portal: Keys and Endpoint); behind a private endpoint this machine needs the private DNS zone (privatelink.openai.azure.com or privatelink.cognitiveservices.azure.com) linked to its virtual network, or a hosts-file entry";
    let addrs = match resolved {
        Err(e) => {
            return Step::fail(
                StepName::Dns,
                format!("cannot resolve {host}: {e}"),
                ZONE_FIX,
            );
        }
        Ok(a) if a.is_empty() => {
            return Step::fail(
                StepName::Dns,
                format!("{host} resolves to no address"),
                ZONE_FIX,
            );
        }
        Ok(a) => a,
    };
    let classes: Vec<AddrClass> = addrs.iter().map(|a| classify(*a)).collect();
    let list = addrs
        .iter()
        .zip(&classes)
        .map(|(a, c)| format!("{a} ({})", c.label()))
        .collect::<Vec<_>>()
        .join(", ");
    let head = if literal {
        format!("IP address {list}")
    } else {
        format!("{host} → {list}")
    };
    let has = |c: AddrClass| classes.contains(&c);
    let all_public = classes.iter().all(|c| *c == AddrClass::Public);
    let disabled = public_access.is_some_and(|p| p.eq_ignore_ascii_case("disabled"));
    if all_public && disabled {
        return Step::fail(
            StepName::Dns,
            format!(
                "{head}; the account has publicNetworkAccess: Disabled, so calls over a public address are refused (403)"
            ),
            "reach it through its private endpoint: link the private DNS zone (privatelink.openai.azure.com) to this machine's virtual network so the name resolves to the private address, or ask the owner to allow this network (Networking → Selected networks)",
        );
    }
    if classes
        .iter()
        .all(|c| matches!(c, AddrClass::LinkLocal | AddrClass::Reserved))
    {
        return Step::warn(
            StepName::Dns,
            format!("{head}: no routable address"),
            "a name resolving only to link-local or reserved addresses is a DNS mistake: check the DNS server and any hosts-file entry",
        );
    }
    let note = if has(AddrClass::Private) {
        "; a private address: the resource is reached through a private endpoint"
    } else if has(AddrClass::Cgnat) {
        "; a CGNAT (100.64/10) address: a VPN or carrier NAT, not a private endpoint"
    } else if has(AddrClass::Loopback) {
        "; loopback: a local simulator, proxy or tunnel"
    } else if all_public {
        "; public: reached over the internet"
    } else {
        ""
    };
    Step::ok(StepName::Dns, format!("{head}{note}"))
}

/// Why a TCP connection failed, as the engine saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum TcpFailure {
    Refused,
    TimedOut { secs: f64 },
    Other(String),
}

/// TCP: the connection to `target` (`addr:port`), direct or to the proxy.
pub fn tcp_step(
    target: &str,
    via_proxy: bool,
    result: Result<(String, f64), TcpFailure>,
    is_sim_port: bool,
) -> Step {
    let what = if via_proxy { "the proxy " } else { "" };
    match result {
        Ok((addr, ms)) => Step::ok(
            StepName::Tcp,
            format!("connected to {what}{addr} in {}", ms_text(ms)),
        ),
        Err(TcpFailure::Refused) => {
            let fix = if via_proxy {
                "the proxy does not listen there: check HTTPS_PROXY / HTTP_PROXY".to_string()
            } else if is_sim_port {
                format!(
                    "nothing listens on {target}: start the simulator there (`aoai sim --port {}`) or fix the endpoint's port",
                    target.rsplit(':').next().unwrap_or("PORT")
                )
            } else {
                format!("nothing listens on {target}: check the endpoint's port (https is 443)")
            };
            Step::fail(
                StepName::Tcp,
                format!("{what}{target}: connection refused"),
                fix,
            )
        }
        Err(TcpFailure::TimedOut { secs }) => Step::fail(
            StepName::Tcp,
            format!("{what}{target}: no answer in {secs} s"),
            "something drops the packets: a firewall, a network security group or a missing route (a jump box reaches a private endpoint only through a peered virtual network); if egress must go through a proxy, set HTTPS_PROXY",
        ),
        Err(TcpFailure::Other(e)) => Step::fail(
            StepName::Tcp,
            format!("{what}{target}: {e}"),
            "check the network path from this machine to the endpoint",
        ),
    }
}

/// What the TLS handshake showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_after: i64,
    /// `TLSv1_3`, …
    pub protocol: String,
    /// `Err`: why the platform's verifier refused the chain or the name.
    pub verified: Result<(), String>,
}

/// Below this many days left a certificate is a warning.
pub const CERT_WARN_DAYS: i64 = 14;

/// TLS: the certificate (or why the handshake failed) at `now` (unix seconds).
pub fn tls_step(result: Result<CertFacts, String>, now: i64) -> Step {
    let c = match result {
        Err(e) => {
            return Step::fail(
                StepName::Tls,
                format!("handshake failed: {e}"),
                "something between this machine and the endpoint does not speak TLS to it (a proxy or firewall); check the endpoint URL is https://…",
            );
        }
        Ok(c) => c,
    };
    let days = (c.not_after - now).div_euclid(86_400);
    let expiry = format!("{} ({days} days left)", date(c.not_after));
    let detail = format!(
        "subject {}; issuer {}; expires {expiry}; {}",
        c.subject, c.issuer, c.protocol
    );
    if let Err(e) = c.verified {
        return Step::fail(
            StepName::Tls,
            format!("certificate not trusted ({e}); {detail}"),
            "a TLS-inspecting proxy or firewall presents its own certificate: add its root CA to this machine's trust store (update-ca-certificates); otherwise the endpoint's name does not match its certificate",
        );
    }
    if c.not_after <= now {
        Step::fail(
            StepName::Tls,
            format!("certificate expired; {detail}"),
            "the server presents an expired certificate: if it is a proxy's, tell its owner",
        )
    } else if days < CERT_WARN_DAYS {
        Step::warn(
            StepName::Tls,
            detail,
            "the certificate expires soon: if it is a proxy's or gateway's, tell its owner",
        )
    } else {
        Step::ok(StepName::Tls, detail)
    }
}

/// `YYYY-MM-DD` of a unix time (UTC).
pub fn date(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_string()
}

fn ms_text(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Proxy: what the environment does with requests to the endpoint.
pub fn proxy_step(p: &ProxyUse) -> Step {
    match p {
        ProxyUse::None => Step::ok(
            StepName::Proxy,
            "none: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY are not set, calls go direct",
        ),
        ProxyUse::Bypassed { proxy, entry } => Step::ok(
            StepName::Proxy,
            format!(
                "{}={} is set, but NO_PROXY entry `{entry}` excludes this host: calls go direct",
                proxy.var, proxy.url
            ),
        ),
        ProxyUse::Loopback { proxy } => Step::ok(
            StepName::Proxy,
            format!(
                "{}={} is set, but plain http on loopback never goes through a proxy: calls go direct",
                proxy.var, proxy.url
            ),
        ),
        ProxyUse::Via { proxy, no_proxy } => {
            let creds = if proxy.has_credentials {
                " (with credentials, not shown)"
            } else {
                ""
            };
            let np = match no_proxy {
                Some(n) => format!("; NO_PROXY={n} does not match"),
                None => String::new(),
            };
            Step::ok(
                StepName::Proxy,
                format!("calls go through {}={}{creds}{np}", proxy.var, proxy.url),
            )
        }
    }
}

/// The claims of an Entra access token worth showing (read without verifying: the service
/// verifies it; this only says what was sent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub unique_name: Option<String>,
    #[serde(default)]
    pub appid: Option<String>,
    #[serde(default)]
    pub aud: Option<String>,
    #[serde(default)]
    pub exp: Option<i64>,
}

impl TokenClaims {
    /// The payload of a JWT (`header.payload.signature`, base64url); `None` for anything
    /// else. The token itself is never kept.
    pub fn decode(token: &str) -> Option<TokenClaims> {
        use base64::Engine as _;
        let mut parts = token.split('.');
        let (Some(_), Some(payload), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Who the token is for: the user principal name, else the object id, else the app id.
    pub fn principal(&self) -> Option<String> {
        self.upn
            .clone()
            .or_else(|| self.unique_name.clone())
            .or_else(|| self.oid.as_ref().map(|o| format!("object id {o}")))
            .or_else(|| self.appid.as_ref().map(|a| format!("app id {a}")))
    }
}

/// The credential a call sends, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialFacts {
    /// An API key; `source` says where it came from (never the key).
    Key { source: String },
    /// An Entra ID credential (`kind`: az CLI, managed identity, …) and the token it gave (or
    /// why it gave none).
    Entra {
        kind: String,
        token: Result<TokenClaims, String>,
    },
    /// Connecting failed before a credential was chosen.
    Unresolved { error: String },
}

/// Credential: which one, and for Entra ID its tenant, principal and expiry at `now`.
pub fn credential_step(c: &CredentialFacts, now: i64) -> Step {
    match c {
        CredentialFacts::Key { source } => {
            Step::ok(StepName::Credential, format!("API key from {source}"))
        }
        CredentialFacts::Unresolved { error } => Step::fail(
            StepName::Credential,
            error.clone(),
            "pass --api-key, set AZURE_OPENAI_API_KEY, or give the profile an `auth` (key or entra; see docs/azure.md)",
        ),
        CredentialFacts::Entra {
            kind,
            token: Err(e),
        } => Step::fail(
            StepName::Credential,
            format!("Entra ID ({kind}): no token"),
            e.clone(),
        ),
        CredentialFacts::Entra {
            kind,
            token: Ok(claims),
        } => {
            let mut parts = vec![format!("Entra ID ({kind})")];
            if let Some(p) = claims.principal() {
                parts.push(p);
            }
            if let Some(t) = &claims.tid {
                parts.push(format!("tenant {t}"));
            }
            let left = claims.exp.map(|e| (e - now).div_euclid(60));
            if let Some(m) = left {
                parts.push(format!("token expires in {m} min"));
            }
            let detail = parts.join(", ");
            match left {
                Some(m) if m < 0 => Step::fail(
                    StepName::Credential,
                    format!("{detail}: expired"),
                    "sign in again (`az login`)",
                ),
                Some(m) if m < 5 => Step::warn(
                    StepName::Credential,
                    detail,
                    "the token is about to expire; it is refreshed on the next call",
                ),
                _ => Step::ok(StepName::Credential, detail),
            }
        }
    }
}

#[cfg(test)]
#[path = "doctor_tests.rs"]
mod tests;
