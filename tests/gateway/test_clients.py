"""OpenAI clients through smg over vLLM's gRPC worker: the openai Python SDK, the openai Node SDK
and curl's raw SSE, each giving the scripted text; and a client that leaves mid-stream frees the
worker. smg names the reasoning field ``reasoning_content`` where vLLM's HTTP server says
``reasoning``."""

from __future__ import annotations

import time
from typing import Any

import openai
import pytest

from tests.gateway.examples import block, run_curl, run_node, sse_events
from vllm_integrations.testing import SERVED_MODEL_NAME, script
from vllm_integrations.testing.raw_grpc import wait_for_running

CAPITAL = script("capital")
STORY = script("long_story_no_thinking")


def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)


def test_python_sdk_chat(vllm_gateway_base_url: str) -> None:
    reply = client(vllm_gateway_base_url).chat.completions.create(
        model=SERVED_MODEL_NAME, messages=CAPITAL.chat_messages(), temperature=0
    )
    message = reply.choices[0].message
    assert message.content == CAPITAL.content
    assert message.model_extra == {"reasoning_content": CAPITAL.reasoning}  # not `reasoning`
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == SERVED_MODEL_NAME


def test_python_sdk_stream_prints_the_text_as_it_arrives(
    vllm_gateway_base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = client(vllm_gateway_base_url).chat.completions.create(
        model=SERVED_MODEL_NAME,
        messages=STORY.chat_messages(),
        temperature=0,
        stream=True,
        extra_body={"chat_template_kwargs": {"enable_thinking": False}},
    )
    arrivals = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
            arrivals.append(time.monotonic())
    assert capsys.readouterr().out == STORY.content
    assert len(arrivals) > 100  # the story's tokens, one event each, not one late block
    assert arrivals[-1] - arrivals[0] > 0.1


def test_node_sdk_with_and_without_streaming(vllm_gateway_base_url: str) -> None:
    printed = run_node(block("js", "new OpenAI("), vllm_gateway_base_url)
    assert printed == f"{CAPITAL.content}\n{CAPITAL.content}\n"


def test_curl_reads_raw_server_sent_events(vllm_gateway_base_url: str) -> None:
    chunks = sse_events(run_curl(block("bash", "curl -N"), vllm_gateway_base_url))
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    deltas = [choice["delta"] for chunk in chunks for choice in chunk["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == CAPITAL.content
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == CAPITAL.reasoning
    assert chunks[-1]["choices"] == []  # stream_options.include_usage: usage comes last
    usage: dict[str, Any] = chunks[-1]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_a_client_leaving_mid_stream_frees_the_worker(
    vllm_gateway_base_url: str, vllm_grpc_base_url: str
) -> None:
    endless: dict[str, Any] = {"ignore_eos": True}  # seconds of decoding unless aborted
    # An attempt proves nothing when the request ends on its own before it is seen running:
    # this machine can stall a process for seconds. Only that precondition is retried.
    for _attempt in range(3):
        stream = client(vllm_gateway_base_url).chat.completions.create(
            model=SERVED_MODEL_NAME,
            messages=STORY.chat_messages(),
            temperature=0,
            max_tokens=2000,
            stream=True,
            extra_body=endless,
        )
        for _, _chunk in zip(range(3), stream, strict=False):
            pass
        seen_running = wait_for_running(vllm_grpc_base_url, 1, seconds=5) == 1
        stream.close()  # the client hangs up; smg must cancel the worker's request
        if seen_running:
            break
    assert seen_running, "the request was never seen running on the worker"
    assert wait_for_running(vllm_grpc_base_url, 0, seconds=5) == 0
