//! The layering of house style §3, checked on the source: `domain` and `wire` are pure (no
//! tokio, network, UI or simulator, and no imports from the layers above), `azure` and `sim`
//! never import each other, and only `tui` knows ratatui or crossterm.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// Code lines (comments dropped) of every file under `src/<dir>`.
fn code_of(dir: &str) -> Vec<(PathBuf, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let files = if root.is_dir() {
        rust_files(&root)
    } else {
        vec![root.with_extension("rs")]
    };
    let mut out = Vec::new();
    for f in files {
        for (i, line) in std::fs::read_to_string(&f).unwrap().lines().enumerate() {
            let code = line.split("//").next().unwrap_or("").to_string();
            if !code.trim().is_empty() {
                out.push((f.clone(), i + 1, code));
            }
        }
    }
    out
}

fn forbid(dir: &str, needles: &[&str]) -> Vec<String> {
    code_of(dir)
        .into_iter()
        .filter_map(|(f, n, code)| {
            needles
                .iter()
                .find(|w| code.contains(*w))
                .map(|w| format!("{}:{n}: `{w}` in {dir}/", f.display()))
        })
        .collect()
}

#[test]
fn layers_point_downward_only() {
    let mut bad = Vec::new();
    let impure = [
        "tokio",
        "reqwest",
        "ratatui",
        "crossterm",
        "axum",
        "azure_core",
        "azure_identity",
        "crate::tui",
        "crate::azure",
        "crate::sim",
        "crate::record",
        "crate::headless",
        "crate::connect",
        "crate::config",
    ];
    bad.extend(forbid("domain", &impure));
    bad.extend(forbid("wire", &impure));
    bad.extend(forbid(
        "azure",
        &[
            "crate::sim",
            "crate::tui",
            "crate::headless",
            "ratatui",
            "crossterm",
        ],
    ));
    bad.extend(forbid(
        "sim",
        &[
            "crate::azure",
            "crate::tui",
            "crate::headless",
            "crate::record",
            "ratatui",
            "crossterm",
        ],
    ));
    for dir in ["headless", "record", "config", "connect", "cli", "tokens"] {
        bad.extend(forbid(dir, &["ratatui", "crossterm"]));
    }
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
    // The scanner itself sees imports (so the checks above can fail).
    assert!(!forbid("tui", &["ratatui"]).is_empty());
}
