"""Greedy results over gRPC equal those over HTTP: text, reasoning, tool calls, finish reason
and token counts, for every scripted conversation the chat model can be asked."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any, cast

import grpc
import pytest
from langchain_core.messages import AIMessage
from smg_grpc_proto import vllm_engine_pb2, vllm_engine_pb2_grpc

from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing import SCRIPTS, SERVED_MODEL_NAME, Script

CASES = [s for s in SCRIPTS if not s.raw_tools and len(s.messages) == 1]


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return "Sunny, 22 °C"


def get_time(city: str) -> str:
    """Get the local time in a city."""
    return "09:00"


def outcome(base_url: str, s: Script) -> dict[str, Any]:
    chat = ChatVLLM(model=SERVED_MODEL_NAME, base_url=base_url, temperature=0, max_tokens=512)
    model = chat.bind_tools([get_weather, get_time]) if s.tools else chat
    options: dict[str, Any] = {} if s.thinking else {"reasoning": False}
    reply = model.invoke(s.messages[0]["content"], **options)
    assert isinstance(reply, AIMessage)
    return {
        "content": reply.content,
        "reasoning": reply.additional_kwargs.get("reasoning_content"),
        "tool_calls": [(c["name"], c["args"]) for c in reply.tool_calls],
        "finish_reason": reply.response_metadata["finish_reason"],
        "usage": reply.usage_metadata,
    }


@pytest.mark.parametrize("s", CASES, ids=lambda s: s.name)
def test_grpc_equals_http(vllm_http_base_url: str, vllm_grpc_base_url: str, s: Script) -> None:
    assert outcome(vllm_grpc_base_url, s) == outcome(vllm_http_base_url, s)


def _running_requests(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = vllm_engine_pb2_grpc.VllmEngineStub(channel)
        loads = stub.GetLoads(vllm_engine_pb2.GetLoadsRequest()).loads
        return sum(load.num_running_reqs for load in loads)


def _wait_for_running(address: str, count: int, seconds: float) -> int:
    """The running-request count once it equals ``count`` or ``seconds`` have passed (the
    server's load statistics trail the engine by a step or so)."""
    deadline = time.monotonic() + seconds
    running = _running_requests(address)
    while running != count and time.monotonic() < deadline:
        time.sleep(0.1)
        running = _running_requests(address)
    return running


def test_leaving_a_stream_early_aborts_it_on_the_server(vllm_grpc_base_url: str) -> None:
    address = vllm_grpc_base_url.removeprefix("grpc://")
    endless = ChatVLLM(
        model=SERVED_MODEL_NAME,
        base_url=vllm_grpc_base_url,
        temperature=0,
        max_tokens=2000,
        ignore_eos=True,  # runs for about ten seconds here unless aborted
    )
    stream = cast(Generator[Any, None, None], endless.stream("Tell me a long story."))
    for _, _chunk in zip(range(3), stream, strict=False):
        pass
    assert _wait_for_running(address, 1, seconds=5) == 1
    stream.close()
    assert _wait_for_running(address, 0, seconds=3) == 0
