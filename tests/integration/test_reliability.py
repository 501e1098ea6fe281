"""Against real vLLM: a server killed mid-reply is a typed error, in time, that keeps the text
that arrived, and the same model object works again once the server is back; hundreds of
concurrent streams each get their exact reply."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterable

import pytest
from langchain_core.messages import BaseMessageChunk

from vllm_integrations.errors import IncompleteResponseError
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.server import LocalVLLMServer
from vllm_integrations.testing import SERVED_MODEL_NAME, script

READ_TIMEOUT = 30.0
CONCURRENT = 256


@pytest.fixture(params=["http", "grpc"])
def server(request: pytest.FixtureRequest) -> LocalVLLMServer:
    found = request.getfixturevalue(f"vllm_{request.param}_server")
    assert isinstance(found, LocalVLLMServer)
    return found


def _read(chunks: Iterable[tuple[int, BaseMessageChunk]], into: list[str]) -> None:
    for _, chunk in chunks:
        into.append(chunk.additional_kwargs.get("reasoning_content", "") + chunk.text)


def _crash(server: LocalVLLMServer) -> None:
    """What a crash looks like to a client: every process of the server killed at once."""
    assert server.pid is not None
    os.killpg(server.pid, signal.SIGKILL)
    server.stop()


def test_a_server_killed_mid_stream_is_an_incomplete_reply_then_the_model_works_again(
    server: LocalVLLMServer,
) -> None:
    chat = ChatVLLM(
        model=SERVED_MODEL_NAME,
        base_url=server.base_url,
        temperature=0,
        max_tokens=2000,
        ignore_eos=True,  # seconds of decoding: the kill lands mid-reply
        timeout=READ_TIMEOUT,
    )
    chunks = chat.stream("Tell me a long story.")
    pieces: list[str] = []
    _read(zip(range(5), chunks, strict=False), pieces)
    assert "".join(pieces)
    _crash(server)
    started = time.monotonic()
    with pytest.raises(IncompleteResponseError) as caught:
        _read(enumerate(chunks), pieces)
    assert time.monotonic() - started < READ_TIMEOUT
    received = "".join(pieces)
    partial = caught.value.partial
    assert partial is not None
    kept = getattr(partial, "reasoning", "") + getattr(partial, "content", "")
    # Everything received, and maybe a little more: text held back for a possible stop string
    # or tag is flushed into the error, never lost.
    assert kept.startswith(received)
    assert len(kept) - len(received) < 32

    server.start()  # the same port: the same URL
    capital = script("capital")
    reply = chat.invoke(capital.messages[0]["content"], ignore_eos=False)  # the scripted reply
    assert reply.content == capital.content


async def test_hundreds_of_concurrent_streams_each_get_their_reply(base_url: str) -> None:
    chat = ChatVLLM(model=SERVED_MODEL_NAME, base_url=base_url, temperature=0, max_tokens=128)
    capital = script("capital")

    async def one() -> tuple[str, str]:
        reasoning, content = [], []
        async for chunk in chat.astream(capital.messages[0]["content"]):
            reasoning.append(chunk.additional_kwargs.get("reasoning_content", ""))
            content.append(chunk.text)
        return "".join(reasoning), "".join(content)

    replies = await asyncio.gather(*(one() for _ in range(CONCURRENT)), return_exceptions=True)
    errors = [r for r in replies if isinstance(r, BaseException)]
    assert errors == []
    assert set(replies) == {(capital.reasoning, capital.content)}
