//! Names the commit in `aoai --version` (`AOAI_COMMIT`): `git rev-parse --short=12 HEAD`, or
//! `unknown` outside a git checkout (a crate tarball). Reruns when HEAD or its branch moves.

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=AOAI_COMMIT={commit}");
    println!("cargo:rerun-if-changed=build.rs");
    // Only paths that exist: a missing one would rerun this on every build.
    let git = Path::new(".git");
    if git.is_dir() {
        let head = git.join("HEAD");
        println!("cargo:rerun-if-changed={}", head.display());
        if let Ok(text) = std::fs::read_to_string(&head)
            && let Some(r) = text.trim().strip_prefix("ref: ")
        {
            let branch = git.join(r);
            if branch.exists() {
                println!("cargo:rerun-if-changed={}", branch.display());
            }
        }
        let packed = git.join("packed-refs");
        if packed.exists() {
            println!("cargo:rerun-if-changed={}", packed.display());
        }
    }
}
