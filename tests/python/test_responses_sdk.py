#!/usr/bin/env python3
"""The simulator's Responses API against the official `openai` Python SDK.

Runs `$AOAI_BIN sim --port 0` (the default fleet, realistic latency), then drives
`client.responses.create(...)` streaming and not, through OpenAI(base_url=…/openai/v1/) and
AzureOpenAI(api_version="2025-04-01-preview"), plus the SDK's `responses.stream` helper, a
429 as RateLimitError and a `response.failed` inside a 200 stream.
Prints `N passed, N failed` and exits non-zero on any failure.
"""
import os
import subprocess
import sys
import traceback

import openai
from openai import AzureOpenAI, OpenAI

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sdk import check, start_sim  # noqa: E402

PREVIEW = "2025-04-01-preview"


def azure(base):
    return AzureOpenAI(azure_endpoint=base, api_key="x", api_version=PREVIEW, max_retries=0, timeout=30)


def v1(base):
    return OpenAI(base_url=base + "/openai/v1/", api_key="x", max_retries=0, timeout=30)


def usage_adds_up(u):
    check(u.total_tokens == u.input_tokens + u.output_tokens, u)
    check(u.input_tokens_details.cached_tokens == 0, u)


def test_v1_non_stream(base):
    r = v1(base).responses.create(model="gpt-4o", instructions="You are terse.", input="Say hello.")
    check(r.object == "response", r.object)
    check(r.id.startswith("resp_") and len(r.id) == 55, r.id)
    check(r.model == "gpt-4o", r.model)
    check(r.status == "completed", r.status)
    check(r.output[0].type == "message" and r.output[0].role == "assistant", r.output)
    check(len(r.output_text) > 0, "output_text")
    check(r.usage.input_tokens > 0 and r.usage.output_tokens > 0, r.usage)
    check(r.usage.output_tokens_details.reasoning_tokens == 0, r.usage)
    usage_adds_up(r.usage)


def collect(stream):
    events = list(stream)
    seqs = [e.sequence_number for e in events]
    check(seqs == list(range(len(events))), seqs)
    return events


def test_v1_stream(base):
    events = collect(
        v1(base).responses.create(model="gpt-4o", input="Say hello.", max_output_tokens=32, stream=True)
    )
    kinds = [e.type for e in events]
    check(kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ], kinds[:4])
    check(kinds[-1] == "response.incomplete", kinds[-1])
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response
    check(final.output_text == text, (final.output_text, text))
    check(final.incomplete_details.reason == "max_output_tokens", final.incomplete_details)
    check(final.usage.output_tokens == 32, final.usage)
    usage_adds_up(final.usage)


def test_azure_non_stream(base):
    r = azure(base).responses.create(
        model="gpt-4o", input=[{"role": "user", "content": "Say hello."}], max_output_tokens=24
    )
    check(r.status == "incomplete", r.status)
    check(r.incomplete_details.reason == "max_output_tokens", r.incomplete_details)
    check(r.usage.output_tokens == 24, r.usage)
    check(len(r.output_text) > 0, "output_text")


def test_azure_stream_reasoning(base):
    events = collect(
        azure(base).responses.create(
            model="o4-mini",
            input="Why is the sky blue?",
            reasoning={"effort": "low", "summary": "auto"},
            stream=True,
        )
    )
    kinds = [e.type for e in events]
    check("response.reasoning_summary_text.delta" in kinds, kinds)
    check(kinds.index("response.reasoning_summary_text.delta") < kinds.index("response.output_text.delta"), kinds)
    final = events[-1]
    check(final.type == "response.completed", final.type)
    check(final.response.output[0].type == "reasoning", final.response.output[0])
    check(final.response.output[0].summary[0].text.startswith("**"), final.response.output[0])
    check(len(final.response.output_text) > 0, "output_text")
    u = final.response.usage
    check(u.output_tokens_details.reasoning_tokens > 0, u)
    usage_adds_up(u)


def test_stream_helper(base):
    with v1(base).responses.stream(model="gpt-4o-mini", input="Say hello.") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    check(final.output_text == text, (final.output_text, text))
    check(final.status == "completed", final.status)


def test_rate_limit_error(base):
    try:
        azure(base).responses.create(model="gpt-4o", input="hi", extra_headers={"x-sim-fault": "429"})
    except openai.RateLimitError as e:
        h = e.response.headers
        check("retry-after" in h and "retry-after-ms" in h, dict(h))
        return
    raise AssertionError("no RateLimitError")


def test_failed_inside_a_200_stream(base):
    events = list(
        v1(base).responses.create(
            model="gpt-4o", input="hi", stream=True, extra_headers={"x-sim-fault": "error-event"}
        )
    )
    last = events[-1]
    check(last.type == "response.failed", last.type)
    check(last.response.error.code == "server_error", last.response.error)


def test_unknown_deployment(base):
    try:
        v1(base).responses.create(model="nope", input="hi")
    except openai.NotFoundError as e:
        check(e.status_code == 404 and e.code == "DeploymentNotFound", (e.status_code, e.code))
        return
    raise AssertionError("no NotFoundError")


TESTS = [
    test_v1_non_stream,
    test_v1_stream,
    test_azure_non_stream,
    test_azure_stream_reasoning,
    test_stream_helper,
    test_rate_limit_error,
    test_failed_inside_a_200_stream,
    test_unknown_deployment,
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
