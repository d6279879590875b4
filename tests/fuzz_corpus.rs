//! The fuzz smoke, on stable: every committed seed (`fuzz/corpus/<target>/seed-*`) and every
//! crash the fuzzers found (`fuzz/regressions/<target>/*`) goes through the same harness
//! function its fuzz target calls (`fuzz/harness.rs`), so a crash once fixed stays fixed and
//! the harness keeps compiling without nightly. Running the fuzzers themselves:
//! `fuzz/run.sh` (docs/reliability.md).

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn files(dir: &Path, seeds_only: bool) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut out: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !seeds_only
                || p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        })
        .collect();
    out.sort();
    out
}

fn replay(kind: &str, seeds_only: bool) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    let mut n = 0;
    for (name, run) in harness::TARGETS {
        for f in files(&root.join(name), seeds_only) {
            let data = std::fs::read(&f).unwrap();
            let caught = std::panic::catch_unwind(|| run(&data));
            assert!(caught.is_ok(), "{name}: {} fails", f.display());
            n += 1;
        }
    }
    n
}

#[test]
fn every_seed_goes_through_its_target() {
    let n = replay("corpus", true);
    assert!(n > 100, "only {n} seeds: run `python3 fuzz/seed.py`");
}

#[test]
fn every_crash_found_stays_fixed() {
    replay("regressions", false);
}

#[test]
fn every_target_has_seeds_and_a_fuzz_target() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, _) in harness::TARGETS {
        assert!(
            !files(&fuzz.join("corpus").join(name), true).is_empty(),
            "{name} has no seeds"
        );
        assert!(
            fuzz.join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "{name} has no fuzz target"
        );
    }
}
