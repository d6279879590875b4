use super::*;
use crate::domain::netaddr::{ProxyUse, parse_proxy};
use pretty_assertions::assert_eq;

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn a_private_address_means_a_private_endpoint() {
    let s = dns_step(
        "res.openai.azure.com",
        false,
        Ok(ips(&["10.1.0.5"])),
        Some("Disabled"),
    );
    assert_eq!(s.status, Status::Ok);
    assert_eq!(
        s.detail,
        "res.openai.azure.com → 10.1.0.5 (private); a private address: the resource is reached through a private endpoint"
    );
}

#[test]
fn a_public_address_with_public_access_disabled_fails() {
    let s = dns_step(
        "res.openai.azure.com",
        false,
        Ok(ips(&["20.1.2.3"])),
        Some("Disabled"),
    );
    assert_eq!(s.status, Status::Fail);
    assert!(
        s.detail.contains("publicNetworkAccess: Disabled"),
        "{}",
        s.detail
    );
    assert!(s.fix.unwrap().contains("privatelink.openai.azure.com"));
    // Without ARM (or with access enabled) a public address is fine.
    assert_eq!(
        dns_step("h", false, Ok(ips(&["20.1.2.3"])), None).status,
        Status::Ok
    );
    assert_eq!(
        dns_step("h", false, Ok(ips(&["20.1.2.3"])), Some("Enabled")).status,
        Status::Ok
    );
}

#[test]
fn dns_failures_and_odd_answers() {
    let s = dns_step("nx.example", false, Err("no such host".into()), None);
    assert_eq!(s.status, Status::Fail);
    assert!(s.fix.unwrap().contains("private DNS zone"));
    assert_eq!(dns_step("h", false, Ok(vec![]), None).status, Status::Fail);
    assert_eq!(
        dns_step("h", false, Ok(ips(&["169.254.1.1"])), None).status,
        Status::Warn
    );
    let s = dns_step("127.0.0.1", true, Ok(ips(&["127.0.0.1"])), None);
    assert_eq!(
        s.detail,
        "IP address 127.0.0.1 (loopback); loopback: a local simulator, proxy or tunnel"
    );
    let s = dns_step("h", false, Ok(ips(&["100.70.0.1"])), None);
    assert!(s.detail.contains("CGNAT"), "{}", s.detail);
}

#[test]
fn tcp_outcomes() {
    let s = tcp_step(
        "127.0.0.1:9",
        false,
        Ok(("127.0.0.1:9".into(), 0.42)),
        false,
    );
    assert_eq!(
        (s.status, s.detail.as_str()),
        (Status::Ok, "connected to 127.0.0.1:9 in 0.4 ms")
    );
    let s = tcp_step("127.0.0.1:9", false, Err(TcpFailure::Refused), true);
    assert_eq!(s.status, Status::Fail);
    assert_eq!(s.detail, "127.0.0.1:9: connection refused");
    assert!(s.fix.unwrap().contains("aoai sim --port 9"));
    let s = tcp_step(
        "10.0.0.4:443",
        false,
        Err(TcpFailure::TimedOut { secs: 5.0 }),
        false,
    );
    assert!(s.fix.unwrap().contains("network security group"));
}

fn cert(not_after: i64, verified: Result<(), String>) -> CertFacts {
    CertFacts {
        subject: "CN=*.openai.azure.com".into(),
        issuer: "CN=Some CA".into(),
        not_after,
        protocol: "TLSv1_3".into(),
        verified,
    }
}

#[test]
fn tls_expiry_and_trust() {
    let now = 1_800_000_000;
    let s = tls_step(Ok(cert(now + 90 * 86_400, Ok(()))), now);
    assert_eq!(s.status, Status::Ok);
    assert_eq!(
        s.detail,
        "subject CN=*.openai.azure.com; issuer CN=Some CA; expires 2027-04-15 (90 days left); TLSv1_3"
    );
    assert_eq!(
        tls_step(Ok(cert(now + 3 * 86_400, Ok(()))), now).status,
        Status::Warn
    );
    assert_eq!(
        tls_step(Ok(cert(now - 10, Ok(()))), now).status,
        Status::Fail
    );
    let s = tls_step(
        Ok(cert(now + 90 * 86_400, Err("UnknownIssuer".into()))),
        now,
    );
    assert_eq!(s.status, Status::Fail);
    assert!(s.fix.unwrap().contains("trust store"));
    assert_eq!(tls_step(Err("reset".into()), now).status, Status::Fail);
}

