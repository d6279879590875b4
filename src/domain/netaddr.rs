//! Network facts for `aoai doctor`, pure: what kind of address a host resolved to (a private
//! endpoint, carrier-grade NAT, link-local, loopback or public), and which HTTP proxy the
//! environment puts in front of a host — the rules reqwest follows (`HTTPS_PROXY` /
//! `HTTP_PROXY`, then `ALL_PROXY`, each upper- then lowercase; `NO_PROXY` entries: `*`, a
//! domain with its subdomains, an IP or a CIDR block) — shown without its credentials.
//! The address types are `core::net`'s: values only, no sockets.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The kind of address a name resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddrClass {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16) or IPv6 unique-local fc00::/7: inside a
    /// virtual network — for an Azure resource, a private endpoint.
    Private,
    /// 100.64.0.0/10 (RFC 6598): a carrier-grade NAT or a VPN overlay, not a private endpoint.
    Cgnat,
    /// 169.254.0.0/16, fe80::/10: never a service's address.
    LinkLocal,
    /// Unspecified, multicast, broadcast, documentation, benchmarking, 240/4.
    Reserved,
    /// Anything else: reached over the internet.
    Public,
}

impl AddrClass {
    /// A short label for a report line.
    pub fn label(self) -> &'static str {
        match self {
            AddrClass::Loopback => "loopback",
            AddrClass::Private => "private",
            AddrClass::Cgnat => "CGNAT",
            AddrClass::LinkLocal => "link-local",
            AddrClass::Reserved => "reserved",
            AddrClass::Public => "public",
        }
    }
}

/// Classifies an address (an IPv4-mapped IPv6 address as its IPv4 address).
pub fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        AddrClass::Loopback
    } else if ip.is_private() {
        AddrClass::Private
    } else if a == 100 && (64..128).contains(&b) {
        AddrClass::Cgnat
    } else if ip.is_link_local() {
        AddrClass::LinkLocal
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a >= 240
        || (a == 198 && (b & 0xfe) == 18)
        || (a == 192 && b == 0 && c == 0)
        || a == 0
    {
        AddrClass::Reserved
    } else {
        AddrClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        AddrClass::Loopback
    } else if (first & 0xfe00) == 0xfc00 {
        AddrClass::Private
    } else if (first & 0xffc0) == 0xfe80 {
        AddrClass::LinkLocal
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
    {
        AddrClass::Reserved
    } else {
        AddrClass::Public
    }
}

/// The proxy the environment sets for a request, as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxySetting {
    /// The variable it came from (`HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`, …).
    pub var: String,
    /// The proxy URL with any `user:password@` removed.
    pub url: String,
    /// Host and port of the proxy (port defaulted from its scheme), when the URL has them.
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Whether the URL carried credentials (they are never shown).
    pub has_credentials: bool,
}

/// What the environment does with requests to one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProxyUse {
    /// No proxy variable applies to this scheme.
    None,
    /// A proxy is set, but `NO_PROXY` excludes the host (the entry that matched).
    Bypassed { proxy: ProxySetting, entry: String },
    /// A proxy is set, but our clients never send plain http on loopback through one
    /// (`azure::net::always_direct`: the simulator, a local `aoai proxy`).
    Loopback { proxy: ProxySetting },
    /// Requests go through this proxy.
    Via {
        proxy: ProxySetting,
        /// The `NO_PROXY` value, if any (it did not match).
        no_proxy: Option<String>,
    },
}

/// The first of `names` set (and not empty) in `env`, with its name.
fn first<'a>(env: &'a [(String, String)], names: &[&str]) -> Option<(&'a str, &'a str)> {
    names.iter().find_map(|n| {
        env.iter()
            .find(|(k, v)| k == n && !v.trim().is_empty())
            .map(|(k, v)| (k.as_str(), v.trim()))
    })
}

/// Which proxy `env` (the process environment as name/value pairs) applies to a request of
/// `scheme` (`http`/`https`) to `host`.
pub fn proxy_for(env: &[(String, String)], scheme: &str, host: &str) -> ProxyUse {
    let scheme_vars: &[&str] = if scheme.eq_ignore_ascii_case("https") {
        &["HTTPS_PROXY", "https_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy"]
    };
    let Some((var, raw)) =
        first(env, scheme_vars).or_else(|| first(env, &["ALL_PROXY", "all_proxy"]))
    else {
        return ProxyUse::None;
    };
    let proxy = parse_proxy(var, raw);
    let no_proxy = first(env, &["NO_PROXY", "no_proxy"]).map(|(_, v)| v.to_string());
    match no_proxy.as_deref().and_then(|n| no_proxy_match(n, host)) {
        Some(entry) => ProxyUse::Bypassed { proxy, entry },
        None => ProxyUse::Via { proxy, no_proxy },
    }
}

