//! URL building for the three request shapes (azure-wire.md §1): classic
//! `/openai/deployments/{d}/chat/completions?api-version=…`, v1 `/openai/v1/chat/completions`
//! (deployment in the body), and an OpenAI-compatible base URL used verbatim.

use url::Url;

use crate::domain::call::ApiPath;

/// Latest GA data-plane api-version (azure-wire.md §1, LIFE 2026-01-31).
pub const DEFAULT_API_VERSION: &str = "2024-10-21";
/// The Responses API preview version used on the classic path when `--api-version` is not a
/// preview from 2025-03-01 on (recording tests/fixtures/conformance/91 used 2025-03-01-preview).
pub const RESPONSES_PREVIEW_API_VERSION: &str = "2025-04-01-preview";
/// The Azure AI model inference API version Foundry's `/models` endpoints take (the
/// `azure-ai-inference` SDKs send it; it is in every published example of the endpoint).
pub const FOUNDRY_API_VERSION: &str = "2024-05-01-preview";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: Url,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("endpoint `{0}` is not a URL (expected e.g. https://my-resource.openai.azure.com)")]
    NotAUrl(String),
    #[error("endpoint `{0}` must use http or https")]
    Scheme(String),
}

impl Endpoint {
    /// Accepts `https://res.openai.azure.com`, with or without a trailing `/` or `/openai`.
    pub fn parse(s: &str) -> Result<Self, EndpointError> {
        let trimmed = s.trim();
        let mut base =
            Url::parse(trimmed).map_err(|_| EndpointError::NotAUrl(trimmed.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(EndpointError::Scheme(trimmed.to_string()));
        }
        let path = base.path().trim_end_matches('/').to_string();
        base.set_path(&path);
        base.set_query(None);
        Ok(Self { base })
    }

    pub fn as_str(&self) -> &str {
        self.base.as_str()
    }

    /// Host (and port) for display; never carries credentials.
    pub fn host(&self) -> String {
        match (self.base.host_str(), self.base.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => self.base.to_string(),
        }
    }

    fn root(&self) -> String {
        let s = self.base.as_str().trim_end_matches('/');
        s.strip_suffix("/openai").unwrap_or(s).to_string()
    }

    /// The Responses API URL (the body always carries `model`). Classic: the preview path
    /// `/openai/responses?api-version=…`, with `api_version` when it is a preview from
    /// 2025-03-01 on, else [`RESPONSES_PREVIEW_API_VERSION`]; v1: `/openai/v1/responses`;
    /// OpenAI-compatible: `{base}/responses`.
    pub fn responses_url(&self, api: ApiPath, api_version: &str) -> String {
        match api {
            ApiPath::Classic => {
                let ver = if api_version.ends_with("-preview") && api_version >= "2025-03-01" {
                    api_version
                } else {
                    RESPONSES_PREVIEW_API_VERSION
                };
                let ver: String = url::form_urlencoded::byte_serialize(ver.as_bytes()).collect();
                format!("{}/openai/responses?api-version={ver}", self.root())
            }
            ApiPath::V1 => {
                let root = self.root();
                let base = root.strip_suffix("/openai/v1").unwrap_or(&root);
                format!("{base}/openai/v1/responses")
            }
            ApiPath::Openai => format!("{}/responses", self.base.as_str().trim_end_matches('/')),
            // A Foundry resource answers the Responses API on its OpenAI v1 path.
            ApiPath::Foundry => {
                let root = self.root();
                let root = root.strip_suffix("/models").unwrap_or(&root);
                format!("{root}/openai/v1/responses")
            }
        }
    }

    /// Foundry model inference: the endpoint as given when it is the whole chat URL (the
    /// portal's "Target URI", `…/chat/completions`); `{base}/chat/completions` when it names
    /// the inference root (`…/models`, or a serverless `*.models.ai.azure.com` host); else
    /// `{resource}/models/chat/completions`. The AOAI default api-version becomes the model
    /// inference one (an explicit other version is kept).
    fn foundry_chat_url(&self, api_version: &str) -> String {
        let base = self.base.as_str().trim_end_matches('/');
        let host = self.base.host_str().unwrap_or("");
        let serverless =
            host.ends_with(".models.ai.azure.com") || host.ends_with(".inference.ai.azure.com");
        let path = if base.ends_with("/chat/completions") {
            base.to_string()
        } else if base.ends_with("/models") || serverless {
            format!("{base}/chat/completions")
        } else {
            format!("{}/models/chat/completions", self.root())
        };
        let ver = if api_version.is_empty() || api_version == DEFAULT_API_VERSION {
            FOUNDRY_API_VERSION
        } else {
            api_version
        };
        let ver: String = url::form_urlencoded::byte_serialize(ver.as_bytes()).collect();
        format!("{path}?api-version={ver}")
    }

    /// The chat-completions URL, and whether the body must carry `model`.
    pub fn chat_url(&self, api: ApiPath, deployment: &str, api_version: &str) -> (String, bool) {
        self.operation_url(api, deployment, api_version, "chat/completions")
    }

    /// The embeddings URL (`…/embeddings`), and whether the body must carry `model`.
    pub fn embeddings_url(
        &self,
        api: ApiPath,
        deployment: &str,
        api_version: &str,
    ) -> (String, bool) {
        self.operation_url(api, deployment, api_version, "embeddings")
    }

    /// `op` (`chat/completions`, `embeddings`) on the deployment: classic in the path, else
    /// named by the body's `model`.
    fn operation_url(
        &self,
        api: ApiPath,
        deployment: &str,
        api_version: &str,
        op: &str,
    ) -> (String, bool) {
        match api {
            ApiPath::Classic => {
                let dep: String =
                    url::form_urlencoded::byte_serialize(deployment.as_bytes()).collect();
                let ver: String =
                    url::form_urlencoded::byte_serialize(api_version.as_bytes()).collect();
                (
                    format!(
                        "{}/openai/deployments/{dep}/{op}?api-version={ver}",
                        self.root()
                    ),
                    false,
                )
            }
            ApiPath::V1 => {
                let root = self.root();
                let base = root.strip_suffix("/openai/v1").unwrap_or(&root);
                (format!("{base}/openai/v1/{op}"), true)
            }
            ApiPath::Openai => (
                format!("{}/{op}", self.base.as_str().trim_end_matches('/')),
                true,
            ),
            ApiPath::Foundry => (self.foundry_chat_url(api_version), true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foundry_urls() {
        let res = Endpoint::parse("https://r.services.ai.azure.com").unwrap();
        assert_eq!(
            res.chat_url(ApiPath::Foundry, "Llama-3.3-70B", DEFAULT_API_VERSION),
            (
                "https://r.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview".to_string(),
                true
            )
        );
        let models = Endpoint::parse("https://r.services.ai.azure.com/models/").unwrap();
        assert_eq!(
            models
                .chat_url(ApiPath::Foundry, "m", "2024-08-01-preview")
                .0,
            "https://r.services.ai.azure.com/models/chat/completions?api-version=2024-08-01-preview"
        );
        let serverless = Endpoint::parse("https://phi-3-abc.eastus2.models.ai.azure.com").unwrap();
        assert_eq!(
            serverless
                .chat_url(ApiPath::Foundry, "m", DEFAULT_API_VERSION)
                .0,
            "https://phi-3-abc.eastus2.models.ai.azure.com/chat/completions?api-version=2024-05-01-preview"
        );
        let target = Endpoint::parse(
            "https://x.eastus2.models.ai.azure.com/chat/completions?api-version=2024-05-01-preview",
        )
        .unwrap();
        assert_eq!(
            target
                .chat_url(ApiPath::Foundry, "m", DEFAULT_API_VERSION)
                .0,
            "https://x.eastus2.models.ai.azure.com/chat/completions?api-version=2024-05-01-preview"
        );
        assert_eq!(
            models.responses_url(ApiPath::Foundry, ""),
            "https://r.services.ai.azure.com/openai/v1/responses"
        );
    }

    #[test]
    fn responses_urls() {
        let e = Endpoint::parse("https://r.openai.azure.com/").unwrap();
        assert_eq!(
            e.responses_url(ApiPath::Classic, "2024-10-21"),
            "https://r.openai.azure.com/openai/responses?api-version=2025-04-01-preview"
        );
        assert_eq!(
            e.responses_url(ApiPath::Classic, "2025-03-01-preview"),
            "https://r.openai.azure.com/openai/responses?api-version=2025-03-01-preview"
        );
        assert_eq!(
            e.responses_url(ApiPath::V1, "x"),
            "https://r.openai.azure.com/openai/v1/responses"
        );
        let v1 = Endpoint::parse("https://r.openai.azure.com/openai/v1").unwrap();
        assert_eq!(
            v1.responses_url(ApiPath::V1, "x"),
            "https://r.openai.azure.com/openai/v1/responses"
        );
        let oai = Endpoint::parse("http://127.0.0.1:8000/v1").unwrap();
        assert_eq!(
            oai.responses_url(ApiPath::Openai, ""),
            "http://127.0.0.1:8000/v1/responses"
        );
    }

    #[test]
    fn urls_for_each_shape() {
        let e = Endpoint::parse("https://res.openai.azure.com/").unwrap();
        assert_eq!(
            e.chat_url(ApiPath::Classic, "gpt-4o", "2024-10-21").0,
            "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            e.chat_url(ApiPath::V1, "gpt-4o", "x"),
            (
                "https://res.openai.azure.com/openai/v1/chat/completions".into(),
                true
            )
        );
        let e = Endpoint::parse("https://res.openai.azure.com/openai").unwrap();
        assert!(
            e.chat_url(ApiPath::Classic, "d", "v")
                .0
                .starts_with("https://res.openai.azure.com/openai/deployments/d/")
        );
        let e = Endpoint::parse("http://127.0.0.1:8000/v1").unwrap();
        assert_eq!(
            e.chat_url(ApiPath::Openai, "m", "").0,
            "http://127.0.0.1:8000/v1/chat/completions"
        );
        assert_eq!(e.host(), "127.0.0.1:8000");
    }

    #[test]
    fn rejects_non_urls() {
        assert!(matches!(
            Endpoint::parse("res.openai.azure.com"),
            Err(EndpointError::NotAUrl(_))
        ));
        assert!(matches!(
            Endpoint::parse("ftp://x"),
            Err(EndpointError::Scheme(_))
        ));
    }
}
