//! Rate-limit headers (`x-ratelimit-*`, `retry-after`, `retry-after-ms`) parsed into a typed
//! struct, and 429 classification (tokens vs requests) from the error body.
//! Header names and precedence: azure-wire.md §3 and §8 (openai-python reads `retry-after-ms`
//! first, then `retry-after` as float seconds).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimit {
    pub remaining_requests: Option<u64>,
    pub remaining_tokens: Option<u64>,
    pub limit_requests: Option<u64>,
    pub limit_tokens: Option<u64>,
    /// Seconds until the token window resets (`x-ratelimit-reset-tokens`, or the 2023
    /// spelling `x-rate-limit-reset-tokens`).
    pub reset_tokens_s: Option<f64>,
    /// Seconds until the request window resets (`x-ratelimit-reset-requests`, 2026+).
    #[serde(default)]
    pub reset_requests_s: Option<f64>,
    /// Length of the request / token windows, seconds (`x-ratelimit-renewalperiod-*`, `60`
    /// in every 2026 recording: tests/fixtures/conformance/05, 11).
    #[serde(default)]
    pub renewal_period_requests_s: Option<f64>,
    #[serde(default)]
    pub renewal_period_tokens_s: Option<f64>,
    /// `x-ms-is-spilled-over: true`: a provisioned deployment passed the call on to its
    /// spillover deployment.
    #[serde(default)]
    pub spilled_over: bool,
    /// `retry-after-ms`, else `retry-after` × 1000.
    pub retry_after_ms: Option<u64>,
    /// PTU utilisation percentage (`azure-openai-deployment-utilization`), when sent.
    pub utilization_pct: Option<f64>,
    /// An API Management gateway's token-limit policy: tokens left in its window for this
    /// consumer (the policy's `remaining-tokens-header-name`), beside Azure's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_remaining_tokens: Option<u64>,
    /// Tokens the gateway counted for this call (`tokens-consumed-header-name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_consumed_tokens: Option<u64>,
}

/// The header names an API Management `azure-openai-token-limit` / `llm-token-limit` policy
/// sends its counters in. The policy has no default names (its `remaining-tokens-header-name`
/// and `tokens-consumed-header-name` attributes), so a profile names them:
/// `gateway = { remaining_tokens_header = "…", consumed_tokens_header = "…" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayHeaders {
    #[serde(default)]
    pub remaining_tokens_header: Option<String>,
    #[serde(default)]
    pub consumed_tokens_header: Option<String>,
}

impl GatewayHeaders {
    pub fn is_empty(&self) -> bool {
        self.remaining_tokens_header.is_none() && self.consumed_tokens_header.is_none()
    }

    /// Reads the gateway's counters into `r` from (name, value) pairs.
    pub fn read<'a>(
        &self,
        r: &mut RateLimit,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        if self.is_empty() {
            return;
        }
        let is = |want: &Option<String>, name: &str| {
            want.as_deref()
                .is_some_and(|w| w.eq_ignore_ascii_case(name))
        };
        for (name, value) in headers {
            if is(&self.remaining_tokens_header, name) {
                r.gateway_remaining_tokens = parse_count(value);
            } else if is(&self.consumed_tokens_header, name) {
                r.gateway_consumed_tokens = parse_count(value);
            }
        }
    }
}

/// Parses a non-negative integer header value; `-1` (the Responses API's "unknown") and junk
/// read as absent.
fn parse_count(v: &str) -> Option<u64> {
    v.trim().parse::<u64>().ok()
}

fn parse_seconds(v: &str) -> Option<f64> {
    let s = v.trim().trim_end_matches('s').parse::<f64>().ok()?;
    (s.is_finite() && s >= 0.0).then_some(s)
}

/// A reset time in seconds. Azure sends a bare number of seconds (azure-wire.md §3: `55`;
/// recordings 05 and 11: `500`/`7`, `0`/`0`); OpenAI-compatible servers send durations such
/// as `1s`, `250ms` or `6m0s`. Negative (`-1`, unknown) and junk read as absent.
fn parse_reset(v: &str) -> Option<f64> {
    let v = v.trim();
    if let Ok(s) = v.parse::<f64>() {
        return (s.is_finite() && s >= 0.0).then_some(s);
    }
    // A duration: number+unit pairs (`h`, `m`, `s`, `ms`), e.g. `1m30.5s`.
    let mut total = 0.0;
    let mut rest = v;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&n| n > 0)?;
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else {
            return None;
        };
        total += value * unit;
        rest = &rest[len..];
    }
    total.is_finite().then_some(total)
}

fn parse_bool(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true")
}

