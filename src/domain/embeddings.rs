//! Embeddings deployments: which models embed instead of chat, their native vector size, and
//! the record of one embeddings call (the figures both front ends show). Pure.

use serde::{Deserialize, Serialize};

use super::call::{ApiPath, CallError};
use super::num::{fmt_ms, opt_ms, opt_u, plural};
use super::ratelimit::RateLimit;

/// An embeddings model (`text-embedding-3-small`, `text-embedding-ada-002`, …) answers
/// `/embeddings` only: a chat call to it fails with 400 `OperationNotSupported`.
pub fn is_embeddings_model(model: &str) -> bool {
    model.to_ascii_lowercase().contains("embedding")
}

/// The native vector size of a known embeddings model.
pub fn native_dimensions(model: &str) -> Option<u32> {
    let m = model.to_ascii_lowercase();
    if m.starts_with("text-embedding-3-large") {
        Some(3072)
    } else if m.starts_with("text-embedding-3-small") || m.starts_with("text-embedding-ada-002") {
        Some(1536)
    } else {
        None
    }
}

/// Whether the model takes `dimensions` (text-embedding-3 and later do; ada-002 does not).
pub fn takes_dimensions(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    is_embeddings_model(&m) && !m.contains("ada-002")
}

/// What to embed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedSpec {
    pub deployment: String,
    pub inputs: Vec<String>,
    pub dimensions: Option<u32>,
}

/// One embeddings call, measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedRecord {
    pub deployment: String,
    pub api: ApiPath,
    pub status: Option<u16>,
    /// Request sent → response headers.
    pub ttfb_ms: Option<f64>,
    /// Request sent → body read.
    pub e2e_ms: Option<f64>,
    pub prompt_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    /// Vectors in the answer (one per input).
    pub vectors: usize,
    /// Length of each vector (the first one's; all are the same length).
    pub dimensions: Option<usize>,
    pub model: Option<String>,
    pub request_id: Option<String>,
    pub region: Option<String>,
    pub ratelimit: RateLimit,
    pub cost_usd: Option<f64>,
    pub error: Option<CallError>,
}

impl EmbedRecord {
    /// One line for a status bar: `embeddings 2 × 1536 · 12 tokens · 84 ms · $0.000000`.
    pub fn summary(&self) -> String {
        if let Some(e) = &self.error {
            let status = self.status.map_or(String::new(), |s| format!("{s} "));
            return format!(
                "embeddings {} failed: {status}{}",
                self.deployment, e.message
            );
        }
        let mut s = format!(
            "embeddings {} · {} × {} · {} · {}",
            self.deployment,
            plural(self.vectors as u64, "vector", "vectors"),
            opt_u(self.dimensions.map(|d| d as u64)),
            self.prompt_tokens
                .map_or("— tokens".to_string(), |t| plural(t, "token", "tokens")),
            opt_ms(self.e2e_ms),
        );
        if let Some(c) = self.cost_usd {
            s.push_str(&format!(" · ${c:.6}"));
        }
        s
    }

    /// The figures block `aoai embed` prints.
    pub fn text_block(&self, sim: bool) -> String {
        let mut out = String::new();
        let status = self
            .status
            .map_or("no response".to_string(), |s| s.to_string());
        let mut head = format!(
            "── {} · {} · embeddings · {status}",
            self.deployment,
            self.api.as_str()
        );
        for extra in [&self.model, &self.region].into_iter().flatten() {
            head.push_str(&format!(" · {extra}"));
        }
        if sim {
            head.push_str(" · simulator");
        }
        out.push_str(&head);
        out.push('\n');
        out.push_str(&format!(
            "   ttfb {} · e2e {}\n",
            opt_ms(self.ttfb_ms),
            opt_ms(self.e2e_ms)
        ));
        if self.error.is_none() {
            out.push_str(&format!(
                "   vectors {} × {} dimensions\n",
                self.vectors,
                opt_u(self.dimensions.map(|d| d as u64))
            ));
            out.push_str(&format!(
                "   tokens prompt {} · total {} · cost {}\n",
                opt_u(self.prompt_tokens),
                opt_u(self.total_tokens),
                self.cost_usd
                    .map_or("unpriced model".to_string(), |c| format!("${c:.6}"))
            ));
        }
        let rl = &self.ratelimit;
        out.push_str(&format!(
            "   limits requests {}/{} · tokens {}/{} · retry-after {}\n",
            opt_u(rl.remaining_requests),
            opt_u(rl.limit_requests),
            opt_u(rl.remaining_tokens),
            opt_u(rl.limit_tokens),
            rl.retry_after_ms
                .map_or("—".to_string(), |v| fmt_ms(v as f64))
        ));
        if let Some(e) = &self.error {
            out.push_str(&format!("   error {}\n", e.message));
        }
        out.push_str(&format!(
            "   request id {}\n",
            self.request_id.as_deref().unwrap_or("—")
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::ErrorKind;

    #[test]
    fn embeddings_models_are_told_apart_from_chat_models() {
        for m in [
            "text-embedding-3-small",
            "text-embedding-3-large",
            "text-embedding-ada-002",
            "Text-Embedding-3-Small",
        ] {
            assert!(is_embeddings_model(m), "{m}");
        }
        for m in ["gpt-4o", "o4-mini", "gpt-4.1-ptu"] {
            assert!(!is_embeddings_model(m), "{m}");
        }
        assert_eq!(native_dimensions("text-embedding-3-large"), Some(3072));
        assert_eq!(native_dimensions("text-embedding-3-small"), Some(1536));
        assert_eq!(native_dimensions("text-embedding-ada-002"), Some(1536));
        assert_eq!(native_dimensions("gpt-4o"), None);
        assert!(takes_dimensions("text-embedding-3-small"));
        assert!(!takes_dimensions("text-embedding-ada-002"));
    }

    #[test]
    fn summary_names_vectors_tokens_and_latency_or_the_error() {
        let r = EmbedRecord {
            deployment: "text-embedding-3-small".into(),
            status: Some(200),
            e2e_ms: Some(84.0),
            prompt_tokens: Some(12),
            vectors: 2,
            dimensions: Some(1536),
            ..Default::default()
        };
        assert_eq!(
            r.summary(),
            "embeddings text-embedding-3-small · 2 vectors × 1536 · 12 tokens · 84 ms"
        );
        let failed = EmbedRecord {
            status: Some(401),
            error: Some(CallError::new(ErrorKind::Http, "Access denied")),
            ..r
        };
        assert_eq!(
            failed.summary(),
            "embeddings text-embedding-3-small failed: 401 Access denied"
        );
        assert!(
            failed
                .text_block(false)
                .contains("   error Access denied\n")
        );
    }
}
