//! Profiles: a TOML file of named connection profiles (data-plane endpoint, auth, default
//! deployment and API path, ARM subscriptions). Found at `--config`, else `AOAI_CONFIG`, else
//! the platform config dir (`$XDG_CONFIG_HOME/aoai/config.toml`, `~/.config/aoai/config.toml`).
//! Every error names the key at fault (`profiles.prod.auth.credential: …`). No network here.
//!
//! ```toml
//! default_profile = "prod"
//!
//! [profiles.prod]
//! endpoint = "https://my-res.openai.azure.com"
//! deployment = "gpt-4o"
//! api = "classic"                 # classic | v1 | openai
//! wire_api = "chat"               # chat | responses
//! api_version = "2024-10-21"
//! max_tokens_field = "max_completion_tokens"   # or "max_tokens" for old deployments
//! subscriptions = ["00000000-0000-0000-0000-000000000000"]
//! auth = { type = "entra", credential = "managed-identity" }
//! ```

pub mod az_cli;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::call::{ApiPath, WireApi};
use crate::domain::params::MaxTokensField;
use crate::domain::ratelimit::GatewayHeaders;

/// Env var naming the config file.
pub const CONFIG_ENV: &str = "AOAI_CONFIG";
/// Env var naming the profile.
pub const PROFILE_ENV: &str = "AOAI_PROFILE";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: line {line}, column {column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: key `{key}`: {message}")]
    Key {
        path: String,
        key: String,
        message: String,
    },
    #[error("no profile `{name}` in {path} (profiles: {known})")]
    NoProfile {
        path: String,
        name: String,
        known: String,
    },
}

/// How a profile authenticates to the data plane (ARM always uses Entra ID). `Debug` shows
/// an inline `key` as `***`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AuthConfig {
    /// An API key: inline `key`, the env var `key_env`, or the first line of `key_file`; sent
    /// as `api-key`, or in the header `header` names (an API Management gateway's
    /// `Ocp-Apim-Subscription-Key`).
    Key {
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        key: Option<String>,
        #[serde(default)]
        key_env: Option<String>,
        #[serde(default)]
        key_file: Option<PathBuf>,
    },
    /// Entra ID through `azure_identity`.
    Entra {
        #[serde(default)]
        credential: Credential,
        /// User-assigned managed identity (client id), or the app id for client-secret.
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        tenant_id: Option<String>,
    },
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthConfig::Key {
                header,
                key,
                key_env,
                key_file,
            } => f
                .debug_struct("Key")
                .field("header", header)
                .field("key", &key.as_ref().map(|_| "***"))
                .field("key_env", key_env)
                .field("key_file", key_file)
                .finish(),
            AuthConfig::Entra {
                credential,
                client_id,
                tenant_id,
            } => f
                .debug_struct("Entra")
                .field("credential", credential)
                .field("client_id", client_id)
                .field("tenant_id", tenant_id)
                .finish(),
        }
    }
}

