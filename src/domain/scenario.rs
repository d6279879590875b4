//! The scenario format: versioned JSON Lines (version 2 adds the wire API and, for Responses
//! calls, the body exactly as sent; version 1 files load unchanged, as chat calls). Line 1 is a [`Header`]; every further line is
//! one [`ScenarioCall`]: the request as sent (no credentials: the type has nowhere to put
//! them), the response status and an allowlist of headers, every received event with its
//! time offset, usage, timings, attempts and errors. Schema: `docs/scenarios.md`.
//!
//! Pure: parsing and validation only; files are read and written by `crate::engine::record`.

use serde::{Deserialize, Serialize};

use super::call::{ApiPath, CallRecord, WireApi};
use crate::wire::ChatRequest;

pub const FORMAT: &str = "aoai-scenario";
/// The newest format version this build reads and the one it writes. 2: `request.wire_api`
/// and `request.wire_body` (Responses calls); 1: chat only.
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// `aoai-console X.Y.Z` that wrote the file.
    pub tool: String,
    /// RFC 3339 UTC time the file was created.
    pub created: String,
    /// Profile name (never a secret); `simulator` for the embedded simulator.
    pub profile: Option<String>,
}

impl Header {
    pub fn new(created: String, profile: Option<String>) -> Self {
        Header {
            format: FORMAT.into(),
            version: VERSION,
            tool: concat!("aoai-console ", env!("CARGO_PKG_VERSION")).into(),
            created,
            profile,
        }
    }
}

/// Response headers a scenario may keep. Anything else (cookies, and above all `api-key`
/// and `authorization`, which are request headers and never recorded) is dropped on write
/// and refused on read.
pub const HEADER_ALLOWLIST: &[&str] = &[
    "apim-request-id",
    "x-request-id",
    "x-ms-client-request-id",
    "x-ms-region",
    "x-ms-deployment-name",
    "azureml-model-session",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-reset-tokens",
    "x-rate-limit-reset-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-renewalperiod-requests",
    "x-ratelimit-renewalperiod-tokens",
    "x-ms-is-spilled-over",
    "retry-after",
    "retry-after-ms",
    "x-ms-rai-invoked",
    "x-envoy-upstream-service-time",
    "azure-openai-deployment-utilization",
    "content-type",
    "ms-azureml-model-error-reason",
    "ms-azureml-model-error-statuscode",
    "x-ms-spillover-error",
];

fn allowed_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    HEADER_ALLOWLIST.contains(&n.as_str()) || n.starts_with("x-ms-spillover-from-")
}

/// A header that passed the allowlist. Serialized as `[name, value]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "(String, String)", into = "(String, String)")]
pub struct SafeHeader {
    name: String,
    value: String,
}

impl SafeHeader {
    pub fn new(name: &str, value: &str) -> Option<Self> {
        allowed_header(name).then(|| SafeHeader {
            name: name.to_ascii_lowercase(),
            value: value.to_string(),
        })
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl TryFrom<(String, String)> for SafeHeader {
    type Error = String;
    fn try_from((name, value): (String, String)) -> Result<Self, Self::Error> {
        SafeHeader::new(&name, &value)
            .ok_or_else(|| format!("header `{name}` is not allowed in a scenario"))
    }
}

impl From<SafeHeader> for (String, String) {
    fn from(h: SafeHeader) -> Self {
        (h.name, h.value)
    }
}

/// Request headers a scenario may keep (diagnostic ones; credentials can't pass).
pub const REQUEST_HEADER_ALLOWLIST: &[&str] = &[
    "x-ms-client-request-id",
    "x-sim-fault",
    "x-sim-stall-ms",
    "x-sim-retry-after-ms",
    "aoai-evals",
];

/// The request as sent. There is no field for credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    pub deployment: String,
    pub api: ApiPath,
    /// Classic path only.
    pub api_version: Option<String>,
    /// Scheme, host and path of the endpoint (no query, no user info).
    pub endpoint: Option<String>,
    pub stream: bool,
    /// Retry policy, as on the command line (`none`, `honor`, `failover:NAME`).
    pub retry: String,
    /// Diagnostic request headers ([`REQUEST_HEADER_ALLOWLIST`]), `[name, value]` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The request in chat form: messages (a Responses call's `instructions` as the system
    /// message, its `input` items as the rest) and parameters (unknown ones are kept). What a
    /// re-send sends, on either wire API, and what reports and `sim --replay` read.
    pub body: ChatRequest,
    /// Chat Completions or the Responses API (version 1 files: chat).
    #[serde(default)]
    pub wire_api: WireApi,
    /// The body exactly as sent when its shape is not `body`'s (a Responses call:
    /// `instructions`, `input`, `max_output_tokens`, `reasoning`, `store`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_body: Option<serde_json::Value>,
}

/// Prompt tokens per message role, measured with the o200k tokenizer when recorded (so a
/// report needs no tokenizer). `framing` is the chat format's per-message overhead.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptShape {
    pub system: u64,
    pub user: u64,
    pub assistant: u64,
    pub tool: u64,
    pub framing: u64,
}