/// A proxy URL split up, its userinfo dropped. A URL without a scheme is taken as `http://`.
pub fn parse_proxy(var: &str, raw: &str) -> ProxySetting {
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), raw),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (has_credentials, hostport) = match authority.rfind('@') {
        Some(i) => (true, &authority[i + 1..]),
        None => (false, authority),
    };
    let (host, port) = split_host_port(hostport);
    let port = port.or(match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        "socks5" | "socks5h" => Some(1080),
        _ => None,
    });
    let path = if path == "/" { "" } else { path };
    ProxySetting {
        var: var.to_string(),
        url: format!("{scheme}://{hostport}{path}"),
        host: (!host.is_empty()).then(|| host.to_string()),
        port,
        has_credentials,
    }
}

/// `host:port`, `[v6]:port`, `host`, `[v6]`.
fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').unwrap_or((rest, ""));
        return (h, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (s, None),
    }
}

/// The `NO_PROXY` entry that excludes `host` (a name or an IP, without port or brackets).
pub fn no_proxy_match(no_proxy: &str, host: &str) -> Option<String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host_ip: Option<IpAddr> = host.parse().ok();
    let host_l = host.to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .find(|entry| {
            if *entry == "*" {
                return true;
            }
            if let Some(ip) = host_ip {
                return ip_matches(entry, ip);
            }
            let domain = entry.trim_start_matches('.').to_ascii_lowercase();
            !domain.is_empty() && (host_l == domain || host_l.ends_with(&format!(".{domain}")))
        })
        .map(str::to_string)
}

/// `10.0.0.1` or `10.0.0.0/8` (IPv6 alike) against an address.
fn ip_matches(entry: &str, ip: IpAddr) -> bool {
    let (addr, bits) = match entry.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (entry, None),
    };
    let Ok(net) = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(h)) => prefix_eq(
            u128::from(n.to_bits()) << 96,
            u128::from(h.to_bits()) << 96,
            bits.unwrap_or(32).min(32),
        ),
        (IpAddr::V6(n), IpAddr::V6(h)) => {
            prefix_eq(n.to_bits(), h.to_bits(), bits.unwrap_or(128).min(128))
        }
        _ => false,
    }
}

