//! The data-plane chat client: one call = one or more HTTP attempts (retry policy), each
//! measured on a monotonic clock, streamed through `eventsource-stream`, reduced by the pure
//! [`StreamState`]. Every failure ends as a [`CallError`] on the record; nothing panics and
//! nothing hangs (connect / first-byte / idle timeouts, cancellation).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::call_error::{
    cancelled_error, explain_missing_deployment, explain_unsupported_operation, http_error,
    transport_error,
};
use super::sse::{Body, Sniffed, sniff};
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue};
use tokio_util::sync::CancellationToken;

use super::auth::Auth;
use super::endpoint::{DEFAULT_API_VERSION, Endpoint};
use super::identity::{Plane, SCOPE_DATA_PLANE, advice_for_denied};
pub use crate::domain::call::CallSpec;
use crate::domain::call::{
    ApiPath, Attempt, CallError, CallEvent, CallRecord, ErrorKind, Marks, Outcome, SseEvent,
    Timings, WireApi, keep_response_header,
};
use crate::domain::cost::PriceTable;
use crate::domain::ratelimit::RateLimit;
use crate::domain::retry::{AttemptOutcome, Decision, decide, failover_target};
use crate::domain::stream::StreamState;
use crate::domain::usage::Usage;
use crate::wire::StreamOptions;

mod read;

/// Most of an error body we read (an HTML error page can be large).
const MAX_ERROR_BODY: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// From sending the request to the response headers.
    pub first_byte: Duration,
    /// Longest silence between two stream events (or body chunks).
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(120),
            idle: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub endpoint: Endpoint,
    pub api: ApiPath,
    /// Chat Completions or the Responses API.
    pub wire_api: WireApi,
    pub api_version: String,
    pub auth: Auth,
    pub timeouts: Timeouts,
    pub prices: Arc<PriceTable>,
    /// An API Management gateway's token-limit header names (the profile's `gateway`).
    pub gateway: crate::domain::ratelimit::GatewayHeaders,
}

impl ClientConfig {
    pub fn new(endpoint: Endpoint, auth: Auth) -> Self {
        ClientConfig {
            endpoint,
            api: ApiPath::Classic,
            wire_api: WireApi::Chat,
            api_version: DEFAULT_API_VERSION.to_string(),
            auth,
            timeouts: Timeouts::default(),
            prices: Arc::new(PriceTable::builtin()),
            gateway: Default::default(),
        }
    }
}

#[derive(Clone)]
pub struct ChatClient {
    pub(super) http: reqwest::Client,
    pub(super) cfg: ClientConfig,
    /// Other resources a `failover:PROFILE/DEPLOYMENT` policy may send to, by profile name
    /// (registered by the front end, which connects them).
    failover: Arc<std::collections::BTreeMap<String, ChatClient>>,
}

/// How one attempt ended, internally.
struct AttemptEnd {
    /// When the request was handed to the HTTP client (`None` if it never was).
    sent: Option<Instant>,
    status: Option<u16>,
    ratelimit: RateLimit,
    request_id: Option<String>,
    region: Option<String>,
    headers: Vec<(String, String)>,
    marks: Marks,
    state: StreamState,
    error: Option<CallError>,
    notes: Vec<String>,
    events: Vec<SseEvent>,
}

impl AttemptEnd {
    fn failed(error: CallError) -> Self {
        AttemptEnd {
            sent: None,
            status: error.status,
            ratelimit: RateLimit::default(),
            request_id: None,
            region: None,
            headers: vec![],
            marks: Marks::default(),
            state: StreamState::default(),
            error: Some(error),
            notes: vec![],
            events: vec![],
        }
    }
}

fn header_str<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

impl ChatClient {
    pub fn new(cfg: ClientConfig) -> Result<Self, reqwest::Error> {
        let http = super::net::client_builder(cfg.endpoint.as_str())
            .connect_timeout(cfg.timeouts.connect)
            .tcp_nodelay(true)
            .user_agent(concat!("aoai-console/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ChatClient {
            http,
            cfg,
            failover: Arc::default(),
        })
    }

