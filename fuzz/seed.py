#!/usr/bin/env python3
"""Derives the fuzz seed corpora from files in the tree: the conformance corpus (real Azure
recordings, tests/fixtures/conformance), the example scenarios, the bundled themes, tables
and example configs. Writes fuzz/corpus/<target>/seed-<name>; run it again after the
fixtures change (`python3 fuzz/seed.py`). Seeds are kept small (events trimmed), so the
committed corpus stays well under 2 MB.

The stream targets read their first byte as the read size (1 + byte % 64), the rest as the
body; the seeds take the read sizes 1, 8 and 64 in turn.
"""

import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
FIXTURES = ROOT / "tests" / "fixtures" / "conformance"


def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / f"seed-{name}").write_bytes(data)


def fixtures():
    for p in sorted(FIXTURES.glob("*.json")):
        yield p.stem[:2], json.loads(p.read_text())


def stream_seeds():
    for i, (n, f) in enumerate(fixtures()):
        body = f["response"]["body"].encode()
        target = "sse_responses" if n.startswith("9") else "sse_chat"
        status = f["response"]["status"]
        # Read sizes in turn: byte 0 → 1-byte reads, 7 → 8, 63 → 64.
        k = (0, 7, 63)[i % 3]
        put(target, f"{n}-r{k + 1}", bytes([k]) + body)
        if status != 200:
            # Error bodies are read by both targets.
            other = "sse_chat" if target == "sse_responses" else "sse_responses"
            put(other, f"{n}-r8", bytes([7]) + body)


def header_seeds():
    for n, f in fixtures():
        lines = [f"{k}: {v}" for k, v in f["response"]["headers"].items()]
        put("ratelimit", n, "\n".join(lines) + "\n")
    put(
        "ratelimit",
        "durations",
        "x-ratelimit-reset-tokens: 6m0.5s\nx-ratelimit-reset-requests: 250ms\n"
        "retry-after: 1.5\nretry-after-ms: 20\nx-ms-is-spilled-over: true\n"
        "azure-openai-deployment-utilization: 87.5%\n"
        "x-ratelimit-remaining-tokens: -1\nx-ratelimit-limit-tokens: 0\n",
    )


def request_seeds():
    for n, f in fixtures():
        req = f["request"]
        head = req["path"] + "\ncontent-type: application/json\napi-key: sk-FUZZ\n"
        head += "x-ms-client-request-id: 1\nuser-agent: fuzz\n"
        body = json.dumps(req.get("body") or {}, separators=(",", ":"))
        put("proxy_request", n, head + "\n" + body)


def har_seeds():
    entries = []
    for n, f in fixtures():
        body = dict(f["request"].get("body") or {})
        if f["request"]["stream"]:
            body["stream"] = True
        headers = [{"name": k, "value": str(v)} for k, v in f["response"]["headers"].items()]
        entry = {
            "startedDateTime": "2026-03-31T13:12:42.000Z",
            "time": 120.0,
            "request": {
                "method": "POST",
                "url": "https://contoso.openai.azure.com" + f["request"]["path"],
                "httpVersion": "HTTP/1.1",
                "cookies": [],
                "queryString": [],
                "headersSize": -1,
                "headers": [{"name": "api-key", "value": "sk-FUZZ"}],
                "postData": {"mimeType": "application/json", "text": json.dumps(body)},
            },
            "response": {
                "status": f["response"]["status"],
                "statusText": "",
                "httpVersion": "HTTP/1.1",
                "cookies": [],
                "headers": headers,
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": -1,
                "content": {"size": len(f["response"]["body"]), "text": f["response"]["body"]},
            },
            "cache": {},
            "timings": {"send": 0.5, "wait": 40.0, "receive": 79.5},
        }
        entries.append(entry)
        put("har", n, har_of([entry]))
    # One file with a few entries, and one with the fields some writers leave out.
    put("har", "several", har_of(entries[:4]))
    bare = json.loads(json.dumps(entries[1]))
    for k in ("cache", "timings", "time"):
        bare.pop(k)
    put("har", "bare", har_of([bare]))


def har_of(entries):
    return json.dumps(
        {"log": {"version": "1.2", "creator": {"name": "fuzz", "version": "1"}, "entries": entries}}
    )


def scenario_seeds():
    for p in sorted((ROOT / "scenarios").glob("*.jsonl")):
        lines = p.read_text().splitlines()
        out = [lines[0]]
        for line in lines[1:3]:
            call = json.loads(line)
            rec = call.get("record") or {}
            if isinstance(rec.get("events"), list):
                rec["events"] = rec["events"][:3]
            out.append(json.dumps(call, separators=(",", ":")))
        put("scenario", p.stem, "\n".join(out) + "\n")
        # The same cut mid-line, as after a crash while writing.
        text = "\n".join(out)
        put("scenario", p.stem + "-cut", text[: len(text) - 40])
    # A HAR is read by the same loader.
    put("scenario", "har", (CORPUS / "har" / "seed-02").read_bytes())


def toml_seeds():
    files = (
        list((ROOT / "themes").glob("*.toml"))
        + list((ROOT / "data").glob("*.toml"))
        + list((ROOT / "examples").rglob("*.toml"))
        + list((ROOT / "scenarios").glob("*.toml"))
        + list((ROOT / "docs").glob("*.toml"))
        + list((ROOT / "tests" / "fixtures" / "invalid_configs").glob("*.toml"))
    )
    for p in sorted(files):
        put("toml", p.parent.name + "-" + p.stem, p.read_bytes())


def main():
    if CORPUS.exists():
        for d in CORPUS.iterdir():
            for s in d.glob("seed-*"):
                s.unlink()
    stream_seeds()
    header_seeds()
    request_seeds()
    har_seeds()
    scenario_seeds()
    toml_seeds()
    total = sum(p.stat().st_size for p in CORPUS.rglob("seed-*"))
    print(f"{sum(1 for _ in CORPUS.rglob('seed-*'))} seeds, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
