//! Credentials for the data plane: an API key, a fixed bearer token or an Entra ID token
//! provider, each held as a [`Secret`].

use reqwest::header::HeaderName;

use super::identity::{AuthError, TokenProvider};
pub use super::secret::Secret;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `api-key: <key>` (azure-wire.md §1).
    ApiKey(Secret),
    /// `Authorization: Bearer <token>` (a fixed token, or an OpenAI-compatible key).
    Bearer(Secret),
    /// `Authorization: Bearer <token>` from Entra ID: asked for on every request, cached and
    /// refreshed before expiry by the provider (scope `https://cognitiveservices.azure.com/.default`).
    Token(TokenProvider),
    /// A key in a named header: an API Management gateway's `Ocp-Apim-Subscription-Key`, or
    /// a gateway's own header (from a profile's `auth.header`; never from the command line).
    Header {
        name: HeaderName,
        key: Secret,
    },
    None,
}

/// `eyJ…` with three dot-separated parts: the shape of a JWT (an Entra access token).
fn looks_like_jwt(s: &str) -> bool {
    s.starts_with("eyJ") && s.split('.').count() == 3
}

impl Auth {
    /// Which kind of credential this sends (for advice on a refusal).
    pub fn credential(&self) -> super::identity::SentCredential {
        use super::identity::SentCredential as Credential;
        match self {
            // A fixed bearer is an Entra token pasted in (a JWT) or an OpenAI-compatible key.
            Auth::Bearer(s) if looks_like_jwt(s.expose()) => Credential::Entra,
            Auth::ApiKey(_) | Auth::Bearer(_) | Auth::Header { .. } => Credential::Key,
            Auth::Token(_) => Credential::Entra,
            Auth::None => Credential::Anonymous,
        }
    }

    /// The header to send, as (name, value), for the static kinds; `None` for
    /// [`Auth::Token`] (use [`Auth::header_for`]).
    pub fn header(&self) -> Option<(HeaderName, String)> {
        match self {
            Auth::ApiKey(k) => Some((HeaderName::from_static("api-key"), k.expose().to_string())),
            Auth::Bearer(t) => Some((
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", t.expose()),
            )),
            Auth::Header { name, key } => Some((name.clone(), key.expose().to_string())),
            Auth::Token(_) | Auth::None => None,
        }
    }

    /// The header this sends its credential in (`None` without one).
    pub fn header_name(&self) -> Option<HeaderName> {
        match self {
            Auth::ApiKey(_) => Some(HeaderName::from_static("api-key")),
            Auth::Bearer(_) | Auth::Token(_) => Some(reqwest::header::AUTHORIZATION),
            Auth::Header { name, .. } => Some(name.clone()),
            Auth::None => None,
        }
    }

    /// The header to send for a request to `scope`, fetching (or reusing) a token.
    pub async fn header_for(&self, scope: &str) -> Result<Option<(HeaderName, String)>, AuthError> {
        match self {
            Auth::Token(p) => {
                let t = p.token(scope).await?;
                Ok(Some((
                    reqwest::header::AUTHORIZATION,
                    format!("Bearer {}", t.expose()),
                )))
            }
            other => Ok(other.header()),
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Auth::ApiKey(_) => "api-key",
            Auth::Bearer(_) => "bearer token",
            Auth::Token(_) => "Entra ID",
            Auth::Header { .. } => "key header",
            Auth::None => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let a = Auth::ApiKey(Secret::new("sk-very-secret"));
        assert!(!format!("{a:?}").contains("very-secret"));
        assert_eq!(a.header().unwrap().1, "sk-very-secret");
    }
}
