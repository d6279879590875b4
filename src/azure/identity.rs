//! Entra ID tokens: a [`TokenSource`] fetches a token for a scope (an `azure_identity`
//! credential, or a fixed token in tests), and a [`TokenProvider`] caches it per scope and
//! refreshes it before it expires, so a long console session never sees an expired token.
//! The data-plane and ARM clients ask the provider on every request. Failures become an
//! [`AuthError`] whose message says what to do, never a raw error chain.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;

use super::secret::Secret;
use crate::config::Credential;

/// Data-plane scope (azure-wire.md §1).
pub const SCOPE_DATA_PLANE: &str = "https://cognitiveservices.azure.com/.default";
/// ARM and Azure Monitor scope (§5).
pub const SCOPE_ARM: &str = "https://management.azure.com/.default";

/// Refresh this long before expiry (capped at half the token's lifetime).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Longest wait for one token (the az CLI can take a few seconds).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// An access token and when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    pub token: Secret,
    pub expires_at: SystemTime,
}

/// Why no token could be had. `Display` is the advice shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "not signed in to Azure: run `az login` (on a jump box without a browser: `az login --use-device-code`), or `azd auth login`"
    )]
    NotSignedIn,
    #[error(
        "the Azure CLI (`az`) is not installed or not on PATH: install it and run `az login`, or use managed identity (auth credential = \"managed-identity\")"
    )]
    NoCli,
    #[error(
        "this VM has no managed identity (or IMDS is unreachable): assign an identity to the VM (Portal → VM → Identity) and grant it `Cognitive Services OpenAI User`, or sign in with `az login --use-device-code`"
    )]
    NoManagedIdentity,
    #[error("{what} needs the environment variables {vars}")]
    MissingEnv {
        what: &'static str,
        vars: &'static str,
    },
    #[error("Entra ID rejected the sign-in ({0}): check the tenant, client id and secret")]
    Rejected(String),
    #[error("getting a token timed out after {0} s: check the network path to Entra ID / IMDS")]
    Timeout(u64),
    #[error("sign-in failed: {0}")]
    Other(String),
}

/// Fetches one token for a scope. Implemented by `azure_identity` credentials and by tests.
pub trait TokenSource: Send + Sync {
    fn fetch<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken, AuthError>>;
    /// Short name for the status bar (`managed identity`, `az CLI`, …).
    fn describe(&self) -> String;
}

/// Wall-clock time (token expiry is absolute), injectable for tests.
pub trait WallClock: Send + Sync {
    fn now(&self) -> SystemTime;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A cached, self-refreshing token per scope. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct TokenProvider {
    source: Arc<dyn TokenSource>,
    clock: Arc<dyn WallClock>,
    cache: Arc<tokio::sync::Mutex<HashMap<String, (AccessToken, SystemTime)>>>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("source", &self.source.describe())
            .finish_non_exhaustive()
    }
}

impl PartialEq for TokenProvider {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.cache, &other.cache)
    }
}
impl Eq for TokenProvider {}

impl TokenProvider {
    pub fn new(source: Arc<dyn TokenSource>) -> Self {
        Self::with_clock(source, Arc::new(SystemClock))
    }

    pub fn with_clock(source: Arc<dyn TokenSource>, clock: Arc<dyn WallClock>) -> Self {
        TokenProvider {
            source,
            clock,
            cache: Arc::default(),
        }
    }

    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// A token for `scope`: the cached one until its refresh time, then a new one. If the
    /// refresh fails while the old token is still valid, the old one is used (and the next
    /// call tries again), so a flaky token endpoint does not interrupt a session.
    pub async fn token(&self, scope: &str) -> Result<Secret, AuthError> {
        let mut cache = self.cache.lock().await;
        let now = self.clock.now();
        if let Some((tok, refresh_at)) = cache.get(scope)
            && now < *refresh_at
        {
            return Ok(tok.token.clone());
        }
        let fetched = match tokio::time::timeout(FETCH_TIMEOUT, self.source.fetch(scope)).await {
            Ok(r) => r,
            Err(_) => Err(AuthError::Timeout(FETCH_TIMEOUT.as_secs())),
        };
        match fetched {
            Ok(tok) => {
                let refresh_at = refresh_time(now, tok.expires_at);
                let secret = tok.token.clone();
                cache.insert(scope.to_string(), (tok, refresh_at));
                Ok(secret)
            }
            Err(e) => match cache.get(scope) {
                Some((old, _)) if now < old.expires_at => Ok(old.token.clone()),
                _ => Err(e),
            },
        }
    }
}

