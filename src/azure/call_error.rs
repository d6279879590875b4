//! How a call's failures are put into words: transport errors by their root cause, non-2xx
//! answers with the service's code and message (or a line for an HTML page), and the short
//! excerpts of bad input that error messages quote.

use crate::domain::call::{CallError, ErrorKind};
use crate::domain::ratelimit::{ThrottleKind, classify_429};
use crate::wire::ErrorInfo;

pub(super) fn transport_error(e: &reqwest::Error, phase: &str) -> CallError {
    if e.is_timeout() {
        CallError::new(ErrorKind::Timeout, format!("timed out {phase}"))
    } else if e.is_connect() {
        CallError::new(
            ErrorKind::Connect,
            format!("could not connect: {}", transport_cause(e)),
        )
    } else {
        CallError::new(
            ErrorKind::Connect,
            format!("connection failed {phase}: {}", transport_cause(e)),
        )
    }
}

/// A transport failure's root cause in words, with advice when it is the server's
/// certificate (the usual case behind a TLS-inspecting corporate proxy).
pub(super) fn transport_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let bundle = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty());
    explain_tls(
        &root_cause(e),
        bundle.as_deref().map(|p| p.to_string_lossy()).as_deref(),
    )
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// rustls names a chain to no trusted root `invalid peer certificate: UnknownIssuer`
/// (`BadSignature` when a trusted root has the issuer's name but not its key, as two CAs both
/// called "Corp Root" do); that reads as advice here. Other certificate faults (wrong name,
/// expired) keep rustls's own words, which say what is wrong.
/// `bundle`: `SSL_CERT_FILE`, if set.
fn explain_tls(cause: &str, bundle: Option<&str>) -> String {
    if cause.contains("UnknownIssuer") || cause.contains("BadSignature") {
        match bundle {
            None => format!(
                "the server's TLS certificate is not trusted ({cause}); behind a TLS-inspecting proxy, set SSL_CERT_FILE to a PEM bundle with its CA (it replaces the system roots: include them too)"
            ),
            Some(path) => format!(
                "the server's TLS certificate is not trusted ({cause}); SSL_CERT_FILE ({path}) holds no CA that signed it: add the TLS-inspecting proxy's CA to that bundle"
            ),
        }
    } else if cause.starts_with("invalid peer certificate") {
        format!("the server's TLS certificate was refused ({cause})")
    } else {
        cause.to_string()
    }
}

/// A short, printable excerpt of bad input for an error message.
pub(super) fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if s.chars().count() > 120 {
        out.push('…');
    }
    out
}

pub(super) fn cancelled_error() -> CallError {
    CallError::new(ErrorKind::Cancelled, "cancelled")
}

/// Turns a non-2xx answer into a [`CallError`] with the service's code and message.
pub(super) fn http_error(status: u16, body: &[u8]) -> CallError {
    let (kind, throttle) = if status == 429 {
        (ErrorKind::Throttled, None)
    } else {
        (ErrorKind::Http, None::<ThrottleKind>)
    };
    match ErrorInfo::parse(body) {
        Some(info) => {
            let throttle = if status == 429 {
                Some(classify_429(&info.message))
            } else {
                throttle
            };
            CallError {
                kind,
                message: info.message,
                status: Some(status),
                code: info.code,
                throttle,
            }
        }
        None => {
            let text = String::from_utf8_lossy(body);
            let shown = if text.trim_start().starts_with('<') {
                format!("non-JSON body (HTML, {} bytes)", body.len())
            } else if text.trim().is_empty() {
                "empty body".to_string()
            } else {
                excerpt(text.trim())
            };
            let reason = http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("");
            CallError {
                kind,
                message: format!("{reason}: {shown}"),
                status: Some(status),
                code: None,
                throttle: (status == 429).then_some(ThrottleKind::Unknown),
            }
        }
    }
}

/// Says in plain words that the deployment does not exist. Azure answers a missing
/// deployment in two ways (tests/fixtures/conformance/19 and 18): 404 `DeploymentNotFound` on
/// `/openai/deployments/{name}`, 400 `unknown_model` ("Unknown model: X") on `/openai/v1`.
/// The service's own message follows in parentheses.
pub(super) fn explain_missing_deployment(err: &mut CallError, deployment: &str) {
    let missing = matches!(
        (err.status, err.code.as_deref()),
        (Some(404), Some("DeploymentNotFound"))
            | (Some(400 | 404), Some("unknown_model" | "model_not_found"))
    );
    if missing {
        err.message = format!(
            "no deployment named `{deployment}` on this resource ({})",
            err.message
        );
    }
}