impl RateLimit {
    /// Reads the headers from (name, value) pairs; names are compared case-insensitively.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut r = RateLimit::default();
        let mut retry_after_s: Option<f64> = None;
        let mut retry_after_ms: Option<u64> = None;
        for (name, value) in headers {
            match name.to_ascii_lowercase().as_str() {
                "x-ratelimit-remaining-requests" => r.remaining_requests = parse_count(value),
                "x-ratelimit-remaining-tokens" => r.remaining_tokens = parse_count(value),
                "x-ratelimit-limit-requests" => r.limit_requests = parse_count(value),
                "x-ratelimit-limit-tokens" => r.limit_tokens = parse_count(value),
                "x-ratelimit-reset-tokens" | "x-rate-limit-reset-tokens" => {
                    r.reset_tokens_s = parse_reset(value)
                }
                "x-ratelimit-reset-requests" => r.reset_requests_s = parse_reset(value),
                "x-ratelimit-renewalperiod-requests" => {
                    r.renewal_period_requests_s = parse_reset(value)
                }
                "x-ratelimit-renewalperiod-tokens" => {
                    r.renewal_period_tokens_s = parse_reset(value)
                }
                "x-ms-is-spilled-over" => r.spilled_over = parse_bool(value),
                "retry-after-ms" | "x-ms-retry-after-ms" => {
                    retry_after_ms =
                        retry_after_ms.or(parse_seconds(value).map(|ms| ms.round() as u64))
                }
                "retry-after" => retry_after_s = parse_seconds(value),
                "azure-openai-deployment-utilization" => {
                    r.utilization_pct = parse_seconds(value.trim_end_matches('%'))
                }
                _ => {}
            }
        }
        r.retry_after_ms = retry_after_ms.or(retry_after_s.map(|s| (s * 1000.0).round() as u64));
        r
    }

    /// Fraction of the request budget left, when both figures are known.
    pub fn requests_left_ratio(&self) -> Option<f64> {
        ratio(self.remaining_requests?, self.limit_requests?)
    }

    pub fn tokens_left_ratio(&self) -> Option<f64> {
        ratio(self.remaining_tokens?, self.limit_tokens?)
    }
}

fn ratio(remaining: u64, limit: u64) -> Option<f64> {
    (limit > 0).then(|| (remaining as f64 / limit as f64).clamp(0.0, 1.0))
}

/// Which limit a 429 hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleKind {
    /// "exceeded token rate limit"
    Tokens,
    /// "exceeded call rate limit"
    Requests,
    /// Provisioned deployment over 100 % utilisation.
    Utilization,
    /// An API Management gateway's token limit (`azure-openai-token-limit` /
    /// `llm-token-limit` policy), not Azure OpenAI's.
    GatewayTokens,
    /// An API Management gateway's rate limit (`rate-limit` / `rate-limit-by-key`):
    /// `{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 57 seconds."}`
    /// (as Microsoft's Partner Center API documents its APIM front's 429).
    GatewayRequests,
    Unknown,
}

