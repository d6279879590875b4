//! The record of one call: its attempts, timings, usage, rate-limit headers, cost and error,
//! and the events a running call reports to whoever watches it (console or headless).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ratelimit::{RateLimit, ThrottleKind};
use super::retry::RetryPolicy;
use super::stream::AsyncFilter;
use super::usage::Usage;
use crate::wire::ChatRequest;

/// Which URL shape a call used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ApiPath {
    /// `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…`
    #[default]
    Classic,
    /// `{endpoint}/openai/v1/chat/completions`, deployment in the body's `model`.
    V1,
    /// An OpenAI-compatible base URL taken verbatim: `{base}/chat/completions`.
    Openai,
    /// Azure AI Foundry model inference: `{resource}.services.ai.azure.com/models/chat/completions
    /// ?api-version=…` (serverless `{name}.{region}.models.ai.azure.com/chat/completions`),
    /// deployment in the body's `model`.
    Foundry,
}

impl ApiPath {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiPath::Classic => "classic",
            ApiPath::V1 => "v1",
            ApiPath::Openai => "openai",
            ApiPath::Foundry => "foundry",
        }
    }
}

impl std::str::FromStr for ApiPath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "classic" => Ok(ApiPath::Classic),
            "v1" => Ok(ApiPath::V1),
            "openai" => Ok(ApiPath::Openai),
            "foundry" => Ok(ApiPath::Foundry),
            other => Err(format!(
                "API path `{other}` is not one of: classic, v1, openai, foundry"
            )),
        }
    }
}

/// Which wire API a call speaks: Chat Completions or the Responses API (`--wire-api`, the
/// name codex uses for the same choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WireApi {
    #[default]
    Chat,
    Responses,
}

impl WireApi {
    pub fn as_str(self) -> &'static str {
        match self {
            WireApi::Chat => "chat",
            WireApi::Responses => "responses",
        }
    }
}

impl std::str::FromStr for WireApi {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "chat" => Ok(WireApi::Chat),
            "responses" => Ok(WireApi::Responses),
            other => Err(format!("wire API `{other}` is not one of: chat, responses")),
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Done,
    Failed,
    Throttled,
    Cancelled,
}

/// What went wrong, in a form a person can act on. Formatted at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A non-2xx answer (other than 429) with the service's error code/message.
    Http,
    /// 429 after the retry policy was exhausted.
    Throttled,
    /// Could not connect, or the connection broke mid-stream.
    Connect,
    Timeout,
    /// An SSE event that is not valid JSON or not valid UTF-8.
    MalformedSse,
    /// The stream closed before any `finish_reason`.
    Truncated,
    /// An `{"error":…}` event inside a 200 stream.
    StreamError,
    Cancelled,
    /// The response body was not the JSON the API promises (non-stream).
    BadBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallError {
    pub kind: ErrorKind,
    pub message: String,
    pub status: Option<u16>,
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub throttle: Option<ThrottleKind>,
}

impl CallError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            status: None,
            code: None,
            throttle: None,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.status, &self.code) {
            (Some(s), Some(c)) if c != &s.to_string() => write!(f, "{s} {c}: {}", self.message),
            (Some(s), _) => write!(f, "{s}: {}", self.message),
            (None, _) => write!(f, "{}", self.message),
        }
    }
}

/// One HTTP attempt of a call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub deployment: String,
    /// HTTP status, `None` when no response came.
    pub status: Option<u16>,
    pub retry_after_ms: Option<u64>,
    /// How long the client waited before the *next* attempt (0 for the last one).
    pub waited_ms: u64,
    pub request_id: Option<String>,
    pub error: Option<String>,
    /// How long the attempt itself took, ms: from its request to its last byte (or its
    /// failure). Lets telemetry lay each attempt out in time (older records: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
}

/// Monotonic marks of one attempt, as offsets from the moment the request was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Marks {
    pub headers: Option<Duration>,
    pub first_content: Option<Duration>,
    pub last_content: Option<Duration>,
    pub done: Option<Duration>,
    /// The first reasoning-summary delta (Responses API), timed apart from the answer.
    pub first_summary: Option<Duration>,
}

