#!/usr/bin/env python3
"""A recorded scenario served by `aoai sim --replay` to the official `openai` SDK.

Runs `$AOAI_BIN sim --replay scenarios/normal.jsonl --port 0`, sends the recorded requests
with AzureOpenAI (streaming and not, as recorded) and checks the SDK sees the recorded answers,
usage and headers. Prints `N passed, N failed`; exits non-zero on any failure.
"""
import json
import os
import subprocess
import sys
import threading
import traceback

from openai import AzureOpenAI

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO = os.path.join(ROOT, "scenarios", "normal.jsonl")


def start(binary):
    proc = subprocess.Popen([binary, "sim", "--replay", SCENARIO, "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = [None]
    t = threading.Thread(target=lambda: line.__setitem__(0, proc.stdout.readline()), daemon=True)
    t.start()
    t.join(30)
    first = (line[0] or "").strip()
    if not first.startswith("listening on "):
        proc.kill()
        sys.exit(f"unexpected first line: {first!r}")
    return proc, first[len("listening on "):]


def main():
    binary = os.environ.get("AOAI_BIN") or sys.exit("AOAI_BIN is not set")
    calls = [json.loads(l) for l in open(SCENARIO, encoding="utf-8").read().splitlines()[1:] if l.strip()]
    proc, base = start(binary)
    passed = failed = 0
    try:
        client = AzureOpenAI(azure_endpoint=base, api_key="x", api_version="2024-10-21", max_retries=0, timeout=30)
        for i, call in enumerate(calls):
            name = f"call {i + 1} ({call['request']['deployment']}, stream={call['request']['stream']})"
            try:
                body = call["request"]["body"]
                kwargs = {k: v for k, v in body.items() if k in ("max_tokens", "max_completion_tokens", "seed", "temperature")}
                rec = call["record"]
                if call["request"]["stream"]:
                    raw = client.chat.completions.with_raw_response.create(
                        model=call["request"]["deployment"], messages=body["messages"], stream=True,
                        stream_options={"include_usage": True}, **kwargs)
                    headers = raw.headers
                    text, usage = "", None
                    for chunk in raw.parse():
                        if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                            text += chunk.choices[0].delta.content
                        if chunk.usage:
                            usage = chunk.usage
                else:
                    raw = client.chat.completions.with_raw_response.create(
                        model=call["request"]["deployment"], messages=body["messages"], **kwargs)
                    headers = raw.headers
                    resp = raw.parse()
                    text, usage = resp.choices[0].message.content, resp.usage
                assert text == rec["text"], f"text differs: {text[:60]!r} vs {rec['text'][:60]!r}"
                assert usage.completion_tokens == rec["usage"]["completion_tokens"], "usage differs"
                assert headers.get("apim-request-id") == rec["request_id"], "request id header differs"
                assert headers.get("x-aoai-replay-call") == str(i + 1), headers.get("x-aoai-replay-call")
                passed += 1
                print(f"ok   {name}")
            except Exception:
                failed += 1
                print(f"FAIL {name}")
                traceback.print_exc()
    finally:
        proc.kill()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
