//! Names the commit in `aoai --version` (`AOAI_COMMIT`): `git rev-parse --short=12 HEAD`, or
//! `unknown` outside a git checkout (a crate tarball). Reruns when HEAD or its branch moves
//! (in a worktree too).

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
    // Only paths that exist: a missing one would rerun this on every build. In a worktree
    // `.git` is a file: HEAD is in its own git dir, branches in the common one.
    let dirs = Command::new("git")
        .args(["rev-parse", "--git-dir", "--git-common-dir"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let mut lines = dirs.lines().map(Path::new);
    if let (Some(git), Some(common)) = (lines.next(), lines.next()) {
        let head = git.join("HEAD");
        if head.exists() {
            println!("cargo:rerun-if-changed={}", head.display());
        }
        if let Ok(text) = std::fs::read_to_string(&head)
            && let Some(r) = text.trim().strip_prefix("ref: ")
        {
            let branch = common.join(r);
            if branch.exists() {
                println!("cargo:rerun-if-changed={}", branch.display());
            }
        }
        let packed = common.join("packed-refs");
        if packed.exists() {
            println!("cargo:rerun-if-changed={}", packed.display());
        }
    }
}
