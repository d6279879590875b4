//! Canary credentials for the secret tests (`#[path = "common/canary.rs"] mod canary;`): values
//! no output may ever contain, and the checks that look for them in text and in files.
#![allow(dead_code)]

use std::path::Path;

/// The API key: sent as `api-key` (or as a Bearer token with `--api openai`).
pub const KEY: &str = "sk-CANARY-KEY-5e1f7a2b9c";
/// A JWT-shaped bearer token (header and payload are base64 JSON; the simulator's Entra check
/// calls it foreign and takes it as a plain bearer).
pub const BEARER: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.CANARY-BEARER-9d3c41";
/// An API Management subscription key (`Ocp-Apim-Subscription-Key`).
pub const APIM: &str = "apim-CANARY-SUB-77aa01";
/// An OpenAI-compatible gateway key (`x-api-key`).
pub const XAPI: &str = "xk-CANARY-XAPI-31bd02";
/// A key passed in the URL (`?api-key=`).
pub const QKEY: &str = "CANARY-QKEY-6f2d03";
/// A SAS-style signature passed in the URL (`&sig=`).
pub const SIG: &str = "CANARY-SIG-0c8e04";

const ALL: [&str; 6] = [KEY, BEARER, APIM, XAPI, QKEY, SIG];

/// Panics, naming `what` and the line, if `text` holds any canary (or the marker they share).
pub fn assert_clean(what: &str, text: &str) {
    for c in ALL
        .iter()
        .copied()
        .chain(["CANARY", "5e1f7a2b9c", "9d3c41"])
    {
        if let Some(line) = text.lines().find(|l| l.contains(c)) {
            panic!("{what} leaks `{c}`:\n{line}");
        }
    }
}

/// Both streams of a finished command.
pub fn assert_output_clean(what: &str, out: &std::process::Output) {
    assert_clean(
        &format!("{what} (stdout)"),
        &String::from_utf8_lossy(&out.stdout),
    );
    assert_clean(
        &format!("{what} (stderr)"),
        &String::from_utf8_lossy(&out.stderr),
    );
}

/// A file a run wrote: present, non-empty, free of canaries, readable by its owner only.
pub fn assert_file_clean(path: &Path) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
    assert!(!text.is_empty(), "{} is empty", path.display());
    assert_clean(&path.display().to_string(), &text);
    assert_private(path);
}

/// The file's mode is `0600`.
pub fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{} has mode {mode:o}", path.display());
}

/// Every file in `dir` (not recursive), each checked with [`assert_file_clean`]; returns how
/// many there were.
pub fn assert_dir_clean(dir: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && p.extension().is_none_or(|x| x != "toml") {
            assert_file_clean(&p);
            n += 1;
        }
    }
    n
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aoai-secrets-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