/// Which Entra ID credential to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credential {
    /// Managed identity if `IDENTITY_ENDPOINT`/`MSI_ENDPOINT` is set, client secret or
    /// workload identity if their env vars are set, else az CLI then azd.
    #[default]
    Auto,
    /// `az login` then `azd auth login` (DeveloperToolsCredential).
    Developer,
    AzureCli,
    Azd,
    ManagedIdentity,
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`.
    WorkloadIdentity,
}

impl Credential {
    pub fn as_str(self) -> &'static str {
        match self {
            Credential::Auto => "auto",
            Credential::Developer => "developer",
            Credential::AzureCli => "azure-cli",
            Credential::Azd => "azd",
            Credential::ManagedIdentity => "managed-identity",
            Credential::ClientSecret => "client-secret",
            Credential::WorkloadIdentity => "workload-identity",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileW {
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    deployment: Option<String>,
    #[serde(default)]
    api: Option<String>,
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    wire_api: Option<String>,
    #[serde(default)]
    subscriptions: Vec<String>,
    #[serde(default)]
    arm_endpoint: Option<String>,
    #[serde(default)]
    simulator: bool,
    #[serde(default)]
    max_tokens_field: Option<String>,
    #[serde(default)]
    auth: Option<toml::Value>,
    #[serde(default)]
    gateway: Option<GatewayHeaders>,
}

/// One named profile, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// Data-plane endpoint; `None` only for a `simulator` profile.
    pub endpoint: Option<String>,
    pub deployment: Option<String>,
    pub api: Option<ApiPath>,
    pub api_version: Option<String>,
    /// Chat Completions or the Responses API (`--wire-api` overrides).
    pub wire_api: Option<WireApi>,
    pub subscriptions: Vec<String>,
    /// ARM base URL (default `https://management.azure.com`; a simulator URL in tests).
    pub arm_endpoint: Option<String>,
    /// Use the embedded simulator (no endpoint, no credentials).
    pub simulator: bool,
    /// The body field for the output budget (`--max-tokens-field` overrides).
    pub max_tokens_field: Option<MaxTokensField>,
    pub auth: Option<AuthConfig>,
    /// An API Management gateway's token-limit headers (their names are the policy's).
    pub gateway: GatewayHeaders,
}

/// A whole config file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigFile {
    pub path: String,
    pub default_profile: Option<String>,
    pub profiles: BTreeMap<String, Profile>,
}

const TOP_KEYS: &[&str] = &["default_profile", "profiles"];

impl ConfigFile {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            message: e.kind().to_string(),
        })?;
        Self::parse(&text, &shown)
    }

    /// Parses config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        let key_err = |key: &str, message: String| ConfigError::Key {
            path: path.to_string(),
            key: key.to_string(),
            message,
        };
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            ConfigError::Syntax {
                path: path.to_string(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        for k in table.keys() {
            if !TOP_KEYS.contains(&k.as_str()) {
                return Err(key_err(
                    k,
                    format!("unknown key (expected one of {})", TOP_KEYS.join(", ")),
                ));
            }
        }
        let default_profile = match table.get("default_profile") {
            None => None,
            Some(toml::Value::String(s)) => Some(s.clone()),
            Some(v) => {
                return Err(key_err(
                    "default_profile",
                    format!("expected a string, found {}", v.type_str()),
                ));
            }
        };
        let mut profiles = BTreeMap::new();
        match table.get("profiles") {
            None => {}
            Some(toml::Value::Table(t)) => {
                for (name, v) in t {
                    let p = parse_profile(name, v.clone()).map_err(|(k, m)| key_err(&k, m))?;
                    profiles.insert(name.clone(), p);
                }
            }
            Some(v) => {
                return Err(key_err(
                    "profiles",
                    format!("expected a table, found {}", v.type_str()),
                ));
            }
        }
        if let Some(d) = &default_profile
            && !profiles.contains_key(d)
        {
            return Err(key_err(
                "default_profile",
                format!("no profile named `{d}` (profiles: {})", known(&profiles)),
            ));
        }
        Ok(ConfigFile {
            path: path.to_string(),
            default_profile,
            profiles,
        })
    }

    /// The named profile, else the default one; `Ok(None)` when neither is set.
    pub fn select(&self, name: Option<&str>) -> Result<Option<&Profile>, ConfigError> {
        let Some(name) = name.or(self.default_profile.as_deref()) else {
            return Ok(None);
        };
        self.profiles
            .get(name)
            .map(Some)
            .ok_or_else(|| ConfigError::NoProfile {
                path: self.path.clone(),
                name: name.to_string(),
                known: known(&self.profiles),
            })
    }

    pub fn names(&self) -> Vec<String> {
        self.profiles.keys().cloned().collect()
    }
}

