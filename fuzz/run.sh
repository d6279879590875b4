#!/usr/bin/env bash
# Runs every fuzz target for MINUTES minutes each (default 5), one after another, each as
# one libFuzzer process (one core), on nightly (cargo-fuzz: `cargo install cargo-fuzz`). A crash, a hang past 10 s or a
# process over 2 GB stops that target and leaves the input in fuzz/artifacts/TARGET/; the
# script goes on with the next target and exits non-zero at the end if any failed. The last
# lines of each target's log (fuzz/logs/TARGET.log) give its executions and speed.
#
#   fuzz/run.sh [MINUTES] [TARGET...]
#
# Builds without a sanitizer (the code is safe Rust: the fuzzers hunt panics, overflows,
# hangs and memory growth; `SANITIZER=address fuzz/run.sh` for ASan) and with debug
# assertions and overflow checks on. CARGO_TARGET_DIR is honoured; `JOBS` sets the build's
# parallelism (default 1). The corpus grows in fuzz/corpus/TARGET/ (only `seed-*` files are
# committed: fuzz/seed.py makes them).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
minutes="${1:-5}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^aoai-console-fuzz$')
fi
sanitizer="${SANITIZER:-none}"
target_dir="${CARGO_TARGET_DIR:-$here/target}"
mkdir -p logs

CARGO_BUILD_JOBS="${JOBS:-1}" cargo +nightly fuzz build -s "$sanitizer" -a --target-dir "$target_dir"

failed=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t: $minutes min"
    start=$(date +%s)
    if CARGO_BUILD_JOBS="${JOBS:-1}" cargo +nightly fuzz run -s "$sanitizer" -a --target-dir "$target_dir" "$t" \
        "corpus/$t" -- -timeout=10 -rss_limit_mb=2048 \
        -max_total_time=$((minutes * 60)) -print_final_stats=1 \
        -artifact_prefix="artifacts/$t/" >"logs/$t.log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$t")
    fi
    secs=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log" | tail -1)
    echo "   $status: ${execs:-?} executions in ${secs} s (log: fuzz/logs/$t.log)"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