#[test]
fn proxy_lines_never_show_credentials() {
    let p = parse_proxy("HTTPS_PROXY", "http://bob:hunter2@proxy:3128");
    let s = proxy_step(&ProxyUse::Via {
        proxy: p.clone(),
        no_proxy: Some("localhost".into()),
    });
    assert_eq!(
        s.detail,
        "calls go through HTTPS_PROXY=http://proxy:3128 (with credentials, not shown); NO_PROXY=localhost does not match"
    );
    assert!(!s.detail.contains("hunter2"));
    let s = proxy_step(&ProxyUse::Bypassed {
        proxy: p,
        entry: ".azure.com".into(),
    });
    assert!(s.detail.contains("excludes this host"), "{}", s.detail);
    assert_eq!(proxy_step(&ProxyUse::None).status, Status::Ok);
    let s = proxy_step(&ProxyUse::Loopback {
        proxy: parse_proxy("HTTP_PROXY", "http://bob:hunter2@proxy:3128"),
    });
    assert!(
        s.detail.contains("loopback never goes through a proxy"),
        "{}",
        s.detail
    );
    assert!(!s.detail.contains("hunter2"));
}

fn jwt(claims: &str) -> String {
    use base64::Engine as _;
    let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!("{}.{}.sig", e(r#"{"alg":"RS256"}"#), e(claims))
}

#[test]
fn token_claims_are_read_without_verifying() {
    let t = jwt(
        r#"{"aud":"https://cognitiveservices.azure.com","tid":"t-1","oid":"o-1","upn":"alice@contoso.com","exp":1800003600}"#,
    );
    let c = TokenClaims::decode(&t).unwrap();
    assert_eq!(c.tid.as_deref(), Some("t-1"));
    assert_eq!(c.principal().as_deref(), Some("alice@contoso.com"));
    let s = credential_step(
        &CredentialFacts::Entra {
            kind: "az CLI".into(),
            token: Ok(c),
        },
        1_800_000_000,
    );
    assert_eq!(
        (s.status, s.detail.as_str()),
        (
            Status::Ok,
            "Entra ID (az CLI), alice@contoso.com, tenant t-1, token expires in 60 min"
        )
    );
    let c = TokenClaims::decode(&jwt(r#"{"oid":"o-2"}"#)).unwrap();
    assert_eq!(c.principal().as_deref(), Some("object id o-2"));
    assert_eq!(TokenClaims::decode("not-a-jwt"), None);
    assert_eq!(TokenClaims::decode("a.b"), None);
}

#[test]
fn credential_failures_carry_the_advice() {
    let s = credential_step(
        &CredentialFacts::Entra {
            kind: "az CLI".into(),
            token: Err("not signed in to Azure: run `az login`".into()),
        },
        0,
    );
    assert_eq!(s.status, Status::Fail);
    assert_eq!(
        s.fix.as_deref(),
        Some("not signed in to Azure: run `az login`")
    );
    let s = credential_step(
        &CredentialFacts::Key {
            source: "the --api-key flag".into(),
        },
        0,
    );
    assert_eq!(s.detail, "API key from the --api-key flag");
}

#[test]
fn the_report_fails_when_a_step_fails_and_serialises() {
    let steps = vec![
        Step::ok(StepName::Dns, "fine"),
        Step::skip(StepName::Tls, "plain HTTP"),
    ];
    let r = Report::new(
        "http://h".into(),
        None,
        true,
        Some("d".into()),
        steps.clone(),
    );
    assert!(r.ok);
    let mut more = steps;
    more.push(Step::fail(StepName::Tcp, "refused", "start it"));
    let r = Report::new("http://h".into(), None, false, None, more);
    assert!(!r.ok);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["steps"][2]["name"], "tcp");
    assert_eq!(v["steps"][2]["status"], "fail");
    assert_eq!(v["steps"][2]["fix"], "start it");
    assert!(v["steps"][0].get("fix").is_none());
    let back: Report = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
}

#[test]
fn connect_and_auth_failures_suggest_the_doctor() {
    use crate::domain::call::{CallError, ErrorKind};
    let e = |kind, status| CallError {
        status,
        ..CallError::new(kind, "could not connect: Connection refused")
    };
    assert!(suggests_doctor(&e(ErrorKind::Connect, None)));
    assert!(suggests_doctor(&e(ErrorKind::Http, Some(401))));
    assert!(suggests_doctor(&e(ErrorKind::Http, Some(403))));
    assert!(!suggests_doctor(&e(ErrorKind::Http, Some(404))));
    assert!(!suggests_doctor(&e(ErrorKind::Throttled, Some(429))));
    assert!(!suggests_doctor(&CallError::new(
        ErrorKind::Timeout,
        "timed out waiting for the first byte"
    )));
}