fn known(p: &BTreeMap<String, Profile>) -> String {
    if p.is_empty() {
        "none".into()
    } else {
        p.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Strips toml's own "unknown field" phrasing down to one line.
fn one_line(e: toml::de::Error) -> String {
    e.message().trim().replace('\n', " ")
}

fn parse_profile(name: &str, v: toml::Value) -> Result<Profile, (String, String)> {
    let at = |k: &str| format!("profiles.{name}.{k}");
    if !v.is_table() {
        return Err((
            format!("profiles.{name}"),
            format!("expected a table, found {}", v.type_str()),
        ));
    }
    let w: ProfileW = v
        .try_into()
        .map_err(|e| refine(format!("profiles.{name}"), one_line(e)))?;
    let endpoint = match w.endpoint {
        Some(e) => Some(check_url(&e).map_err(|m| (at("endpoint"), m))?),
        None => None,
    };
    let arm_endpoint = match w.arm_endpoint {
        Some(e) => Some(check_url(&e).map_err(|m| (at("arm_endpoint"), m))?),
        None => None,
    };
    let api = match w.api {
        Some(a) => Some(a.parse::<ApiPath>().map_err(|m| (at("api"), m))?),
        None => None,
    };
    let wire_api = match w.wire_api {
        Some(a) => Some(a.parse::<WireApi>().map_err(|m| (at("wire_api"), m))?),
        None => None,
    };
    let max_tokens_field = match w.max_tokens_field {
        Some(f) => Some(
            f.parse::<MaxTokensField>()
                .map_err(|m| (at("max_tokens_field"), m))?,
        ),
        None => None,
    };
    for (i, s) in w.subscriptions.iter().enumerate() {
        if !is_guid(s) {
            return Err((
                format!("profiles.{name}.subscriptions[{i}]"),
                format!("`{s}` is not a subscription id (a GUID)"),
            ));
        }
    }
    if let Some(d) = &w.deployment
        && d.trim().is_empty()
    {
        return Err((at("deployment"), "must not be empty".into()));
    }
    let auth = match w.auth {
        None => None,
        Some(a) => Some(parse_auth(a).map_err(|m| refine(at("auth"), m))?),
    };
    if let Some(AuthConfig::Key {
        header,
        key,
        key_env,
        key_file,
    }) = &auth
    {
        if let Some(h) = header
            && !is_header_name(h)
        {
            return Err((
                at("auth.header"),
                format!("`{h}` is not a header name (letters, digits and `-`)"),
            ));
        }
        let n = [key.is_some(), key_env.is_some(), key_file.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if n != 1 {
            return Err((
                at("auth"),
                "a key auth needs exactly one of `key`, `key_env`, `key_file`".into(),
            ));
        }
    }
    if w.simulator && endpoint.is_some() {
        return Err((
            at("simulator"),
            "a simulator profile cannot also set `endpoint`".into(),
        ));
    }
    if !w.simulator && endpoint.is_none() {
        return Err((
            at("endpoint"),
            format!(
                "missing: profile `{name}` needs `endpoint = \"https://<resource>.openai.azure.com\"` (or `simulator = true` for the embedded simulator)"
            ),
        ));
    }
    Ok(Profile {
        name: name.to_string(),
        endpoint,
        deployment: w.deployment,
        api,
        api_version: w.api_version,
        wire_api,
        subscriptions: w.subscriptions,
        arm_endpoint,
        simulator: w.simulator,
        max_tokens_field,
        auth,
        gateway: w.gateway.unwrap_or_default(),
    })
}

/// An HTTP header name as a profile may write it: letters, digits, `-` and `_`.
fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Points the key at the field itself: `unknown field `x`` → `….x`; an unknown enum value
/// inside `auth` is its `credential`.
fn refine(key: String, message: String) -> (String, String) {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some(field) = rest.split('`').next()
    {
        return (format!("{key}.{field}"), message);
    }
    if key.ends_with(".auth") && message.starts_with("unknown variant") {
        return (format!("{key}.credential"), message);
    }
    (key, message)
}

fn parse_auth(v: toml::Value) -> Result<AuthConfig, String> {
    let Some(t) = v.as_table() else {
        return Err(format!("expected a table, found {}", v.type_str()));
    };
    match t.get("type").and_then(|t| t.as_str()) {
        None => return Err("missing `type` (\"key\" or \"entra\")".into()),
        Some("key" | "entra") => {}
        Some(other) => {
            return Err(format!(
                "unknown type `{other}` (expected \"key\" or \"entra\")"
            ));
        }
    }
    v.try_into().map_err(one_line)
}

fn check_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(s.trim_end_matches('/').to_string())
        }
        Ok(_) => Err(format!("`{s}` is not an http(s) URL")),
        Err(e) => Err(format!("`{s}` is not a URL ({e})")),
    }
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Where the config file is looked for: `explicit` (`--config`), else `AOAI_CONFIG`, else the
/// platform config dir. `(path, explicit)`: an explicit path must exist.
pub fn config_path(explicit: Option<&Path>) -> Option<(PathBuf, bool)> {
    if let Some(p) = explicit {
        return Some((p.to_path_buf(), true));
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(p), true));
    }
    platform_config_dir().map(|d| (d.join("aoai").join("config.toml"), false))
}