/// Timings in milliseconds, as reported. TTFB = response headers; TTFT = first *content*
/// token (the annotation and role chunks do not count); tokens/s = completion tokens over
/// (last − first content token).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub ttfb_ms: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub e2e_ms: Option<f64>,
    pub tokens_per_s: Option<f64>,
    pub last_token_ms: Option<f64>,
    /// The first reasoning-summary delta (Responses API with `reasoning.summary`); `None`
    /// when the call streamed none. TTFT never counts it: it is not the answer.
    #[serde(default)]
    pub first_summary_ms: Option<f64>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Timings {
    pub fn from_marks(m: &Marks, completion_tokens: Option<u64>) -> Self {
        let tokens_per_s = match (m.first_content, m.last_content, completion_tokens) {
            (Some(a), Some(b), Some(n)) if b > a && n > 1 => Some(n as f64 / (b - a).as_secs_f64()),
            _ => None,
        };
        Timings {
            ttfb_ms: m.headers.map(ms),
            ttft_ms: m.first_content.map(ms),
            e2e_ms: m.done.map(ms),
            tokens_per_s,
            last_token_ms: m.last_content.map(ms),
            first_summary_ms: m.first_summary.map(ms),
        }
    }
}

/// Everything known about one call once it ended. Holds no secret: request headers are not
/// kept, and response headers are filtered through [`keep_response_header`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub id: u64,
    pub deployment: String,
    pub api: ApiPath,
    /// Chat Completions or the Responses API (older records: chat).
    #[serde(default)]
    pub wire_api: WireApi,
    pub stream: bool,
    pub outcome: Outcome,
    /// Final HTTP status; `None` when no response came.
    pub status: Option<u16>,
    /// Model version the service reported (`gpt-4o-2024-08-06`).
    pub model: Option<String>,
    /// The completion's id as the service reported it (`chatcmpl-…`, `resp_…`); older
    /// records: absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    pub finish_reason: Option<String>,
    pub text: String,
    /// The reasoning summary a reasoning model streamed before its answer (Responses API
    /// with `reasoning.summary`); `None` when there was none.
    #[serde(default)]
    pub reasoning_summary: Option<String>,
    /// How many tool (function) calls the answer asked for; their arguments are in `events`.
    #[serde(default)]
    pub tool_calls: u32,
    pub timing: Timings,
    /// The whole call, ms: from the first attempt's request to the end of the last, retries
    /// and waits between them included. Equals `timing.e2e_ms` for a call of one attempt.
    #[serde(default)]
    pub call_ms: Option<f64>,
    pub usage: Option<Usage>,
    pub ratelimit: RateLimit,
    /// The asynchronous content filter's late verdict, when the stream carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub async_filter: Option<AsyncFilter>,
    pub request_id: Option<String>,
    pub region: Option<String>,
    pub cost_usd: Option<f64>,
    pub attempts: Vec<Attempt>,
    pub error: Option<CallError>,
    /// Oddities worth knowing that did not fail the call (e.g. no `data: [DONE]`).
    pub notes: Vec<String>,
    /// Response headers of the final attempt, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The final attempt's raw response, event by event, when capture was asked for
    /// ([`CallSpec::capture_events`]): each SSE `data` payload (including
    /// `[DONE]`), or the whole body of a non-stream or error response, with its offset from
    /// the moment the request was sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<SseEvent>,
}

/// The note on a stream that ended well without a usage chunk (whoever read it: the client,
/// the proxy, a HAR import).
pub const NO_USAGE_NOTE: &str = "the service sent no usage (token counts unknown)";

/// One received event (or body) and when it arrived, in ms after the request was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SseEvent {
    pub t_ms: f64,
    pub data: String,
}

/// Headers that carry a credential: Azure's key, a bearer token, an API Management
/// subscription key, the `x-api-key` of OpenAI-compatible gateways. Never recorded, shown,
/// exported or forwarded where the profile's credential replaces the caller's.
pub const CREDENTIAL_HEADERS: [&str; 4] = [
    "api-key",
    "authorization",
    "ocp-apim-subscription-key",
    "x-api-key",
];