/// When to fetch a new token: `REFRESH_MARGIN` before expiry, but never later than halfway
/// through a short-lived token's remaining life.
pub fn refresh_time(now: SystemTime, expires_at: SystemTime) -> SystemTime {
    let life = expires_at.duration_since(now).unwrap_or_default();
    let margin = REFRESH_MARGIN.min(life / 2);
    expires_at - margin
}

/// A fixed token (tests, or a token pasted into `AOAI_BEARER`).
pub struct StaticToken(pub AccessToken);

impl TokenSource for StaticToken {
    fn fetch<'a>(&'a self, _scope: &'a str) -> BoxFuture<'a, Result<AccessToken, AuthError>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(t) })
    }
    fn describe(&self) -> String {
        "static token".into()
    }
}

/// An `azure_identity` credential as a [`TokenSource`].
pub struct EntraSource {
    cred: Arc<dyn azure_core::credentials::TokenCredential>,
    kind: Credential,
    label: &'static str,
}

impl TokenSource for EntraSource {
    fn fetch<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            match self.cred.get_token(&[scope], None).await {
                Ok(t) => {
                    let secs = t.expires_on.unix_timestamp().max(0) as u64;
                    Ok(AccessToken {
                        token: Secret::new(t.token.secret()),
                        expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
                    })
                }
                Err(e) => Err(classify(self.kind, &e.to_string())),
            }
        })
    }
    fn describe(&self) -> String {
        self.label.to_string()
    }
}

/// Builds the `azure_identity` credential a profile asks for.
pub fn entra_source(
    kind: Credential,
    client_id: Option<&str>,
    tenant_id: Option<&str>,
) -> Result<Arc<dyn TokenSource>, AuthError> {
    use azure_identity as ai;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let kind = match kind {
        Credential::Auto => {
            if env("IDENTITY_ENDPOINT").is_some() || env("MSI_ENDPOINT").is_some() {
                Credential::ManagedIdentity
            } else if env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
                Credential::WorkloadIdentity
            } else if env("AZURE_CLIENT_SECRET").is_some() {
                Credential::ClientSecret
            } else {
                Credential::Developer
            }
        }
        k => k,
    };
    let other = |e: azure_core::Error| classify(kind, &e.to_string());
    let (cred, label): (
        Arc<dyn azure_core::credentials::TokenCredential>,
        &'static str,
    ) = match kind {
        Credential::Auto | Credential::Developer => (
            ai::DeveloperToolsCredential::new(None).map_err(other)?,
            "az CLI / azd",
        ),
        Credential::AzureCli => (
            ai::AzureCliCredential::new(Some(ai::AzureCliCredentialOptions {
                tenant_id: tenant_id.map(str::to_string),
                ..Default::default()
            }))
            .map_err(other)?,
            "az CLI",
        ),
        Credential::Azd => (
            ai::AzureDeveloperCliCredential::new(Some(ai::AzureDeveloperCliCredentialOptions {
                tenant_id: tenant_id.map(str::to_string),
                ..Default::default()
            }))
            .map_err(other)?,
            "azd",
        ),
        Credential::ManagedIdentity => (
            ai::ManagedIdentityCredential::new(Some(ai::ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.map(|c| ai::UserAssignedId::ClientId(c.to_string())),
                client_options: direct_transport()?,
            }))
            .map_err(other)?,
            "managed identity",
        ),
        Credential::ClientSecret => {
            const VARS: &str = "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET";
            let missing = || AuthError::MissingEnv {
                what: "client-secret sign-in",
                vars: VARS,
            };
            let tenant = tenant_id
                .map(str::to_string)
                .or_else(|| env("AZURE_TENANT_ID"))
                .ok_or_else(missing)?;
            let client = client_id
                .map(str::to_string)
                .or_else(|| env("AZURE_CLIENT_ID"))
                .ok_or_else(missing)?;
            let secret = env("AZURE_CLIENT_SECRET").ok_or_else(missing)?;
            (
                ai::ClientSecretCredential::new(
                    &tenant,
                    client,
                    azure_core::credentials::Secret::new(secret),
                    None,
                )
                .map_err(other)?,
                "client secret",
            )
        }
        Credential::WorkloadIdentity => (
            ai::WorkloadIdentityCredential::new(Some(ai::WorkloadIdentityCredentialOptions {
                client_id: client_id.map(str::to_string),
                tenant_id: tenant_id.map(str::to_string),
                ..Default::default()
            }))
            .map_err(|_| AuthError::MissingEnv {
                what: "workload identity",
                vars: "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE",
            })?,
            "workload identity",
        ),
    };
    Ok(Arc::new(EntraSource { cred, kind, label }))
}