    /// Registers another resource (a profile's client) for `failover:PROFILE/DEPLOYMENT`.
    pub fn with_failover(mut self, profile: &str, other: ChatClient) -> Self {
        let mut map = (*self.failover).clone();
        map.insert(profile.to_string(), other);
        self.failover = Arc::new(map);
        self
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The wire API `spec` speaks: its own choice, else the client's.
    pub fn wire_api(&self, spec: &CallSpec) -> WireApi {
        spec.wire_api.unwrap_or(self.cfg.wire_api)
    }

    /// Runs one call to completion (all attempts), reporting progress through `on_event`.
    /// Always returns a record; failures are on `record.error`.
    pub async fn run(
        &self,
        id: u64,
        spec: &CallSpec,
        cancel: &CancellationToken,
        on_event: &mut (dyn FnMut(CallEvent) + Send),
    ) -> CallRecord {
        let mut record = CallRecord {
            id,
            deployment: spec.deployment.clone(),
            api: self.cfg.api,
            wire_api: self.wire_api(spec),
            stream: spec.stream,
            ..Default::default()
        };
        let mut deployment = spec.deployment.clone();
        let mut failed_over = false;
        let mut attempt_no = 0u32;
        let mut first_sent: Option<Instant> = None;
        loop {
            attempt_no += 1;
            on_event(CallEvent::AttemptStarted {
                attempt: attempt_no,
                deployment: deployment.clone(),
            });
            // The attempt watches `cancel` itself, so a cancelled call keeps what arrived.
            let end = match failover_target(&deployment) {
                (None, d) => self.attempt(spec, d, cancel, on_event).await,
                (Some(p), d) => match self.failover.get(p) {
                    Some(other) => other.attempt(spec, d, cancel, on_event).await,
                    None => AttemptEnd::failed(CallError::new(
                        ErrorKind::Connect,
                        format!(
                            "failover to profile `{p}`: it is not connected (its name in the config file, with --retry failover:{p}/{d} given at start)"
                        ),
                    )),
                },
            };
            first_sent = first_sent.or(end.sent);
            let outcome = match (&end.error, end.status) {
                (Some(e), _) if e.kind == ErrorKind::Cancelled => None,
                (Some(e), None)
                    if matches!(e.kind, ErrorKind::Connect | ErrorKind::Timeout)
                        && end.marks.headers.is_none() =>
                {
                    Some(AttemptOutcome::Transport)
                }
                (_, Some(status)) if !(200..300).contains(&status) => {
                    Some(AttemptOutcome::Status {
                        status,
                        retry_after_ms: end.ratelimit.retry_after_ms,
                    })
                }
                _ => None,
            };
            record.attempts.push(Attempt {
                deployment: deployment.clone(),
                status: end.status,
                retry_after_ms: end.ratelimit.retry_after_ms,
                waited_ms: 0,
                request_id: end.request_id.clone(),
                error: end.error.as_ref().map(|e| e.to_string()),
                ms: end
                    .marks
                    .done
                    .or(end.marks.headers)
                    .map(|d| d.as_secs_f64() * 1000.0),
            });
            let decision = match outcome {
                Some(o) => decide(&spec.retry, attempt_no, o, failed_over),
                None => Decision::GiveUp,
            };
            match decision {
                Decision::Retry {
                    after_ms,
                    deployment: next,
                } => {
                    if let Some(next) = next {
                        deployment = next;
                        failed_over = true;
                    }
                    on_event(CallEvent::Retrying {
                        after_ms,
                        status: end.status,
                        next_deployment: deployment.clone(),
                    });
                    if let Some(last) = record.attempts.last_mut() {
                        last.waited_ms = after_ms;
                    }
                    let slept = tokio::select! {
                        biased;
                        _ = cancel.cancelled() => false,
                        _ = tokio::time::sleep(Duration::from_millis(after_ms)) => true,
                    };
                    if !slept {
                        let mut end = end;
                        end.error = Some(CallError::new(
                            ErrorKind::Cancelled,
                            "cancelled while waiting to retry",
                        ));
                        self.finish(&mut record, end, &deployment, first_sent);
                        return record;
                    }
                }
                Decision::GiveUp => {
                    self.finish(&mut record, end, &deployment, first_sent);
                    return record;
                }
            }
        }
    }

    fn finish(
        &self,
        record: &mut CallRecord,
        end: AttemptEnd,
        deployment: &str,
        first_sent: Option<Instant>,
    ) {
        record.call_ms = match (first_sent, end.sent, end.marks.done) {
            (Some(first), Some(sent), Some(done)) => {
                Some(((sent + done) - first).as_secs_f64() * 1000.0)
            }
            _ => None,
        };
        let usage = end.state.usage.as_ref().map(Usage::from);
        let completion = usage
            .map(|u| u.completion_tokens)
            .or((end.state.content_chunks > 0).then_some(end.state.content_chunks));
        record.deployment = deployment.to_string();
        record.status = end.status;
        record.timing = Timings::from_marks(&end.marks, completion);
        record.model = end.state.model.clone();
        record.response_id = end.state.id.clone();
        record.finish_reason = end.state.finish_reason.clone();
        record.text = end.state.text;
        record.reasoning_summary =
            (!end.state.reasoning_summary.is_empty()).then_some(end.state.reasoning_summary);
        record.tool_calls = end.state.tool_calls;
        record.async_filter = end.state.async_filter;
        record.usage = usage;
        record.ratelimit = end.ratelimit;
        record.request_id = end.request_id;
        record.region = end.region;
        record.headers = end.headers;
        record.notes = end.notes;
        record.events = end.events;
        let model = record
            .model
            .clone()
            .unwrap_or_else(|| deployment.to_string());
        record.cost_usd = usage.and_then(|u| self.cfg.prices.cost_usd(&model, None, &u));
        record.outcome = match &end.error {
            None => Outcome::Done,
            Some(e) if e.kind == ErrorKind::Cancelled => Outcome::Cancelled,
            Some(e) if e.kind == ErrorKind::Throttled => Outcome::Throttled,
            Some(_) => Outcome::Failed,
        };
        record.error = end.error;
    }

    fn build_request(
        &self,
        spec: &CallSpec,
        deployment: &str,
        auth: Option<(reqwest::header::HeaderName, String)>,
    ) -> reqwest::RequestBuilder {
        let mut rb = match self.wire_api(spec) {
            WireApi::Chat => {
                let (url, body_model) =
                    self.cfg
                        .endpoint
                        .chat_url(self.cfg.api, deployment, &self.cfg.api_version);
                let body = chat_body(&spec.request, deployment, body_model, spec.stream);
                self.http.post(url).json(&body)
            }
            WireApi::Responses => {
                let url = self
                    .cfg
                    .endpoint
                    .responses_url(self.cfg.api, &self.cfg.api_version);
                self.http
                    .post(url)
                    .json(&super::responses::body(spec, deployment))
            }
        };
        if let Some((name, value)) = auth {
            let mut v =
                HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""));
            v.set_sensitive(true);
            rb = rb.header(name, v);
        }
        for (k, v) in &spec.extra_headers {
            if !crate::domain::call::is_credential_header(k) {
                rb = rb.header(k, v);
            }
        }
        rb
    }

    async fn attempt(
        &self,
        spec: &CallSpec,
        deployment: &str,
        cancel: &CancellationToken,
        on_event: &mut (dyn FnMut(CallEvent) + Send),
    ) -> AttemptEnd {
        // Entra ID: a cached token, refreshed before expiry (identity.rs).
        let auth = tokio::select! {
            biased;
            _ = cancel.cancelled() => return AttemptEnd::failed(cancelled_error()),
            h = self.cfg.auth.header_for(SCOPE_DATA_PLANE) => h,
        };
        let auth = match auth {
            Ok(h) => h,
            Err(e) => return AttemptEnd::failed(CallError::new(ErrorKind::Connect, e.to_string())),
        };
        let rb = self.build_request(spec, deployment, auth);
        let sent = Instant::now();
        let sending = tokio::time::timeout(self.cfg.timeouts.first_byte, rb.send());
        let resp = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                let mut end = AttemptEnd::failed(cancelled_error());
                end.sent = Some(sent);
                end.marks.done = Some(sent.elapsed());
                return end;
            }
            r = sending => r,
        };
        let resp = match resp {
            Err(_) => {
                let secs = self.cfg.timeouts.first_byte.as_secs_f64();
                return AttemptEnd::failed(CallError::new(
                    ErrorKind::Timeout,
                    format!("no response headers within {secs:.1} s (first-byte timeout)"),
                ));
            }
            Ok(Err(e)) => return AttemptEnd::failed(transport_error(&e, "before the response")),
            Ok(Ok(r)) => r,
        };
        let headers_at = sent.elapsed();
        let status = resp.status().as_u16();
        let h = resp.headers();
        let pairs = || {
            h.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        };
        let mut ratelimit = RateLimit::from_headers(pairs());
        self.cfg.gateway.read(&mut ratelimit, pairs());
        let request_id = header_str(h, "apim-request-id")
            .or(header_str(h, "x-request-id"))
            .map(str::to_string);
        let region = header_str(h, "x-ms-region").map(str::to_string);
        let headers: Vec<(String, String)> = h
            .iter()
            .filter(|(k, _)| keep_response_header(k.as_str()))
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let says_sse =
            header_str(h, "content-type").is_some_and(|c| c.contains("text/event-stream"));
        on_event(CallEvent::Headers {
            status,
            ttfb_ms: headers_at.as_secs_f64() * 1000.0,
            ratelimit: Box::new(ratelimit.clone()),
            request_id: request_id.clone(),
            region: region.clone(),
        });
        let mut end = AttemptEnd {
            sent: Some(sent),
            status: Some(status),
            ratelimit,
            request_id,
            region,
            headers,
            marks: Marks {
                headers: Some(headers_at),
                ..Default::default()
            },
            state: StreamState::default(),
            error: None,
            notes: vec![],
            events: vec![],
        };
        if !(200..300).contains(&status) {
            let body = tokio::select! {
                biased;
                _ = cancel.cancelled() => None,
                b = self.read_body(resp, MAX_ERROR_BODY) => Some(b),
            };
            end.marks.done = Some(sent.elapsed());
            let Some(body) = body else {
                end.error = Some(cancelled_error());
                return end;
            };
            if spec.capture_events {
                let data = String::from_utf8_lossy(&body).into_owned();
                end.events.push(SseEvent {
                    t_ms: ms_since(sent),
                    data,
                });
            }
            let mut err = http_error(status, &body);
            explain_missing_deployment(&mut err, deployment);
            explain_unsupported_operation(&mut err, deployment, "chat");
            if matches!(status, 401 | 403)
                && let Some(advice) = advice_for_denied(
                    Plane::DataPlane,
                    self.cfg.auth.credential(),
                    status,
                    err.code.as_deref().unwrap_or(""),
                    &err.message,
                )
            {
                err.message = format!("{advice} ({})", err.message);
            }
            end.error = Some(err);
            return end;
        }
        let mut body: Body = Box::pin(resp.bytes_stream());
        // The body is read by what it is, not by its content-type: recorders, gateways and
        // other simulators drop or change the header (issue 11). The first bytes decide.
        let first = match self.next_chunk(&mut body, sent, cancel, &mut end).await {
            Some(b) => b,
            None => {
                if end.error.is_none() && spec.stream && says_sse {
                    // An empty event stream: no events, no finish_reason.
                    self.read_stream(body, sent, spec, cancel, &mut end, on_event)
                        .await;
                } else if end.error.is_none() {
                    self.parse_completion(&[], sent, spec, &mut end, on_event);
                }
                return self.ended(end, sent);
            }
        };
        let is_sse = match sniff(&first) {
            Sniffed::Sse => true,
            Sniffed::Json => false,
            Sniffed::Unknown => says_sse,
        };
        let body: Body = Box::pin(futures_util::stream::iter([Ok(first)]).chain(body));
        if is_sse {
            self.read_stream(body, sent, spec, cancel, &mut end, on_event)
                .await;
        } else {
            self.read_completion(body, sent, spec, cancel, &mut end, on_event)
                .await;
        }
        self.ended(end, sent)
    }

    fn ended(&self, mut end: AttemptEnd, sent: Instant) -> AttemptEnd {
        if end.marks.done.is_none() {
            end.marks.done = Some(sent.elapsed());
        }
        end
    }
}

/// The chat-completions body as sent: `model` when the path does not name the deployment,
/// and a stream asks for its usage (`stream_options.include_usage`).
pub fn chat_body(
    request: &crate::wire::ChatRequest,
    deployment: &str,
    body_model: bool,
    stream: bool,
) -> crate::wire::ChatRequest {
    let mut body = request.clone();
    body.model = body_model.then(|| deployment.to_string());
    if stream {
        body.stream = Some(true);
        body.stream_options = Some(StreamOptions {
            include_usage: true,
        });
    } else {
        body.stream = None;
        body.stream_options = None;
    }
    body
}
