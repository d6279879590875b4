//! Credentials for the data plane. Secrets are wrapped so that `Debug`/`Display` never print
//! them; the only way out is [`Secret::expose`], used when building a request header.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `api-key: <key>` (azure-wire.md §1).
    ApiKey(Secret),
    /// `Authorization: Bearer <token>` (Entra ID token, or an OpenAI-compatible key).
    Bearer(Secret),
    None,
}

impl Auth {
    /// The header to send, as (name, value).
    pub fn header(&self) -> Option<(&'static str, String)> {
        match self {
            Auth::ApiKey(k) => Some(("api-key", k.expose().to_string())),
            Auth::Bearer(t) => Some(("authorization", format!("Bearer {}", t.expose()))),
            Auth::None => None,
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Auth::ApiKey(_) => "api-key",
            Auth::Bearer(_) => "bearer token",
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
