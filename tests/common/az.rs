//! A signed-in az CLI for tests: `azureProfile.json` as `az login` writes it (byte-order
//! mark included) and a fake `az` that answers `az account get-access-token -o json` the way
//! the real one does (logging its arguments to `az.log`).
#![allow(dead_code)]

use std::path::PathBuf;

/// The simulator's subscription and a tenant.
pub const SUB: &str = "00000000-0000-0000-0000-000000000000";
pub const TENANT: &str = "00000000-0000-0000-0000-00000000a0a1";

/// A scratch dir with `azure/azureProfile.json` and `bin/az`.
pub fn signed_in(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aoai-zc-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("azure")).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let profile = format!(
        "\u{feff}{{\"installationId\": \"x\", \"subscriptions\": [\
{{\"id\": \"{SUB}\", \"name\": \"Sim Prod\", \"state\": \"Enabled\", \"user\": {{\"name\": \"ops@contoso.com\", \"type\": \"user\"}}, \"isDefault\": true, \"tenantId\": \"{TENANT}\", \"environmentName\": \"AzureCloud\"}}]}}"
    );
    std::fs::write(dir.join("azure/azureProfile.json"), profile).unwrap();
    let az = dir.join("bin/az");
    std::fs::write(
        &az,
        format!(
            r#"#!/bin/sh
# A fake az CLI: `az account get-access-token` only; logs its arguments.
case "$*" in
  *get-access-token*)
    echo "$*" >> "{log}"
    exp=$(( $(date +%s) + 3600 ))
    printf '{{"accessToken":"fake-az-token","expiresOn":"2030-01-02 03:04:05.000000","expires_on":%s,"subscription":"{SUB}","tenant":"{TENANT}","tokenType":"Bearer"}}\n' "$exp" ;;
  *) echo "fake az: unsupported: $*" >&2; exit 2 ;;
esac
"#,
            log = dir.join("az.log").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}
