#!/usr/bin/env python3
"""Responses API calls recorded by `aoai chat --wire-api responses --record` against `aoai sim`,
then served by `aoai sim --replay` to the official `openai` SDK's `client.responses.create`
(stream and not; OpenAI(base_url=…/openai/v1/) and AzureOpenAI on the preview path): the SDK
sees the recorded answers, usage and request ids. Prints `N passed, N failed`.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import traceback

from openai import AzureOpenAI, OpenAI


def start(args):
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = [None]
    t = threading.Thread(target=lambda: line.__setitem__(0, proc.stdout.readline()), daemon=True)
    t.start()
    t.join(30)
    first = (line[0] or "").strip()
    if not first.startswith("listening on "):
        proc.kill()
        sys.exit(f"unexpected first line: {first!r}")
    return proc, first[len("listening on "):]


def record(binary, base, path, prompt, stream):
    args = [binary, "chat", "--endpoint", base, "--api-key", "x", "--wire-api", "responses",
            "-d", "gpt-4o", "--max-tokens", "60", "--record", path, "--json", prompt]
    if not stream:
        args.insert(-1, "--no-stream")
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        sys.exit(f"recording failed: {out.stderr}")


def main():
    binary = os.environ.get("AOAI_BIN") or sys.exit("AOAI_BIN is not set")
    tmp = tempfile.mkdtemp(prefix="aoai-replay-responses-")
    path = os.path.join(tmp, "responses.jsonl")
    sim, base = start([binary, "sim", "--port", "0"])
    try:
        prompts = [("What is a PTU?", True), ("What is TPM?", False),
                   ("Name a region.", True), ("Name a model.", False)]
        for prompt, stream in prompts:
            record(binary, base, path, prompt, stream)
    finally:
        sim.kill()
    calls = [json.loads(l) for l in open(path, encoding="utf-8").read().splitlines()[1:] if l.strip()]
    assert all(c["request"]["wire_api"] == "responses" for c in calls), "recorded as Responses calls"
    replay, rbase = start([binary, "sim", "--replay", path, "--port", "0"])
    passed = failed = 0
    try:
        v1 = OpenAI(base_url=rbase + "/openai/v1/", api_key="x", max_retries=0, timeout=30)
        azure = AzureOpenAI(azure_endpoint=rbase, api_key="x", api_version="2025-04-01-preview",
                            max_retries=0, timeout=30)
        clients = [v1, v1, azure, azure]
        for i, (call, client) in enumerate(zip(calls, clients)):
            prompt = call["request"]["body"]["messages"][-1]["content"]
            stream = call["request"]["stream"]
            name = f"call {i + 1} ({'v1' if client is v1 else 'azure preview'}, stream={stream})"
            try:
                rec = call["record"]
                if stream:
                    raw = client.responses.with_raw_response.create(model="gpt-4o", input=prompt, stream=True)
                    headers = raw.headers
                    text, usage = "", None
                    for ev in raw.parse():
                        if ev.type == "response.output_text.delta":
                            text += ev.delta
                        if ev.type in ("response.completed", "response.incomplete"):
                            usage = ev.response.usage
                else:
                    raw = client.responses.with_raw_response.create(model="gpt-4o", input=prompt)
                    headers = raw.headers
                    resp = raw.parse()
                    text, usage = resp.output_text, resp.usage
                assert text == rec["text"], f"text differs: {text[:60]!r} vs {rec['text'][:60]!r}"
                assert usage.output_tokens == rec["usage"]["completion_tokens"], "usage differs"
                assert usage.input_tokens == rec["usage"]["prompt_tokens"], "usage differs"
                assert headers.get("apim-request-id") == rec["request_id"], "request id header differs"
                assert headers.get("x-aoai-replay-call") == str(i + 1), headers.get("x-aoai-replay-call")
                passed += 1
                print(f"ok   {name}")
            except Exception:
                failed += 1
                print(f"FAIL {name}")
                traceback.print_exc()
    finally:
        replay.kill()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