impl PromptShape {
    pub fn total(&self) -> u64 {
        self.system + self.user + self.assistant + self.tool + self.framing
    }
    pub fn add(&mut self, o: &PromptShape) {
        self.system += o.system;
        self.user += o.user;
        self.assistant += o.assistant;
        self.tool += o.tool;
        self.framing += o.framing;
    }
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioCall {
    /// RFC 3339 UTC wall-clock time the call started.
    pub started: String,
    pub request: RecordedRequest,
    pub prompt_shape: PromptShape,
    /// Set when `aoai proxy` captured the call from an application (older files: absent).
    /// Written before `record`, which stays last in a line (the report's fast path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxied: Option<Proxied>,
    /// The record; unknown keys inside it are ignored (additions within a version).
    pub record: CallRecord,
}

/// Who made a proxied call, and what the proxy did to it. Holds no credential.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proxied {
    /// The application's address as the proxy saw it (`127.0.0.1:53122`).
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// The method and path (with query) the application asked for.
    pub method: String,
    pub path: String,
    /// The fault the proxy injected (`429`, `500`, `slow-first-token:2s`, `cut-stream`);
    /// `None`: forwarded untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected: Option<String>,
}

impl ScenarioCall {
    /// Drops every response header not on the allowlist.
    pub fn sanitize(mut self) -> Self {
        self.record.headers.retain(|(k, _)| allowed_header(k));
        self.request
            .headers
            .retain(|(k, _)| REQUEST_HEADER_ALLOWLIST.contains(&k.to_ascii_lowercase().as_str()));
        self
    }

    /// The response headers, checked against the allowlist.
    pub fn safe_headers(&self) -> Vec<SafeHeader> {
        self.record
            .headers
            .iter()
            .filter_map(|(k, v)| SafeHeader::new(k, v))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("not an aoai scenario file (line 1 is not an `{FORMAT}` header): {0}")]
    NotAScenario(String),
    #[error(
        "scenario format version {found} was written by a newer aoai; this build reads version {VERSION} and older"
    )]
    TooNew { found: u32 },
    #[error("the file is empty")]
    Empty,
}

/// A line that could not be read; the rest of the file still loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineWarning {
    /// 1-based line number; 0 when the warning is not about one line.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Line 0: a warning about no one line (an imported HAR's entries, a summary).
        if self.line == 0 {
            return f.write_str(&self.message);
        }
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses and checks the header line.
pub fn parse_header(line: &str) -> Result<Header, ScenarioError> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| ScenarioError::NotAScenario(e.to_string()))?;
    if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(ScenarioError::NotAScenario(
            "no `\"format\": \"aoai-scenario\"`".into(),
        ));
    }
    let found = v.get("version").and_then(|n| n.as_u64()).unwrap_or(0) as u32;
    if found > VERSION {
        return Err(ScenarioError::TooNew { found });
    }
    serde_json::from_value(v).map_err(|e| ScenarioError::NotAScenario(e.to_string()))
}

/// Parses one call line (`n` is its 1-based line number, for the message).
pub fn parse_call(
    line: &str,
    n: usize,
    is_last_unterminated: bool,
) -> Result<ScenarioCall, LineWarning> {
    serde_json::from_str::<ScenarioCall>(line).map_err(|e| {
        let message = if is_last_unterminated {
            format!("truncated (the file ends mid-line, as after a crash while writing): {e}")
        } else {
            e.to_string()
        };
        LineWarning { line: n, message }
    })
}

