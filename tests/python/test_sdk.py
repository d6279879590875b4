#!/usr/bin/env python3
"""The simulator against the official `openai` Python SDK.

Runs `$AOAI_BIN sim --port 0`, reads the `listening on URL` line, then drives
AzureOpenAI (classic path) and OpenAI (v1 path), streaming and not, and checks a 429
surfaces as openai.RateLimitError with retry-after and retry-after-ms.
Prints `N passed, N failed` and exits non-zero on any failure.
"""
import os
import subprocess
import sys
import threading
import traceback

import openai
from openai import AzureOpenAI, OpenAI

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hello."},
]


def start_sim():
    binary = os.environ.get("AOAI_BIN")
    if not binary:
        sys.exit("AOAI_BIN is not set (path to the aoai binary)")
    proc = subprocess.Popen(
        [binary, "sim", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = [None]

    def read_first():
        line[0] = proc.stdout.readline()

    t = threading.Thread(target=read_first, daemon=True)
    t.start()
    t.join(30)
    first = (line[0] or "").strip()
    prefix = "listening on "
    if not first.startswith(prefix):
        proc.kill()
        sys.exit(f"unexpected first line from `aoai sim`: {first!r}")
    return proc, first[len(prefix):]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def azure(base):
    return AzureOpenAI(azure_endpoint=base, api_key="x", api_version="2024-10-21", max_retries=0, timeout=30)


def v1(base):
    return OpenAI(base_url=base + "/openai/v1/", api_key="x", max_retries=0, timeout=30)


def test_azure_non_stream(base):
    r = azure(base).chat.completions.create(model="gpt-4o", messages=MESSAGES, seed=1)
    check(r.object == "chat.completion", r.object)
    check(r.model == "gpt-4o-2024-11-20", r.model)
    check(r.id.startswith("chatcmpl-") and len(r.id) == 38, r.id)
    check(r.choices[0].finish_reason == "stop", r.choices[0].finish_reason)
    check(len(r.choices[0].message.content) > 0, "content")
    check(r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, "usage")
    check(r.usage.prompt_tokens_details.cached_tokens == 0, "cached")


def test_azure_stream(base):
    stream = azure(base).chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            if c.delta and c.delta.content:
                text += c.delta.content
            if c.finish_reason:
                finish = c.finish_reason
    check(text, "streamed text")
    check(finish == "stop", finish)
    check(usage is not None and usage.completion_tokens > 0, "usage chunk")


def test_v1_non_stream(base):
    r = v1(base).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    check(r.model == "gpt-4o-mini-2024-07-18", r.model)
    check(r.choices[0].message.role == "assistant", "role")


def test_v1_stream(base):
    stream = v1(base).chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    check(len(pieces) > 5, f"{len(pieces)} content chunks")


def test_v1_models(base):
    ids = [m.id for m in v1(base).models.list()]
    check("gpt-4o" in ids, ids)


def test_azure_embeddings(base):
    # The SDK asks for base64 vectors and decodes them; the classic path carries the deployment.
    r = azure(base).embeddings.create(model="text-embedding-3-small", input=["first phrase", "second"])
    check(len(r.data) == 2 and [d.index for d in r.data] == [0, 1], r.data)
    check(all(len(d.embedding) == 1536 for d in r.data), [len(d.embedding) for d in r.data])
    norm = sum(x * x for x in r.data[0].embedding) ** 0.5
    check(abs(norm - 1.0) < 1e-3, norm)
    check(r.usage.prompt_tokens == r.usage.total_tokens > 0, r.usage)
    check(r.model == "text-embedding-3-small", r.model)


def test_v1_embeddings_dimensions(base):
    r = v1(base).embeddings.create(
        model="text-embedding-3-small", input="hello", dimensions=256, encoding_format="float"
    )
    check(len(r.data[0].embedding) == 256, len(r.data[0].embedding))


def test_chat_to_embeddings_deployment_refused(base):
    try:
        azure(base).chat.completions.create(model="text-embedding-3-small", messages=MESSAGES)
    except openai.BadRequestError as e:
        check(e.code == "OperationNotSupported", e.code)
        check("The chatCompletion operation does not work" in str(e), str(e))
        return
    raise AssertionError("no BadRequestError")


def test_rate_limit_error(base):
    try:
        azure(base).chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-sim-fault": "429"}
        )
    except openai.RateLimitError as e:
        h = e.response.headers
        check("retry-after" in h and "retry-after-ms" in h, dict(h))
        secs, ms = int(h["retry-after"]), int(h["retry-after-ms"])
        check(secs == -(-ms // 1000), (secs, ms))
        check(f"Please retry after {secs} seconds." in str(e), str(e))
        return
    raise AssertionError("no RateLimitError")


def test_exhausted_gpt_4o_mini(base):
    client = azure(base)
    for _ in range(5):
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        except openai.RateLimitError as e:
            check("call rate limit" in str(e) or "token rate limit" in str(e), str(e))
            check("retry-after-ms" in e.response.headers, "retry-after-ms")
            return
    raise AssertionError("gpt-4o-mini never throttled")


def test_mid_stream_error_event(base):
    stream = azure(base).chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, extra_headers={"x-sim-fault": "error-event"}
    )
    try:
        for _ in stream:
            pass
    except openai.APIError:
        return
    raise AssertionError("no APIError from the error event")


TESTS = [
    test_azure_non_stream,
    test_azure_stream,
    test_v1_non_stream,
    test_v1_stream,
    test_v1_models,
    test_rate_limit_error,
    test_exhausted_gpt_4o_mini,
    test_mid_stream_error_event,
    test_azure_embeddings,
    test_v1_embeddings_dimensions,
    test_chat_to_embeddings_deployment_refused,
]


def main():
    proc, base = start_sim()
    passed = failed = 0
    try:
        for t in TESTS:
            try:
                t(base)
                passed += 1
                print(f"ok   {t.__name__}")
            except Exception:
                failed += 1
                print(f"FAIL {t.__name__}")
                traceback.print_exc()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