/// Whether `name` carries a credential (case-insensitive).
pub fn is_credential_header(name: &str) -> bool {
    CREDENTIAL_HEADERS
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s))
}

/// Response headers worth keeping on a record. Cookies and credentials are dropped; nothing
/// request-side is ever kept, so keys and tokens cannot reach a record.
pub fn keep_response_header(name: &str) -> bool {
    // Case-insensitive, without allocating a lowercased copy per header.
    !(is_credential_header(name)
        || name.eq_ignore_ascii_case("set-cookie")
        || name.eq_ignore_ascii_case("cookie"))
}

/// What a running call reports, in order, to whoever watches it.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    AttemptStarted {
        attempt: u32,
        deployment: String,
    },
    Headers {
        status: u16,
        ttfb_ms: f64,
        /// Boxed: the headers event is one per attempt, deltas are many, and every event
        /// is as large as its largest variant.
        ratelimit: Box<RateLimit>,
        request_id: Option<String>,
        region: Option<String>,
    },
    FirstToken {
        ttft_ms: f64,
    },
    Delta(String),
    /// Reasoning-summary text (Responses API): shown apart from the answer, never TTFT.
    Summary(String),
    /// The attempt failed and another follows after `after_ms`.
    Retrying {
        after_ms: u64,
        status: Option<u16>,
        next_deployment: String,
    },
}

/// What to send: one call to one deployment. The client builds the URL, headers and
/// `stream` / `stream_options` / `model` from it.
#[derive(Debug, Clone)]
pub struct CallSpec {
    pub deployment: String,
    /// The request body; `stream`/`stream_options`/`model` are set by the client.
    pub request: ChatRequest,
    /// Chat Completions or the Responses API for this call; `None`: the client's default
    /// (`--wire-api`, the profile's `wire_api`).
    pub wire_api: Option<WireApi>,
    /// Ask a reasoning model for a summary of its reasoning (`auto`, `concise`,
    /// `detailed`): the Responses API's `reasoning.summary`; Chat Completions has none.
    pub reasoning_summary: Option<String>,
    pub stream: bool,
    pub retry: RetryPolicy,
    /// Extra request headers (e.g. `x-ms-client-request-id`); never credentials.
    pub extra_headers: Vec<(String, String)>,
    /// Keep the raw response events on the record (for scenario recording).
    pub capture_events: bool,
    /// `true` (default): each [`CallEvent::Delta`] carries its text. `false`: deltas are still
    /// reported, at the same instants, but with an empty string (no allocation per delta), for
    /// callers that only time them; the record's `text` is complete either way.
    pub delta_text: bool,
}

impl CallSpec {
    pub fn new(deployment: impl Into<String>, request: ChatRequest) -> Self {
        CallSpec {
            deployment: deployment.into(),
            request,
            wire_api: None,
            reasoning_summary: None,
            stream: true,
            retry: RetryPolicy::None,
            extra_headers: vec![],
            capture_events: false,
            delta_text: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_from_marks() {
        let m = Marks {
            headers: Some(Duration::from_millis(100)),
            first_content: Some(Duration::from_millis(400)),
            last_content: Some(Duration::from_millis(1400)),
            done: Some(Duration::from_millis(1410)),
            first_summary: Some(Duration::from_millis(250)),
        };
        let t = Timings::from_marks(&m, Some(51));
        assert_eq!(
            t.first_summary_ms,
            Some(250.0),
            "timed apart from the answer"
        );
        assert_eq!(t.ttfb_ms, Some(100.0));
        assert_eq!(t.ttft_ms, Some(400.0));
        assert_eq!(t.e2e_ms, Some(1410.0));
        assert_eq!(t.tokens_per_s, Some(51.0));
        assert_eq!(Timings::from_marks(&m, Some(1)).tokens_per_s, None);
        assert_eq!(Timings::from_marks(&m, None).tokens_per_s, None);
    }

    #[test]
    fn secrets_never_kept() {
        assert!(!keep_response_header("Authorization"));
        assert!(!keep_response_header("api-key"));
        assert!(keep_response_header("x-ms-region"));
    }
}