/// Splits a whole file into header and calls. Bad call lines become warnings; a bad header
/// refuses the file.
pub fn parse(text: &str) -> Result<(Header, Vec<ScenarioCall>, Vec<LineWarning>), ScenarioError> {
    let mut lines = text.split_inclusive('\n').enumerate();
    let header = loop {
        match lines.next() {
            None => return Err(ScenarioError::Empty),
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break parse_header(l.trim_end())?,
        }
    };
    let mut calls = Vec::new();
    let mut warnings = Vec::new();
    for (i, raw) in lines {
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        match parse_call(line, i + 1, !raw.ends_with('\n')) {
            Ok(c) => calls.push(c),
            Err(w) => warnings.push(w),
        }
    }
    Ok((header, calls, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ChatMessage;

    fn call() -> ScenarioCall {
        ScenarioCall {
            proxied: None,
            started: "2026-11-23T05:00:00.000Z".into(),
            request: RecordedRequest {
                wire_api: Default::default(),
                wire_body: None,
                deployment: "gpt-4o".into(),
                api: ApiPath::Classic,
                api_version: Some("2024-10-21".into()),
                endpoint: Some("https://res.openai.azure.com".into()),
                stream: true,
                retry: "none".into(),
                headers: vec![
                    ("x-sim-fault".into(), "429".into()),
                    ("api-key".into(), "SECRET".into()),
                ],
                body: ChatRequest {
                    messages: vec![ChatMessage::new("user", "hi")],
                    ..Default::default()
                },
            },
            prompt_shape: PromptShape {
                user: 1,
                framing: 8,
                ..Default::default()
            },
            record: CallRecord {
                headers: vec![
                    ("x-ms-region".into(), "East US".into()),
                    ("set-cookie".into(), "a=b".into()),
                    ("authorization".into(), "Bearer SECRET".into()),
                ],
                ..Default::default()
            },
        }
    }

    #[test]
    fn sanitize_drops_everything_not_allowed() {
        let c = call().sanitize();
        assert_eq!(
            c.record.headers,
            vec![("x-ms-region".to_string(), "East US".to_string())]
        );
        assert_eq!(
            c.request.headers,
            vec![("x-sim-fault".to_string(), "429".to_string())]
        );
        let line = serde_json::to_string(&c).unwrap();
        assert!(!line.contains("SECRET"));
        assert!(SafeHeader::new("api-key", "k").is_none());
        assert!(serde_json::from_str::<SafeHeader>(r#"["authorization","Bearer x"]"#).is_err());
    }

    #[test]
    fn round_trip_and_bad_lines() {
        let h = serde_json::to_string(&Header::new(
            "2026-11-23T05:00:00Z".into(),
            Some("simulator".into()),
        ))
        .unwrap();
        let c = serde_json::to_string(&call().sanitize()).unwrap();
        let text = format!("{h}\n{c}\nnot json\n{c}\n{}", &c[..c.len() / 2]);
        let (header, calls, warnings) = parse(&text).unwrap();
        assert_eq!(header.version, VERSION);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0], call().sanitize());
        assert_eq!(warnings.len(), 2);
        assert_eq!(warnings[0].line, 3);
        assert_eq!(warnings[1].line, 5);
        assert!(
            warnings[1].message.starts_with("truncated"),
            "{}",
            warnings[1]
        );
    }

    #[test]
    fn refuses_other_formats_and_newer_versions() {
        assert!(matches!(
            parse(r#"{"format":"something","version":1}"#),
            Err(ScenarioError::NotAScenario(_))
        ));
        assert!(matches!(
            parse("hello\n"),
            Err(ScenarioError::NotAScenario(_))
        ));
        let newer =
            r#"{"format":"aoai-scenario","version":3,"tool":"x","created":"y","profile":null}"#;
        assert_eq!(
            parse(newer).unwrap_err(),
            ScenarioError::TooNew { found: 3 }
        );
        assert_eq!(parse("").unwrap_err(), ScenarioError::Empty);
    }

    #[test]
    fn a_version_1_file_loads_its_calls_as_chat() {
        let mut line = serde_json::to_value(call().sanitize()).unwrap();
        let req = line["request"].as_object_mut().unwrap();
        req.remove("wire_api");
        req.remove("wire_body");
        let v1 = format!(
            "{}\n{line}\n",
            r#"{"format":"aoai-scenario","version":1,"tool":"aoai-console 0.1.0","created":"2026-11-23T05:00:00Z","profile":null}"#
        );
        let (h, calls, warnings) = parse(&v1).unwrap();
        assert_eq!((h.version, warnings.len()), (1, 0));
        assert_eq!(calls[0].request.wire_api, WireApi::Chat);
        assert_eq!(calls[0].request.wire_body, None);
    }

    #[test]
    fn a_responses_call_keeps_its_wire_body() {
        let mut c = call().sanitize();
        c.request.wire_api = WireApi::Responses;
        c.request.wire_body = Some(serde_json::json!({"model": "o4-mini", "input": []}));
        let line = serde_json::to_string(&c).unwrap();
        assert!(line.contains(r#""wire_api":"responses""#), "{line}");
        assert_eq!(parse_call(&line, 2, false).unwrap(), c);
    }

    #[test]
    fn unknown_keys_ignored_only_inside_record_and_body() {
        let c = serde_json::to_value(call().sanitize()).unwrap();
        let mut inside = c.clone();
        inside["record"]["future_field"] = serde_json::json!(1);
        inside["request"]["body"]["reasoning_effort"] = serde_json::json!("low");
        assert!(parse_call(&inside.to_string(), 2, false).is_ok());
        let mut top = c.clone();
        top["surprise"] = serde_json::json!(1);
        let w = parse_call(&top.to_string(), 2, false).unwrap_err();
        assert!(w.message.contains("surprise"), "{w}");
    }
}
