//! Response building: the §3 headers on every response, exact error bodies, and the
//! request log entry for each response.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::config::{RateLimitWording, SimConfig};
use super::limits::{Admitted, ThrottleKind, Throttled};
use super::state::{DeploymentRt, LogEntry, Shared, SimRequestLog};

pub const JSON: HeaderValue = HeaderValue::from_static("application/json");
pub const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream; charset=utf-8");

pub const BODY_RESOURCE_NOT_FOUND: &str =
    r#"{"error":{"code":"404","message":"Resource not found"}}"#;
/// A missing deployment on `/openai/deployments/{name}`: 404, pretty-printed with a 2-space
/// indent, no trailing newline, sent without a content-type
/// (tests/fixtures/conformance/19-nonstream-404-deployment-not-found.json; azure-wire.md
/// shows it compact, the recording wins).
pub const BODY_DEPLOYMENT_NOT_FOUND: &str = "{\n  \"error\": {\n    \"type\": \"invalid_request_error\",\n    \"code\": \"DeploymentNotFound\",\n    \"message\": \"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.\"\n  }\n}";
/// Content-type of the `/openai/v1` unknown-model 400 (tests/fixtures/conformance/18).
pub const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// A model (deployment) `/openai/v1` does not know: 400 `unknown_model`, compact, with the
/// name in both `message` and `details` (tests/fixtures/conformance/18).
pub fn unknown_model_body(model: &str) -> String {
    let text = serde_json::to_string(&format!("Unknown model: {model}")).unwrap_or_default();
    format!(r#"{{"error":{{"code":"unknown_model","message":{text},"details":{text}}}}}"#)
}
pub const BODY_401_KEY: &str = r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#;
pub const BODY_401_BEARER: &str = r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}"#;
pub const BODY_CONTENT_FILTER_JAILBREAK: &str = r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"detected":true,"filtered":true},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}}}"#;

pub fn context_length_body(context: u64, prompt: u64) -> String {
    format!(
        r#"{{"error":{{"message":"This model's maximum context length is {context} tokens. However, your messages resulted in {prompt} tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}}}"#
    )
}

pub fn unsupported_max_tokens_body() -> &'static str {
    r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#
}

pub fn unsupported_temperature_body(t: f64) -> String {
    format!(
        r#"{{"error":{{"message":"Unsupported value: 'temperature' does not support {t} with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}}}"#
    )
}

pub fn invalid_request_body(message: &str, param: Option<&str>, code: Option<&str>) -> String {
    let q = |v: Option<&str>| {
        v.map_or("null".to_string(), |s| {
            serde_json::to_string(s).unwrap_or_default()
        })
    };
    format!(
        r#"{{"error":{{"message":{},"type":"invalid_request_error","param":{},"code":{}}}}}"#,
        serde_json::to_string(message).unwrap_or_default(),
        q(param),
        q(code)
    )
}

/// 400 `OperationNotSupported`: a deployment asked for what its model does not do, e.g. a
/// chat call to an embeddings deployment (`operation` = `chatCompletion`), an embeddings call
/// to a chat deployment (`embeddings`). Azure's wording, naming the model (not the
/// deployment), as public error reports quote it (docs/simulator.md, Embeddings).
pub fn operation_not_supported_body(operation: &str, model: &str) -> String {
    let message = format!(
        "The {operation} operation does not work with the specified model, {model}. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."
    );
    format!(
        r#"{{"error":{{"code":"OperationNotSupported","message":{}}}}}"#,
        serde_json::to_string(&message).unwrap_or_default()
    )
}

/// Which API surface a call came in on (changes the 429 text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Classic,
    V1,
    Foundry,
}

