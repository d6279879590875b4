//! How our HTTP clients reach a base URL. Through the proxy the environment names, as reqwest
//! reads it (`HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY`, upper or lower case),
//! with the server certificate checked against the system roots (`SSL_CERT_FILE` /
//! `SSL_CERT_DIR` replace them). One exception: plain http on loopback (the embedded
//! simulator, `aoai proxy`) is always direct, since a corporate `HTTP_PROXY` cannot reach this
//! machine's loopback and `NO_PROXY` often does not list it. https on loopback follows the
//! environment like any other host.

/// A client builder for `base` (a URL; anything unparsable follows the environment).
pub fn client_builder(base: &str) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match url::Url::parse(base) {
        Ok(u) if always_direct(&u) => builder.no_proxy(),
        _ => builder,
    }
}

/// Plain http to a loopback host.
pub fn always_direct(url: &url::Url) -> bool {
    url.scheme() == "http" && is_loopback(url)
}

/// `localhost`, 127.0.0.0/8 or ::1.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_on_loopback_skips_the_proxy() {
        let direct = |s: &str| always_direct(&url::Url::parse(s).unwrap());
        assert!(direct("http://127.0.0.1:8080"));
        assert!(direct("http://127.3.2.1/"));
        assert!(direct("http://localhost:1"));
        assert!(direct("http://[::1]:9/"));
        assert!(!direct("https://localhost:8443"));
        assert!(!direct("https://127.0.0.1:8443"));
        assert!(!direct("http://10.0.0.4:80"));
        assert!(!direct("https://contoso.openai.azure.com"));
    }
}