fn prefix_eq(a: u128, b: u128, bits: u32) -> bool {
    if bits == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - bits);
    a & mask == b & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classifies_v4_v6_and_mapped_addresses() {
        for (addr, want) in [
            ("10.1.2.3", AddrClass::Private),
            ("172.16.0.4", AddrClass::Private),
            ("172.31.255.254", AddrClass::Private),
            ("192.168.10.5", AddrClass::Private),
            ("172.32.0.1", AddrClass::Public),
            ("100.64.0.1", AddrClass::Cgnat),
            ("100.127.255.254", AddrClass::Cgnat),
            ("100.128.0.1", AddrClass::Public),
            ("169.254.169.254", AddrClass::LinkLocal),
            ("127.0.0.1", AddrClass::Loopback),
            ("127.8.9.10", AddrClass::Loopback),
            ("20.50.73.4", AddrClass::Public),
            ("0.0.0.0", AddrClass::Reserved),
            ("224.0.0.1", AddrClass::Reserved),
            ("192.0.2.10", AddrClass::Reserved),
            ("198.18.0.1", AddrClass::Reserved),
            ("::1", AddrClass::Loopback),
            ("fd12:3456:789a::1", AddrClass::Private),
            ("fc00::1", AddrClass::Private),
            ("fe80::1", AddrClass::LinkLocal),
            ("febf::1", AddrClass::LinkLocal),
            ("fec0::1", AddrClass::Public),
            ("2603:1030:20e:3::23c", AddrClass::Public),
            ("2001:db8::1", AddrClass::Reserved),
            ("::", AddrClass::Reserved),
            ("ff02::1", AddrClass::Reserved),
            ("::ffff:10.0.0.4", AddrClass::Private),
            ("::ffff:100.100.1.1", AddrClass::Cgnat),
            ("::ffff:127.0.0.1", AddrClass::Loopback),
            ("::ffff:52.1.2.3", AddrClass::Public),
        ] {
            assert_eq!(classify(ip(addr)), want, "{addr}");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn no_proxy_variable_means_direct() {
        assert_eq!(
            proxy_for(&env(&[]), "https", "x.openai.azure.com"),
            ProxyUse::None
        );
        // An http proxy does not apply to https.
        assert_eq!(
            proxy_for(&env(&[("HTTP_PROXY", "http://p:3128")]), "https", "x"),
            ProxyUse::None
        );
        assert_eq!(
            proxy_for(&env(&[("HTTPS_PROXY", "  ")]), "https", "x"),
            ProxyUse::None
        );
    }

    #[test]
    fn the_proxy_is_shown_without_credentials() {
        let e = env(&[("https_proxy", "http://alice:s3cret@proxy.corp:3128/")]);
        let ProxyUse::Via { proxy, no_proxy } = proxy_for(&e, "https", "x.openai.azure.com") else {
            panic!()
        };
        assert_eq!(proxy.url, "http://proxy.corp:3128");
        assert_eq!(proxy.var, "https_proxy");
        assert!(proxy.has_credentials);
        assert_eq!(
            (proxy.host.as_deref(), proxy.port),
            (Some("proxy.corp"), Some(3128))
        );
        assert_eq!(no_proxy, None);
        assert!(!format!("{proxy:?}").contains("s3cret"));
    }

    #[test]
    fn uppercase_wins_and_all_proxy_is_the_fallback() {
        let e = env(&[
            ("https_proxy", "http://lower:1"),
            ("HTTPS_PROXY", "http://upper:2"),
        ]);
        let ProxyUse::Via { proxy, .. } = proxy_for(&e, "https", "h") else {
            panic!()
        };
        assert_eq!(proxy.var, "HTTPS_PROXY");
        let e = env(&[("ALL_PROXY", "proxy.corp")]);
        let ProxyUse::Via { proxy, .. } = proxy_for(&e, "http", "h") else {
            panic!()
        };
        assert_eq!(
            (proxy.url.as_str(), proxy.port),
            ("http://proxy.corp", Some(80))
        );
    }

    #[test]
    fn no_proxy_rules() {
        let cases: [(&str, &str, Option<&str>); 11] = [
            ("*", "anything.example", Some("*")),
            (
                "openai.azure.com",
                "res.openai.azure.com",
                Some("openai.azure.com"),
            ),
            (
                ".openai.azure.com",
                "res.openai.azure.com",
                Some(".openai.azure.com"),
            ),
            (
                "openai.azure.com",
                "openai.azure.com",
                Some("openai.azure.com"),
            ),
            ("azure.com", "notazure.com", None),
            ("localhost, 127.0.0.1", "127.0.0.1", Some("127.0.0.1")),
            ("10.0.0.0/8", "10.20.30.40", Some("10.0.0.0/8")),
            ("10.0.0.0/8", "11.0.0.1", None),
            ("fd00::/8", "[fd12::1]", Some("fd00::/8")),
            ("fd00::/8", "10.0.0.1", None),
            ("", "h", None),
        ];
        for (list, host, want) in cases {
            assert_eq!(
                no_proxy_match(list, host).as_deref(),
                want,
                "{list} / {host}"
            );
        }
    }

    #[test]
    fn no_proxy_excludes_the_host() {
        let e = env(&[
            ("HTTPS_PROXY", "http://u:p@proxy:8080"),
            ("no_proxy", "localhost,.privatelink.openai.azure.com"),
        ]);
        assert!(matches!(
            proxy_for(&e, "https", "res.privatelink.openai.azure.com"),
            ProxyUse::Bypassed { entry, .. } if entry == ".privatelink.openai.azure.com"
        ));
        assert!(matches!(
            proxy_for(&e, "https", "res.openai.azure.com"),
            ProxyUse::Via {
                no_proxy: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn proxy_urls_in_odd_shapes() {
        let p = parse_proxy("HTTPS_PROXY", "https://[fd00::5]:8443");
        assert_eq!((p.host.as_deref(), p.port), (Some("fd00::5"), Some(8443)));
        let p = parse_proxy("ALL_PROXY", "socks5h://user@gw");
        assert_eq!(p.url, "socks5h://gw");
        assert!(p.has_credentials);
    }
}