/// The 429 body in the configured wording (azure-wire.md §4.3).
pub fn rate_limit_body(
    cfg: &SimConfig,
    operation: &str,
    throttled: &Throttled,
    surface: Surface,
    api_version: Option<&str>,
    deployment: &str,
    model: &str,
) -> String {
    let what = match throttled.kind {
        ThrottleKind::Calls => "call rate limit",
        ThrottleKind::Tokens | ThrottleKind::Utilization => "token rate limit",
    };
    let secs = throttled.retry_after_secs();
    let tier = format!("{} S0", cfg.account.kind);
    let region = &cfg.account.region;
    let api = match (surface, api_version) {
        (Surface::V1, _) | (_, None) => "OpenAI Language Model Instance API".to_string(),
        (_, Some(v)) => format!("Azure OpenAI API version {v}"),
    };
    let (code, message) = match cfg.rate_limit_wording {
        RateLimitWording::Classic => (
            "429",
            format!(
                "Requests to the {operation} Operation under {api} have exceeded {what} of your current {tier} pricing tier. Please retry after {secs} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."
            ),
        ),
        RateLimitWording::RateLimitReached => (
            "RateLimitReached",
            format!(
                "Your requests to {deployment} for {model} in {region} have exceeded the {what} for your current {tier} pricing tier. This request was for {operation} under {api}. Please retry after {secs} seconds. To increase your default rate limit, visit: https://aka.ms/oai/quotaincrease."
            ),
        ),
    };
    format!(
        r#"{{"error":{{"code":"{code}","message":{}}}}}"#,
        serde_json::to_string(&message).unwrap_or_default()
    )
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static("invalid"))
}

fn num(n: u64) -> HeaderValue {
    HeaderValue::from(n)
}

/// The per-request response context.
pub struct Ctx {
    pub shared: Arc<Shared>,
    pub request_id: String,
    pub client_request_id: Option<HeaderValue>,
    pub received_at: Instant,
    pub method: String,
    pub path: String,
    pub deployment: Option<Arc<DeploymentRt>>,
    pub stream: bool,
}

/// Extra facts for the headers of one response.
#[derive(Default)]
pub struct Extra {
    pub admitted: Option<Admitted>,
    pub throttled: Option<Throttled>,
    pub utilization: Option<f64>,
    pub service_ms: Option<u64>,
    pub model_error: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Served by the spillover deployment (`x-ms-is-spilled-over: true`).
    pub spilled_over: bool,
}

impl Ctx {
    pub fn new(
        shared: Arc<Shared>,
        request_id: String,
        headers: &HeaderMap,
        method: &str,
        path: &str,
    ) -> Self {
        Self {
            client_request_id: headers.get("x-ms-client-request-id").cloned(),
            shared,
            request_id,
            received_at: Instant::now(),
            method: method.to_string(),
            path: path.to_string(),
            deployment: None,
            stream: false,
        }
    }