/// `$XDG_CONFIG_HOME`, else `~/.config` (Linux/BSD); `%APPDATA%` on Windows;
/// `~/Library/Application Support` on macOS.
pub fn platform_config_dir() -> Option<PathBuf> {
    if cfg!(windows) {
        return std::env::var_os("APPDATA").map(PathBuf::from);
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    if cfg!(target_os = "macos") {
        return home.map(|h| h.join("Library").join("Application Support"));
    }
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".config")))
}

/// Loads the config file if there is one: `Ok(None)` when the implicit path does not exist.
pub fn load(explicit: Option<&Path>) -> Result<Option<ConfigFile>, ConfigError> {
    let Some((path, must_exist)) = config_path(explicit) else {
        return Ok(None);
    };
    if !must_exist && !path.exists() {
        return Ok(None);
    }
    ConfigFile::load(&path).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const GOOD: &str = r#"
default_profile = "jump"

[profiles.jump]
endpoint = "https://my-res.openai.azure.com/"
deployment = "gpt-4o"
api = "v1"
subscriptions = ["00000000-0000-0000-0000-000000000000"]
auth = { type = "entra", credential = "managed-identity", client_id = "abc" }

[profiles.laptop]
auth = { type = "key", key_env = "MY_KEY" }
endpoint = "https://other.openai.azure.com"
"#;

    #[test]
    fn parses_profiles() {
        let c = ConfigFile::parse(GOOD, "c.toml").unwrap();
        let p = c.select(None).unwrap().unwrap();
        assert_eq!(p.name, "jump");
        assert_eq!(
            p.endpoint.as_deref(),
            Some("https://my-res.openai.azure.com")
        );
        assert_eq!(p.api, Some(ApiPath::V1));
        assert_eq!(
            p.auth,
            Some(AuthConfig::Entra {
                credential: Credential::ManagedIdentity,
                client_id: Some("abc".into()),
                tenant_id: None
            })
        );
        let l = c.select(Some("laptop")).unwrap().unwrap();
        assert_eq!(
            l.auth,
            Some(AuthConfig::Key {
                header: None,
                key: None,
                key_env: Some("MY_KEY".into()),
                key_file: None
            })
        );
        assert!(matches!(
            c.select(Some("nope")),
            Err(ConfigError::NoProfile { .. })
        ));
    }

    #[test]
    fn errors_name_the_key() {
        let e = ConfigFile::parse("[profiles.a]\nendpont = \"x\"\n", "f").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("f: key `profiles.a.endpont`: unknown field `endpont`"),
            "{e}"
        );
        let e = ConfigFile::parse("[profiles.a]\nsubscriptions = [\"nope\"]\n", "f").unwrap_err();
        assert_eq!(
            e.to_string(),
            "f: key `profiles.a.subscriptions[0]`: `nope` is not a subscription id (a GUID)"
        );
        let e = ConfigFile::parse("x = = 1", "f").unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { line: 1, .. }), "{e}");
    }
}
