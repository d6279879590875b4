//! Fault kinds, chosen per request by the `x-sim-fault` header or by seeded per-deployment
//! probabilities. Each kind is documented in `docs/simulator.md`.

use std::str::FromStr;
use std::time::Duration;

use http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 429 with retry-after / retry-after-ms and a token-rate-limit body.
    RateLimit,
    /// 500 InternalServerError JSON body.
    Internal,
    /// 503 ServiceUnavailable JSON body.
    Unavailable,
    /// 502 with an HTML body (gateway error page).
    Html502,
    /// Stream closes after a few deltas: no finish chunk, no `[DONE]`.
    Truncate,
    /// Finish (+usage) chunks but no `[DONE]`.
    NoDone,
    /// A mid-stream `data: {"error":{…}}` event, then the stream ends.
    ErrorEvent,
    /// A mid-stream data line with broken JSON; the stream then continues.
    Malformed,
    /// CRLF line endings throughout.
    Crlf,
    /// `: keep-alive` comment lines interleaved and `data:` without the space.
    Comments,
    /// One ~1 MiB content delta.
    BigDelta,
    /// Invalid UTF-8 bytes inside one data line.
    InvalidUtf8,
    /// The connection is aborted mid-stream (the body yields an error).
    Reset,
    /// After the role chunk, nothing for `x-sim-stall-ms` (default 30 s), then the rest.
    Stall,
    /// Response headers are delayed by `x-sim-stall-ms`.
    SlowHeaders,
}

pub const ALL: [FaultKind; 15] = [
    FaultKind::RateLimit,
    FaultKind::Internal,
    FaultKind::Unavailable,
    FaultKind::Html502,
    FaultKind::Truncate,
    FaultKind::NoDone,
    FaultKind::ErrorEvent,
    FaultKind::Malformed,
    FaultKind::Crlf,
    FaultKind::Comments,
    FaultKind::BigDelta,
    FaultKind::InvalidUtf8,
    FaultKind::Reset,
    FaultKind::Stall,
    FaultKind::SlowHeaders,
];

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimit => "429",
            Self::Internal => "500",
            Self::Unavailable => "503",
            Self::Html502 => "html-502",
            Self::Truncate => "truncate",
            Self::NoDone => "no-done",
            Self::ErrorEvent => "error-event",
            Self::Malformed => "malformed",
            Self::Crlf => "crlf",
            Self::Comments => "comments",
            Self::BigDelta => "big-delta",
            Self::InvalidUtf8 => "invalid-utf8",
            Self::Reset => "reset",
            Self::Stall => "stall",
            Self::SlowHeaders => "slow-headers",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault kind `{0}`")]
pub struct UnknownFault(pub String);

impl FromStr for FaultKind {
    type Err = UnknownFault;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.iter()
            .copied()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

pub const FAULT_HEADER: &str = "x-sim-fault";
pub const STALL_HEADER: &str = "x-sim-stall-ms";
pub const DEFAULT_STALL: Duration = Duration::from_millis(30_000);

/// The fault requested by header, if any.
pub fn from_headers(headers: &HeaderMap) -> Result<Option<FaultKind>, UnknownFault> {
    match headers.get(FAULT_HEADER).and_then(|v| v.to_str().ok()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some),
    }
}

pub fn stall_duration(headers: &HeaderMap) -> Duration {
    headers
        .get(STALL_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_STALL, Duration::from_millis)
}

/// Picks a fault from per-deployment probabilities given a uniform draw in [0, 1).
pub fn pick(probabilities: &[(FaultKind, f64)], draw: f64) -> Option<FaultKind> {
    let mut acc = 0.0;
    for (kind, p) in probabilities {
        acc += p;
        if draw < acc {
            return Some(*kind);
        }
    }
    None
}

/// The 500 / 503 / 502 bodies.
pub const BODY_500: &str = r#"{"error":{"code":"InternalServerError","message":"The server had an error while processing your request. Sorry about that!"}}"#;
pub const BODY_503: &str = r#"{"error":{"code":"ServiceUnavailable","message":"The service is temporarily unable to process your request. Please try again later."}}"#;
pub const BODY_HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\r\n</body>\r\n</html>\r\n";
/// The mid-stream error event's JSON.
pub const ERROR_EVENT: &str = r#"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":"server_error"}}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        for k in ALL {
            assert_eq!(k.as_str().parse::<FaultKind>(), Ok(k));
        }
        assert!("nope".parse::<FaultKind>().is_err());
    }

    #[test]
    fn picks_by_cumulative_probability() {
        let p = [(FaultKind::RateLimit, 0.1), (FaultKind::Internal, 0.2)];
        assert_eq!(pick(&p, 0.05), Some(FaultKind::RateLimit));
        assert_eq!(pick(&p, 0.25), Some(FaultKind::Internal));
        assert_eq!(pick(&p, 0.5), None);
    }
}
