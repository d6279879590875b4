//! The az CLI's sign-in, read from its `azureProfile.json` (in `AZURE_CONFIG_DIR`, else
//! `~/.azure`): the subscriptions `az login` found, which one is the default (`az account
//! set`), the signed-in user and the cloud. `aoai` uses it for zero-config start: with no
//! endpoint, profile or env vars, a signed-in user opens on their own deployments.
//!
//! The file is written by the az CLI with a UTF-8 byte-order mark (Python's `utf-8-sig`);
//! the shape, as `az login` writes it:
//! `{"installationId": "…", "subscriptions": [{"id": "<guid>", "name": "…", "state":
//! "Enabled", "user": {"name": "a@contoso.com", "type": "user"}, "isDefault": true,
//! "tenantId": "<guid>", "environmentName": "AzureCloud", …}]}`. Tokens are not in it (they
//! live in the MSAL cache; `az account get-access-token` hands them out).

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One subscription the az CLI knows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzSubscription {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `Enabled`, `Disabled`, `Warned`, …
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default)]
    pub user: AzUser,
    /// `AzureCloud`, `AzureUSGovernment`, `AzureChinaCloud`.
    #[serde(default)]
    pub environment_name: String,
}

/// Who signed in: a user's UPN, or a service principal's app id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AzUser {
    #[serde(default)]
    pub name: String,
    /// `user` or `servicePrincipal`.
    #[serde(default, rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct File {
    #[serde(default)]
    subscriptions: Vec<AzSubscription>,
}

/// The az CLI's sign-in state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzProfile {
    /// Where it was read from.
    pub path: PathBuf,
    pub subscriptions: Vec<AzSubscription>,
}

impl AzProfile {
    /// Reads `azureProfile.json`; the byte-order mark is skipped.
    pub fn parse(text: &str, path: &Path) -> Result<AzProfile, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let f: File = serde_json::from_str(text)
            .map_err(|e| format!("{}: not an az CLI profile ({e})", path.display()))?;
        Ok(AzProfile {
            path: path.to_path_buf(),
            subscriptions: f.subscriptions,
        })
    }

    /// The default subscription (`az account set`), if it is usable.
    pub fn default_subscription(&self) -> Option<&AzSubscription> {
        self.subscriptions
            .iter()
            .find(|s| s.is_default && s.usable())
    }

    /// The usable subscriptions, the default first.
    pub fn usable(&self) -> Vec<&AzSubscription> {
        let mut v: Vec<&AzSubscription> =
            self.subscriptions.iter().filter(|s| s.usable()).collect();
        v.sort_by_key(|s| !s.is_default);
        v
    }
}

impl AzSubscription {
    /// Enabled (or warned: still readable) subscriptions can be browsed.
    pub fn usable(&self) -> bool {
        matches!(self.state.as_str(), "Enabled" | "Warned" | "PastDue" | "")
    }

    /// The ARM base URL of the subscription's cloud.
    pub fn arm_base(&self) -> &'static str {
        match self.environment_name.as_str() {
            "AzureUSGovernment" => "https://management.usgovcloudapi.net",
            "AzureChinaCloud" => "https://management.chinacloudapi.cn",
            _ => "https://management.azure.com",
        }
    }
}

/// The az CLI's config dir: `AZURE_CONFIG_DIR`, else `~/.azure`.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("AZURE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let home = if cfg!(windows) {
        std::env::var_os("USERPROFILE")
    } else {
        std::env::var_os("HOME")
    };
    home.filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".azure"))
}

/// The az CLI's sign-in: `Ok(None)` when it has never signed in here (no file, or no
/// subscriptions — `az logout` leaves the list empty); an error for a file that is not one.
pub fn load() -> Result<Option<AzProfile>, String> {
    let Some(dir) = config_dir() else {
        return Ok(None);
    };
    let path = dir.join("azureProfile.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let p = AzProfile::parse(&text, &path)?;
    Ok((!p.subscriptions.is_empty()).then_some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As `az login` writes it (BOM included), two tenants' subscriptions, one disabled.
    const PROFILE: &str = "\u{feff}{\"installationId\": \"5c1c6a2e-0000-0000-0000-000000000000\", \"subscriptions\": [\
{\"id\": \"11111111-1111-1111-1111-111111111111\", \"name\": \"Dev\", \"state\": \"Enabled\", \"user\": {\"name\": \"ops@contoso.com\", \"type\": \"user\"}, \"isDefault\": false, \"tenantId\": \"aaaaaaaa-0000-0000-0000-000000000000\", \"environmentName\": \"AzureCloud\", \"homeTenantId\": \"aaaaaaaa-0000-0000-0000-000000000000\", \"managedByTenants\": []},\
{\"id\": \"22222222-2222-2222-2222-222222222222\", \"name\": \"Prod\", \"state\": \"Enabled\", \"user\": {\"name\": \"ops@contoso.com\", \"type\": \"user\"}, \"isDefault\": true, \"tenantId\": \"aaaaaaaa-0000-0000-0000-000000000000\", \"environmentName\": \"AzureCloud\"},\
{\"id\": \"33333333-3333-3333-3333-333333333333\", \"name\": \"Old\", \"state\": \"Disabled\", \"user\": {\"name\": \"ops@contoso.com\", \"type\": \"user\"}, \"isDefault\": false, \"tenantId\": \"bbbbbbbb-0000-0000-0000-000000000000\", \"environmentName\": \"AzureUSGovernment\"}]}";

    #[test]
    fn reads_the_default_and_the_usable_subscriptions() {
        let p = AzProfile::parse(PROFILE, Path::new("azureProfile.json")).unwrap();
        let d = p.default_subscription().unwrap();
        assert_eq!(
            (d.name.as_str(), d.user.name.as_str()),
            ("Prod", "ops@contoso.com")
        );
        let names: Vec<&str> = p.usable().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Prod", "Dev"]);
        assert_eq!(d.arm_base(), "https://management.azure.com");
        assert_eq!(
            p.subscriptions[2].arm_base(),
            "https://management.usgovcloudapi.net"
        );
    }

    #[test]
    fn a_disabled_default_or_garbage_is_not_used() {
        let text = PROFILE.replace("\"isDefault\": true", "\"isDefault\": false");
        let p = AzProfile::parse(&text, Path::new("p")).unwrap();
        assert!(p.default_subscription().is_none());
        let e = AzProfile::parse("{not json", Path::new("/x/azureProfile.json")).unwrap_err();
        assert!(
            e.starts_with("/x/azureProfile.json: not an az CLI profile"),
            "{e}"
        );
        // After `az logout` the list is empty.
        let p = AzProfile::parse("\u{feff}{\"subscriptions\": []}", Path::new("p")).unwrap();
        assert!(p.usable().is_empty());
    }
}