/// Managed identity is served on this machine or its host (IMDS at 169.254.169.254, App
/// Service / Arc / Cloud Shell on loopback), never across the egress proxy: its requests go
/// direct even when HTTPS_PROXY / HTTP_PROXY are set and NO_PROXY does not name the address.
fn direct_transport() -> Result<azure_core::http::ClientOptions, AuthError> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| AuthError::Other(format!("building the HTTP client: {e}")))?;
    Ok(azure_core::http::ClientOptions {
        transport: Some(azure_core::http::Transport::new(Arc::new(http))),
        ..Default::default()
    })
}

/// Turns an `azure_identity` error text into advice. Pure, so it is unit-tested.
pub fn classify(kind: Credential, msg: &str) -> AuthError {
    let m = msg.to_ascii_lowercase();
    if m.contains("az login") || m.contains("azd auth login") || m.contains("not logged in") {
        return AuthError::NotSignedIn;
    }
    if m.contains("not found on path") || m.contains("wasn't found on path") {
        return match kind {
            Credential::Developer | Credential::Auto => AuthError::NotSignedIn,
            _ => AuthError::NoCli,
        };
    }
    if matches!(kind, Credential::ManagedIdentity)
        && (m.contains("has not been assigned")
            || m.contains("identity not found")
            || m.contains("connect")
            || m.contains("timed out")
            || m.contains("169.254.169.254")
            || m.contains("unreachable"))
    {
        return AuthError::NoManagedIdentity;
    }
    if m.contains("aadsts") || m.contains("invalid_client") || m.contains("unauthorized_client") {
        let code = msg
            .split(|c: char| !c.is_ascii_alphanumeric())
            .find(|w| w.starts_with("AADSTS"))
            .unwrap_or("invalid client")
            .to_string();
        return AuthError::Rejected(code);
    }
    // First line only: the rest is a troubleshooting link and an error chain.
    let first = msg
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unknown error");
    AuthError::Other(first.chars().take(160).collect())
}

/// Which kind of credential a request carried: the advice for a refusal depends on it (a
/// refused API key is not fixed by `az login`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentCredential {
    /// `api-key`, or a fixed bearer key (OpenAI-compatible endpoints).
    Key,
    /// An Entra ID token (az CLI, managed identity, service principal).
    Entra,
    /// Nothing was sent.
    Anonymous,
}

