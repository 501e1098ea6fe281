"""``close()`` / ``aclose()`` and ``with`` / ``async with`` on the adapters release every
connection the model opened (the fake server's port sees none left), sync and async, over
both transports; a closed model opens new connections when used again."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.unit.faults import http_fake, net
from tests.unit.faults.grpc_fake import FakeVllmGrpc
from tests.unit.faults.http_fake import FakeHttpServer, Reply
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.llama_index import VLLM as LlamaIndexVLLM


def settled(port: int, expected: int = 0, limit: float = 3.0) -> int:
    """The sockets to ``port``, once they reach ``expected`` (closing may finish a moment later
    in grpcio's own threads) or the limit passes."""
    end = time.monotonic() + limit
    while (count := net.sockets_to(port)) != expected and time.monotonic() < end:
        time.sleep(0.05)
    return count


@pytest.fixture
def where(
    request: pytest.FixtureRequest, http: FakeHttpServer, grpc_server: FakeVllmGrpc
) -> tuple[str, int]:
    if request.param == "http":
        reply = Reply(body=http_fake.chat_body("Hello there!"), events=http_fake.chat_stream("Hi"))
        http.script("/chat/completions", reply)
        return http.base_url, http.server_port
    return grpc_server.base_url, grpc_server.port


@pytest.mark.parametrize("where", ["http", "grpc"], indirect=True)
def test_with_block_closes_sync_connections(where: tuple[str, int]) -> None:
    url, port = where
    with ChatVLLM(model="m", base_url=url) as chat:
        list(chat.stream("Hi"))
        chat.invoke("Hi")  # last: over HTTP a whole reply leaves its connection pooled
        assert net.sockets_to(port) >= 1
    assert settled(port) == 0
    chat.invoke("Hi")  # usable again: new connections
    chat.close()
    assert settled(port) == 0


@pytest.mark.parametrize("where", ["http", "grpc"], indirect=True)
def test_async_with_block_closes_async_connections(where: tuple[str, int]) -> None:
    url, port = where

    async def use() -> None:
        async with LlamaIndexVLLM(model="m", base_url=url) as llm:
            async for _ in await llm.astream_complete("Hi"):
                pass
            await llm.acomplete("Hi")
            assert net.sockets_to(port) >= 1

    asyncio.run(use())
    assert settled(port) == 0
