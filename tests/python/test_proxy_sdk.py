#!/usr/bin/env python3
"""The official `openai` Python SDK through `aoai proxy`, unchanged.

Starts `$AOAI_BIN proxy --port 0 --json --record FILE` (no upstream: the embedded
simulator) and a second proxy with `--inject 429:1`, reads each `listening on URL` line,
then drives AzureOpenAI and OpenAI(base_url=…/openai/v1/) through them: chat streaming and
not, Responses streaming and not, models, a simulator 429 as RateLimitError with both
retry-after headers, and the injected 429 as RateLimitError. Checks the proxy printed one
JSON line per call, that neither its output nor the recording holds the key, and that the
recording reports (`aoai replay FILE --report`).
Prints `N passed, N failed` and exits non-zero on any failure.
"""
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import traceback

import openai
from openai import AzureOpenAI, OpenAI

KEY = "app-secret-key-0815"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]


def start_proxy(*extra):
    binary = os.environ.get("AOAI_BIN")
    if not binary:
        sys.exit("AOAI_BIN is not set (path to the aoai binary)")
    proc = subprocess.Popen(
        [binary, "proxy", "--port", "0", "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    try:
        first = lines.get(timeout=30)
    except queue.Empty:
        proc.kill()
        sys.exit("`aoai proxy` printed nothing")
    prefix = "listening on "
    if not first.startswith(prefix):
        proc.kill()
        sys.exit(f"unexpected first line from `aoai proxy`: {first!r}")
    return proc, first[len(prefix):], lines


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def azure(base):
    return AzureOpenAI(azure_endpoint=base, api_key=KEY, api_version="2024-10-21", max_retries=0, timeout=30)


def v1(base):
    return OpenAI(base_url=base + "/openai/v1/", api_key=KEY, max_retries=0, timeout=30)


def test_chat_non_stream(base):
    r = azure(base).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    check(r.choices[0].finish_reason == "stop", r.choices[0].finish_reason)
    check(r.choices[0].message.content, "content")


def test_chat_stream(base):
    stream = azure(base).chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            if c.delta and c.delta.content:
                text += c.delta.content
    check(text, "streamed text")
    check(usage is not None and usage.completion_tokens > 0, "usage chunk")


def test_v1_chat_stream(base):
    stream = v1(base).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    check(len(pieces) > 1, f"{len(pieces)} content chunks")


def test_responses(base):
    r = v1(base).responses.create(model="gpt-4o", input="Say hello.", instructions="Be brief.")
    check(r.status == "completed", r.status)
    check(r.output_text, "output_text")


def test_responses_stream(base):
    text, done = "", False
    with v1(base).responses.stream(model="gpt-4o", input="Say hello.") as stream:
        for ev in stream:
            if ev.type == "response.output_text.delta":
                text += ev.delta
            if ev.type == "response.completed":
                done = True
    check(text and done, (text, done))


def test_models(base):
    ids = [m.id for m in v1(base).models.list()]
    check("gpt-4o" in ids, ids)


def test_embeddings(base):
    # Forwarded untouched (the SDK's base64 vectors decode the same through the proxy).
    r = azure(base).embeddings.create(model="text-embedding-3-small", input=["through the proxy"])
    check(len(r.data) == 1 and len(r.data[0].embedding) == 1536, r.data)
    check(r.usage.prompt_tokens > 0, r.usage)


def test_upstream_rate_limit(base):
    try:
        azure(base).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-sim-fault": "429"}
        )
    except openai.RateLimitError as e:
        h = e.response.headers
        check("retry-after" in h and "retry-after-ms" in h, dict(h))
        return
    raise AssertionError("no RateLimitError")


def test_injected_rate_limit(base):
    for stream in (False, True):
        try:
            azure(base).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=stream)
        except openai.RateLimitError as e:
            h = e.response.headers
            check(h.get("retry-after") == "1" and h.get("retry-after-ms") == "1000", dict(h))
            check("injected by aoai proxy" in str(e), str(e))
            continue
        raise AssertionError("no RateLimitError from the injected 429")


def drain(lines, n):
    out = []
    while len(out) < n:
        out.append(lines.get(timeout=30))
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="aoai-proxy-sdk-")
    rec = os.path.join(tmp, "captured.jsonl")
    proc, base, lines = start_proxy("--record", rec)
    chaos, chaos_base, chaos_lines = start_proxy("--inject", "429:1")
    passed = failed = 0
    plan = [
        (test_chat_non_stream, base, 1),
        (test_chat_stream, base, 1),
        (test_v1_chat_stream, base, 1),
        (test_responses, base, 1),
        (test_responses_stream, base, 1),
        (test_models, base, 1),
        (test_embeddings, base, 1),
        (test_upstream_rate_limit, base, 1),
        (test_injected_rate_limit, chaos_base, 0),
    ]
    try:
        for t, b, _ in plan:
            try:
                t(b)
                passed += 1
                print(f"ok   {t.__name__}")
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}")
                traceback.print_exc()
        try:
            printed = drain(lines, sum(n for _, _, n in plan))
            calls = [json.loads(l) for l in printed]
            check(all(KEY not in l for l in printed), "the key in the proxy's output")
            apis = {c["record"]["wire_api"] for c in calls}
            check(apis == {"chat", "responses"}, apis)
            check(any(c["record"]["status"] == 429 for c in calls), "the 429 line")
            check(all(c["client"]["addr"].startswith("127.0.0.1:") for c in calls), "client addr")
            injected = [json.loads(l) for l in drain(chaos_lines, 2)]
            check(all(c["injected"] == "429" for c in injected), injected)
            with open(rec) as f:
                text = f.read()
            check(KEY not in text, "the key in the recording")
            check(text.count('"proxied"') == 6, f"{text.count(chr(34) + 'proxied' + chr(34))} proxied calls recorded")
            report = subprocess.run(
                [os.environ["AOAI_BIN"], "replay", rec, "--report"], capture_output=True, text=True
            )
            check(report.returncode == 0, report.stderr)
            passed += 1
            print("ok   proxy_output_and_recording")
        except Exception:
            failed += 1
            print("FAIL proxy_output_and_recording")
            traceback.print_exc()
    finally:
        for p in (proc, chaos):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
