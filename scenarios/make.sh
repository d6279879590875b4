#!/usr/bin/env bash
# Re-records the bundled example scenarios against the simulator (default fleet, realistic
# latency). Run from the repository root: bash scenarios/make.sh
set -euo pipefail
bin=${AOAI_BIN:-target/release/aoai}
out=$(mktemp)
"$bin" sim --port 0 >"$out" &
sim=$!
trap 'kill $sim 2>/dev/null' EXIT
for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$out")
chat() { "$bin" chat --endpoint "$url" --api-key example --json "$@" >/dev/null || true; }

rm -f scenarios/normal.jsonl scenarios/throttled.jsonl scenarios/long-history.jsonl
# A normal session: three questions, streamed and not.
chat --record scenarios/normal.jsonl -d gpt-4o --seed 1 --max-tokens 400 -s "You are a concise Azure expert." "What is a PTU?"
chat --record scenarios/normal.jsonl -d gpt-4o --seed 2 --max-tokens 400 "How do rate limits work on Standard deployments?"
chat --record scenarios/normal.jsonl -d o4-mini --seed 3 --max-completion-tokens 2000 "Plan a load test."
chat --record scenarios/normal.jsonl -d gpt-4o --seed 4 --no-stream "Summarise in one line."
# A throttled burst on gpt-4o-mini (12 RPM): 429s, one call honouring retry-after, one failing over.
for i in 1 2 3 4; do chat --record scenarios/throttled.jsonl -d gpt-4o-mini --seed "$i" --max-tokens 100 "burst call $i"; done
chat --record scenarios/throttled.jsonl -d gpt-4o-mini --seed 5 --max-tokens 100 --retry failover:gpt-4o "burst call 5 (failover)"
chat --record scenarios/throttled.jsonl -d gpt-4o-mini --seed 6 --max-tokens 100 --retry honor "burst call 6 (honor)"
# Prompt bloat: the whole conversation is re-sent every turn.
hist=$(mktemp)
python3 - "$hist" <<'PY'
import json, sys
turns = [{"role": "system", "content": "You are a helpful assistant for an operations team. Always answer with care and cite the runbook section. " * 6}]
for i in range(12):
    turns.append({"role": "user", "content": f"Question {i}: what should we check next about the incident on deployment gpt-4o?"})
    turns.append({"role": "assistant", "content": ("Check the rate-limit headers, the retry-after values and the regional quota. " * 12) + f"(turn {i})"})
json.dump(turns, open(sys.argv[1], "w"))
PY
chat --record scenarios/long-history.jsonl -d gpt-4o --seed 7 --max-tokens 4096 --messages "$hist" "And now?"
chat --record scenarios/long-history.jsonl -d gpt-4o --seed 8 --max-tokens 4096 --messages "$hist" "Summarise everything."
rm -f "$hist" "$out"
wc -l scenarios/*.jsonl
