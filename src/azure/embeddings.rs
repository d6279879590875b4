//! Embeddings calls: `ChatClient::embed` sends one `POST …/embeddings` (classic path or v1,
//! with the client's auth, URL shape and api-version) and measures it like a chat call:
//! time to the response headers, time to the whole body, prompt tokens, vectors × dimensions,
//! model, request id, region, rate-limit headers; failures classified as for chat.

use std::time::Instant;

use futures_util::StreamExt;
use reqwest::header::HeaderValue;
use tokio_util::sync::CancellationToken;

use super::call_error::{
    cancelled_error, explain_missing_deployment, explain_unsupported_operation, http_error,
    transport_error,
};
use super::data_plane::ChatClient;
use super::identity::{Plane, SCOPE_DATA_PLANE, advice_for_denied};
use crate::domain::call::{CallError, ErrorKind};
use crate::domain::embeddings::{EmbedRecord, EmbedSpec};
use crate::domain::ratelimit::RateLimit;
use crate::domain::usage::Usage;
use crate::wire::embeddings::{EmbeddingsInput, EmbeddingsRequest, EmbeddingsResponse};

/// Most of a body we read: 64 vectors of 3,072 floats as JSON fit with room to spare.
const MAX_BODY: usize = 32 * 1024 * 1024;

fn header(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl ChatClient {
    /// The request body for `spec` (v1 and OpenAI-compatible paths name the deployment as
    /// `model`).
    pub fn embeddings_body(&self, spec: &EmbedSpec) -> EmbeddingsRequest {
        let (_, body_model) =
            self.cfg
                .endpoint
                .embeddings_url(self.cfg.api, &spec.deployment, &self.cfg.api_version);
        EmbeddingsRequest {
            input: EmbeddingsInput::Texts(spec.inputs.clone()),
            model: body_model.then(|| spec.deployment.clone()),
            dimensions: spec.dimensions,
            encoding_format: None,
            user: None,
        }
    }

    /// One embeddings call. Always returns a record; a failure is on `record.error`.
    pub async fn embed(&self, spec: &EmbedSpec, cancel: &CancellationToken) -> EmbedRecord {
        let mut rec = EmbedRecord {
            deployment: spec.deployment.clone(),
            api: self.cfg.api,
            ..Default::default()
        };
        match self.embed_into(spec, cancel, &mut rec).await {
            Ok(()) => {}
            Err(e) => rec.error = Some(e),
        }
        rec
    }

    async fn embed_into(
        &self,
        spec: &EmbedSpec,
        cancel: &CancellationToken,
        rec: &mut EmbedRecord,
    ) -> Result<(), CallError> {
        let auth = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled_error()),
            h = self.cfg.auth.header_for(SCOPE_DATA_PLANE) => h,
        }
        .map_err(|e| CallError::new(ErrorKind::Connect, e.to_string()))?;
        let (url, _) =
            self.cfg
                .endpoint
                .embeddings_url(self.cfg.api, &spec.deployment, &self.cfg.api_version);
        let mut rb = self.http.post(url).json(&self.embeddings_body(spec));
        if let Some((name, value)) = auth {
            let mut v =
                HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""));
            v.set_sensitive(true);
            rb = rb.header(name, v);
        }
        let sent = Instant::now();
        let first_byte = self.cfg.timeouts.first_byte;
        let resp = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled_error()),
            r = tokio::time::timeout(first_byte, rb.send()) => r,
        };
        let resp = match resp {
            Err(_) => {
                return Err(CallError::new(
                    ErrorKind::Timeout,
                    format!(
                        "no response headers within {:.1} s (first-byte timeout)",
                        first_byte.as_secs_f64()
                    ),
                ));
            }
            Ok(Err(e)) => return Err(transport_error(&e, "before the response")),
            Ok(Ok(r)) => r,
        };
        rec.ttfb_ms = Some(ms(sent.elapsed()));
        let status = resp.status().as_u16();
        rec.status = Some(status);
        let h = resp.headers();
        let pairs = || {
            h.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        };
        rec.ratelimit = RateLimit::from_headers(pairs());
        self.cfg.gateway.read(&mut rec.ratelimit, pairs());
        rec.request_id = header(h, "apim-request-id").or_else(|| header(h, "x-request-id"));
        rec.region = header(h, "x-ms-region");
        let body = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled_error()),
            b = self.read_all(resp) => b?,
        };
        rec.e2e_ms = Some(ms(sent.elapsed()));
        if !(200..300).contains(&status) {
            let mut err = http_error(status, &body);
            explain_missing_deployment(&mut err, &spec.deployment);
            explain_unsupported_operation(&mut err, &spec.deployment, "embed");
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
            return Err(err);
        }
        let answer: EmbeddingsResponse = serde_json::from_slice(&body).map_err(|e| {
            CallError::new(
                ErrorKind::BadBody,
                format!("the embeddings answer is not the JSON the API promises: {e}"),
            )
        })?;
        rec.vectors = answer.data.len();
        rec.dimensions = answer.data.first().and_then(|d| d.embedding.dimensions());
        rec.prompt_tokens = Some(answer.usage.prompt_tokens);
        rec.total_tokens = Some(answer.usage.total_tokens);
        let usage = Usage {
            prompt_tokens: answer.usage.prompt_tokens,
            total_tokens: answer.usage.total_tokens,
            ..Usage::default()
        };
        rec.cost_usd = self.cfg.prices.cost_usd(&answer.model, None, &usage);
        rec.model = Some(answer.model);
        Ok(())
    }

    /// The whole body, at most [`MAX_BODY`] bytes, with the idle timeout between chunks.
    async fn read_all(&self, resp: reqwest::Response) -> Result<Vec<u8>, CallError> {
        let mut out = Vec::new();
        let mut stream = resp.bytes_stream();
        loop {
            match tokio::time::timeout(self.cfg.timeouts.idle, stream.next()).await {
                Err(_) => {
                    return Err(CallError::new(
                        ErrorKind::Timeout,
                        format!(
                            "the body stalled for {:.1} s (idle timeout)",
                            self.cfg.timeouts.idle.as_secs_f64()
                        ),
                    ));
                }
                Ok(None) => return Ok(out),
                Ok(Some(Err(e))) => return Err(transport_error(&e, "while reading the body")),
                Ok(Some(Ok(chunk))) => {
                    let room = MAX_BODY.saturating_sub(out.len());
                    out.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if out.len() >= MAX_BODY {
                        return Ok(out);
                    }
                }
            }
        }
    }
}