/// Advice for an HTTP 401/403 from the data plane or ARM, given the credential that was sent
/// and the error code and message.
pub fn advice_for_denied(
    plane: Plane,
    credential: SentCredential,
    status: u16,
    code: &str,
    message: &str,
) -> Option<String> {
    let m = message.to_ascii_lowercase();
    match (plane, credential) {
        (Plane::DataPlane, SentCredential::Key) if status == 401 => Some(
            "the key was refused: check that it belongs to this resource (Keys and Endpoint in the portal, or `az cognitiveservices account keys list`) and where it came from: `--api-key`, `AZURE_OPENAI_API_KEY`, or the profile's `auth.key_env` / `auth.key_file`".into(),
        ),
        (Plane::DataPlane, SentCredential::Anonymous) if status == 401 => Some(
            "no credential was sent: set AZURE_OPENAI_API_KEY, or give the profile `auth = \"entra\"` (then `az login`)".into(),
        ),
        (Plane::DataPlane, SentCredential::Entra)
            if code == "PermissionDenied" || m.contains("principal does not have access") =>
        {
            Some("the signed-in principal lacks the `Cognitive Services OpenAI User` role on this resource: ask an owner to assign it (role changes take up to 5 minutes)".into())
        }
        (Plane::DataPlane, SentCredential::Entra) if status == 401 => Some(
            "the token was refused (wrong tenant, expired, or not for https://cognitiveservices.azure.com): run `az login` again".into(),
        ),
        (Plane::Arm, _) if code == "AuthorizationFailed" || status == 403 => Some(
            "the signed-in principal cannot read this subscription: it needs the `Reader` (or `Cognitive Services Usages Reader` for quota) role".into(),
        ),
        (Plane::Arm, _) if code.contains("AuthenticationToken") || code == "AuthenticationFailed" => {
            Some("ARM refused the token: run `az login` again (or check the tenant)".into())
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    DataPlane,
    Arm,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counting {
        n: AtomicU32,
        life: Duration,
        clock: Arc<ManualClock>,
        fail: std::sync::atomic::AtomicBool,
    }
    impl TokenSource for Counting {
        fn fetch<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken, AuthError>> {
            Box::pin(async move {
                if self.fail.load(Ordering::SeqCst) {
                    return Err(AuthError::NotSignedIn);
                }
                let n = self.n.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(AccessToken {
                    token: Secret::new(format!("{scope}#{n}")),
                    expires_at: self.clock.now() + self.life,
                })
            })
        }
        fn describe(&self) -> String {
            "counting".into()
        }
    }
    struct ManualClock(Mutex<SystemTime>);
    impl WallClock for ManualClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }
    impl ManualClock {
        fn advance(&self, d: Duration) {
            *self.0.lock().unwrap() += d;
        }
    }

    fn setup(life: Duration) -> (TokenProvider, Arc<Counting>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock(Mutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )));
        let src = Arc::new(Counting {
            n: AtomicU32::new(0),
            life,
            clock: clock.clone(),
            fail: false.into(),
        });
        (
            TokenProvider::with_clock(src.clone(), clock.clone()),
            src,
            clock,
        )
    }

    #[tokio::test]
    async fn caches_per_scope_and_refreshes_before_expiry() {
        let (p, src, clock) = setup(Duration::from_secs(3600));
        assert_eq!(p.token("a").await.unwrap().expose(), "a#1");
        assert_eq!(p.token("a").await.unwrap().expose(), "a#1");
        assert_eq!(p.token("b").await.unwrap().expose(), "b#2");
        // 54 min later: still more than 5 min left → cached.
        clock.advance(Duration::from_secs(54 * 60));
        assert_eq!(p.token("a").await.unwrap().expose(), "a#1");
        // 55 min: inside the margin → refreshed before it expires.
        clock.advance(Duration::from_secs(60));
        assert_eq!(p.token("a").await.unwrap().expose(), "a#3");
        assert_eq!(src.n.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn failed_refresh_keeps_a_still_valid_token_then_reports() {
        let (p, src, clock) = setup(Duration::from_secs(600));
        assert_eq!(p.token("a").await.unwrap().expose(), "a#1");
        src.fail.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(400)); // past refresh (300 s), before expiry
        assert_eq!(p.token("a").await.unwrap().expose(), "a#1");
        clock.advance(Duration::from_secs(300)); // expired
        assert_eq!(p.token("a").await.unwrap_err(), AuthError::NotSignedIn);
        src.fail.store(false, Ordering::SeqCst);
        assert_eq!(p.token("a").await.unwrap().expose(), "a#2");
    }

    #[test]
    fn short_tokens_refresh_at_half_life() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(
            refresh_time(now, now + Duration::from_secs(60)),
            now + Duration::from_secs(30)
        );
        assert_eq!(
            refresh_time(now, now + Duration::from_secs(3600)),
            now + Duration::from_secs(3300)
        );
    }

    #[test]
    fn classify_gives_advice() {
        let c = classify(
            Credential::AzureCli,
            "AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account.\nTo troubleshoot, visit https://aka.ms/x",
        );
        assert_eq!(c, AuthError::NotSignedIn);
        assert_eq!(
            classify(Credential::AzureCli, "\"/bin/sh\" wasn't found on PATH"),
            AuthError::NoCli
        );
        assert_eq!(
            classify(
                Credential::ManagedIdentity,
                "ManagedIdentityCredential authentication failed. The requested identity has not been assigned to this resource"
            ),
            AuthError::NoManagedIdentity
        );
        assert_eq!(
            classify(
                Credential::ClientSecret,
                "AADSTS7000215: Invalid client secret provided.\nTrace ID: x"
            ),
            AuthError::Rejected("AADSTS7000215".into())
        );
        let o = classify(Credential::Azd, "weird\nchain: more");
        assert_eq!(o.to_string(), "sign-in failed: weird");
    }
}