    fn headers(&self, h: &mut HeaderMap, extra: &Extra) {
        let rid = hv(&self.request_id);
        h.insert("apim-request-id", rid.clone());
        h.insert("x-request-id", rid.clone());
        h.insert(
            "x-ms-client-request-id",
            self.client_request_id.clone().unwrap_or(rid),
        );
        h.insert("x-ms-region", self.shared.region.clone());
        h.insert("x-ms-rai-invoked", HeaderValue::from_static("true"));
        h.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000; includeSubDomains; preload"),
        );
        h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        let service_ms = extra.service_ms.unwrap_or_else(|| {
            if self.shared.cfg.deterministic {
                0
            } else {
                self.received_at.elapsed().as_millis() as u64
            }
        });
        h.insert("x-envoy-upstream-service-time", num(service_ms));
        if let Some(d) = &self.deployment {
            h.insert("x-ms-deployment-name", d.name_header.clone());
            // On every 2026 answer (tests/fixtures/conformance/05, 11); `true` when a
            // provisioned deployment passed the call to its spillover deployment.
            h.insert(
                "x-ms-is-spilled-over",
                HeaderValue::from_static(if extra.spilled_over { "true" } else { "false" }),
            );
            h.insert("azureml-model-session", d.session.clone());
            let snapshot;
            let admitted = match extra.admitted {
                Some(a) => Some(a),
                None => {
                    snapshot = super::state::lock(&d.limiter).snapshot(self.shared.now());
                    Some(snapshot)
                }
            };
            if let Some(a) = admitted {
                if let (Some(rem), Some(lim)) = (a.remaining_requests, a.limit_requests) {
                    h.insert("x-ratelimit-remaining-requests", num(rem));
                    h.insert("x-ratelimit-limit-requests", num(lim));
                }
                h.insert("x-ratelimit-remaining-tokens", num(a.remaining_tokens));
                h.insert("x-ratelimit-limit-tokens", num(a.limit_tokens));
                if let (Some(reset), Some(period)) = (a.reset_requests_s, a.renewal_requests_s) {
                    h.insert("x-ratelimit-reset-requests", num(reset));
                    h.insert("x-ratelimit-renewalperiod-requests", num(period));
                }
                h.insert("x-ratelimit-reset-tokens", num(a.reset_tokens_s));
                h.insert("x-ratelimit-renewalperiod-tokens", num(a.renewal_tokens_s));
                if let Some(u) = extra.utilization.or(a.utilization) {
                    h.insert(
                        HeaderName::from_static("azure-openai-deployment-utilization"),
                        hv(&format!("{u:.1}%")),
                    );
                }
            }
        }
        if let Some(t) = &extra.throttled {
            h.insert("retry-after", num(t.retry_after_secs()));
            h.insert("retry-after-ms", num(t.retry_after_ms()));
        }
        if extra.model_error {
            h.insert(
                "ms-azureml-model-error-reason",
                HeaderValue::from_static("model_error"),
            );
            h.insert(
                "ms-azureml-model-error-statuscode",
                HeaderValue::from_static("400"),
            );
        }
    }

    /// Logs the response and returns its entry (the stream stamps `first_token_at` on it).
    pub fn log(&self, status: StatusCode, extra: &Extra) -> Arc<LogEntry> {
        self.shared.push_log(SimRequestLog {
            request_id: self.request_id.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            deployment: self.deployment.as_ref().map(|d| d.cfg.name.clone()),
            status: status.as_u16(),
            stream: self.stream,
            received_at: self.received_at,
            first_token_at: None,
            prompt_tokens: extra.prompt_tokens,
            completion_tokens: extra.completion_tokens,
        })
    }

    /// A complete response with the standard headers, logged.
    pub fn respond(
        &self,
        status: StatusCode,
        content_type: HeaderValue,
        body: Body,
        extra: &Extra,
    ) -> Response {
        self.log(status, extra);
        self.build(status, content_type, body, extra)
    }

    /// Builds without logging (streams log separately).
    pub fn build(
        &self,
        status: StatusCode,
        content_type: HeaderValue,
        body: Body,
        extra: &Extra,
    ) -> Response {
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        let h = resp.headers_mut();
        h.insert(http::header::CONTENT_TYPE, content_type);
        self.headers(h, extra);
        resp
    }

    pub fn json(&self, status: StatusCode, body: impl Into<Body>) -> Response {
        self.respond(status, JSON, body.into(), &Extra::default())
    }

    /// The classic path's 404 for a deployment that does not exist (no content-type).
    pub fn deployment_not_found(&self) -> Response {
        let mut resp = self.json(StatusCode::NOT_FOUND, BODY_DEPLOYMENT_NOT_FOUND);
        resp.headers_mut().remove(http::header::CONTENT_TYPE);
        resp
    }

    /// The v1 path's 400 for a `model` that names no deployment.
    pub fn unknown_model(&self, model: &str) -> Response {
        self.respond(
            StatusCode::BAD_REQUEST,
            JSON_UTF8,
            Body::from(unknown_model_body(model)),
            &Extra::default(),
        )
    }

    pub fn model_error(&self, body: impl Into<Body>) -> Response {
        let extra = Extra {
            model_error: true,
            ..Extra::default()
        };
        self.respond(StatusCode::BAD_REQUEST, JSON, body.into(), &extra)
    }
}