/// Classifies a 429 from its error message (azure-wire.md §4.3 wordings).
pub fn classify_429(message: &str) -> ThrottleKind {
    let m = message.to_ascii_lowercase();
    // API Management's own 429s (its policies, before Azure OpenAI is called): "Rate limit
    // is exceeded. Try again in N seconds." and the token-limit policies' "Token limit is
    // exceeded…" wording. Azure's say "exceeded token rate limit" / "exceeded call rate limit".
    if m.contains("token limit is exceeded") || m.contains("token limit exceeded") {
        ThrottleKind::GatewayTokens
    } else if m.contains("rate limit is exceeded") {
        ThrottleKind::GatewayRequests
    } else if m.contains("token rate limit") {
        ThrottleKind::Tokens
    } else if m.contains("call rate limit") || m.contains("request rate limit") {
        ThrottleKind::Requests
    } else if m.contains("utilization") || m.contains("provisioned") {
        ThrottleKind::Utilization
    } else {
        ThrottleKind::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_azure_headers() {
        let r = RateLimit::from_headers([
            ("x-ratelimit-remaining-requests", "9"),
            ("X-RateLimit-Remaining-Tokens", "9154"),
            ("x-ratelimit-limit-requests", "100"),
            ("x-ratelimit-limit-tokens", "-1"),
            ("retry-after", "7"),
            ("retry-after-ms", "6543"),
            ("x-rate-limit-reset-tokens", "55"),
        ]);
        assert_eq!(r.remaining_requests, Some(9));
        assert_eq!(r.remaining_tokens, Some(9154));
        assert_eq!(r.limit_requests, Some(100));
        assert_eq!(r.limit_tokens, None, "-1 means unknown");
        assert_eq!(r.retry_after_ms, Some(6543), "retry-after-ms wins");
        assert_eq!(r.reset_tokens_s, Some(55.0));
        assert_eq!(r.requests_left_ratio(), Some(0.09));
    }

    #[test]
    fn parses_2026_headers_as_recorded() {
        // tests/fixtures/conformance/05-stream-2026-gpt41-mini.json, as recorded (mixed case).
        let r = RateLimit::from_headers([
            ("x-ms-is-spilled-over", "false"),
            ("x-ratelimit-limit-requests", "120"),
            ("x-ratelimit-limit-tokens", "120000"),
            ("x-ratelimit-remaining-requests", "119"),
            ("x-ratelimit-remaining-tokens", "119986"),
            ("X-RateLimit-RenewalPeriod-Requests", "60"),
            ("x-ratelimit-renewalperiod-tokens", "60"),
            ("x-ratelimit-reset-requests", "500"),
            ("x-ratelimit-reset-tokens", "7"),
        ]);
        assert_eq!(
            r,
            RateLimit {
                remaining_requests: Some(119),
                remaining_tokens: Some(119_986),
                limit_requests: Some(120),
                limit_tokens: Some(120_000),
                reset_tokens_s: Some(7.0),
                reset_requests_s: Some(500.0),
                renewal_period_requests_s: Some(60.0),
                renewal_period_tokens_s: Some(60.0),
                spilled_over: false,
                ..RateLimit::default()
            }
        );
        let r = RateLimit::from_headers([("X-Ms-Is-Spilled-Over", "True")]);
        assert!(r.spilled_over);
    }

    #[test]
    fn minus_one_is_unknown_never_zero_or_negative() {
        let r = RateLimit::from_headers([
            ("x-ratelimit-remaining-tokens", "-1"),
            ("x-ratelimit-limit-tokens", "-1"),
            ("x-ratelimit-reset-tokens", "-1"),
        ]);
        assert_eq!(r.remaining_tokens, None);
        assert_eq!(r.limit_tokens, None);
        assert_eq!(r.reset_tokens_s, None);
        assert_eq!(r.tokens_left_ratio(), None);
    }

    #[test]
    fn reset_durations() {
        for (v, want) in [
            ("0", Some(0.0)),
            ("7", Some(7.0)),
            ("1s", Some(1.0)),
            ("1.5s", Some(1.5)),
            ("250ms", Some(0.25)),
            ("6m0s", Some(360.0)),
            ("1h2m3s", Some(3723.0)),
            ("", None),
            ("soon", None),
            ("5x", None),
            ("-1", None),
        ] {
            assert_eq!(parse_reset(v), want, "{v:?}");
        }
    }

    #[test]
    fn retry_after_seconds_fallback_and_junk() {
        let r = RateLimit::from_headers([("retry-after", "1.5")]);
        assert_eq!(r.retry_after_ms, Some(1500));
        let r = RateLimit::from_headers([("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(r.retry_after_ms, None);
        let r = RateLimit::from_headers([("retry-after", "-3")]);
        assert_eq!(r.retry_after_ms, None);
    }

    #[test]
    fn classifies_both_wordings() {
        assert_eq!(
            classify_429(
                "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier."
            ),
            ThrottleKind::Tokens
        );
        assert_eq!(
            classify_429(
                "Your requests to gpt-4.1 for gpt-4.1 in East US have exceeded the call rate limit for your current OpenAI S0 pricing tier."
            ),
            ThrottleKind::Requests
        );
        assert_eq!(classify_429("slow down"), ThrottleKind::Unknown);
        assert_eq!(
            classify_429("Rate limit is exceeded. Try again in 57 seconds."),
            ThrottleKind::GatewayRequests
        );
        assert_eq!(
            classify_429("Token limit is exceeded. Try again in 5 seconds."),
            ThrottleKind::GatewayTokens
        );
    }

    #[test]
    fn reads_the_gateway_counters_the_profile_names() {
        let g = GatewayHeaders {
            remaining_tokens_header: Some("x-apim-remaining-tokens".into()),
            consumed_tokens_header: Some("X-APIM-Consumed-Tokens".into()),
        };
        let headers = [
            ("x-ratelimit-remaining-tokens", "449000"),
            ("X-Apim-Remaining-Tokens", "9500"),
            ("x-apim-consumed-tokens", "500"),
        ];
        let mut r = RateLimit::from_headers(headers);
        g.read(&mut r, headers);
        assert_eq!(r.remaining_tokens, Some(449000), "Azure's own stay");
        assert_eq!(r.gateway_remaining_tokens, Some(9500));
        assert_eq!(r.gateway_consumed_tokens, Some(500));
        let mut r = RateLimit::default();
        GatewayHeaders::default().read(&mut r, headers);
        assert_eq!(r.gateway_remaining_tokens, None);
    }
}