/// Says what a 400 `OperationNotSupported` means: the deployment's model does not do this
/// operation (a chat call to an embeddings deployment, an embeddings call to a chat one).
pub(super) fn explain_unsupported_operation(err: &mut CallError, deployment: &str, op: &str) {
    if err.status == Some(400) && err.code.as_deref() == Some("OperationNotSupported") {
        let hint = if op == "chat" {
            format!("; for an embeddings model try `aoai embed -d {deployment} TEXT`")
        } else {
            String::new()
        };
        err.message = format!(
            "deployment `{deployment}` cannot {op}: its model does not support it{hint} ({})",
            err.message
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untrusted_certificate_names_ssl_cert_file() {
        let e = explain_tls("invalid peer certificate: UnknownIssuer", None);
        assert_eq!(
            e,
            "the server's TLS certificate is not trusted (invalid peer certificate: UnknownIssuer); behind a TLS-inspecting proxy, set SSL_CERT_FILE to a PEM bundle with its CA (it replaces the system roots: include them too)"
        );
        assert_eq!(
            explain_tls(
                "invalid peer certificate: BadSignature",
                Some("/etc/corp.pem")
            ),
            "the server's TLS certificate is not trusted (invalid peer certificate: BadSignature); SSL_CERT_FILE (/etc/corp.pem) holds no CA that signed it: add the TLS-inspecting proxy's CA to that bundle"
        );
        assert_eq!(
            explain_tls(
                "invalid peer certificate: certificate expired: verification time 2",
                None
            ),
            "the server's TLS certificate was refused (invalid peer certificate: certificate expired: verification time 2)"
        );
        assert_eq!(
            explain_tls("Connection refused (os error 111)", None),
            "Connection refused (os error 111)"
        );
    }

    #[test]
    fn an_unsupported_operation_is_explained() {
        let body = br#"{"error":{"code":"OperationNotSupported","message":"The chatCompletion operation does not work with the specified model, text-embedding-3-small."}}"#;
        let mut err = http_error(400, body);
        explain_unsupported_operation(&mut err, "emb", "chat");
        assert!(
            err.message
                .starts_with("deployment `emb` cannot chat: its model does not support it; for an embeddings model try `aoai embed -d emb TEXT` (The chatCompletion"),
            "{}",
            err.message
        );
        let mut other = http_error(400, br#"{"error":{"code":"other","message":"m"}}"#);
        explain_unsupported_operation(&mut other, "emb", "chat");
        assert_eq!(other.message, "m");
    }

    #[test]
    fn http_errors_are_readable() {
        let e = http_error(502, b"<html><body>Bad gateway</body></html>");
        assert_eq!(
            e.to_string(),
            "502: Bad Gateway: non-JSON body (HTML, 37 bytes)"
        );
        let e = http_error(404, br#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#);
        assert_eq!(e.code.as_deref(), Some("DeploymentNotFound"));
        assert_eq!(e.kind, ErrorKind::Http);
        let e = http_error(429, br#"{"error":{"code":"429","message":"... have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after 5 seconds."}}"#);
        assert_eq!(e.kind, ErrorKind::Throttled);
        assert_eq!(e.throttle, Some(ThrottleKind::Requests));
    }

    #[test]
    fn a_missing_deployment_is_named_on_both_paths() {
        // The bodies as recorded: tests/fixtures/conformance/19 (classic, pretty-printed)
        // and 18 (v1).
        let mut e = http_error(
            404,
            b"{\n  \"error\": {\n    \"type\": \"invalid_request_error\",\n    \"code\": \"DeploymentNotFound\",\n    \"message\": \"The API deployment for this resource does not exist.\"\n  }\n}",
        );
        explain_missing_deployment(&mut e, "gpt-5-nano");
        assert_eq!(
            e.to_string(),
            "404 DeploymentNotFound: no deployment named `gpt-5-nano` on this resource (The API deployment for this resource does not exist.)"
        );
        let mut e = http_error(
            400,
            br#"{"error":{"code":"unknown_model","message":"Unknown model: nope","details":"Unknown model: nope"}}"#,
        );
        explain_missing_deployment(&mut e, "nope");
        assert_eq!(
            e.message,
            "no deployment named `nope` on this resource (Unknown model: nope)"
        );
        let mut e = http_error(
            400,
            br#"{"error":{"code":"unsupported_parameter","message":"x"}}"#,
        );
        explain_missing_deployment(&mut e, "d");
        assert_eq!(e.message, "x");
    }
}
