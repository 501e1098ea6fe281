"""Two vLLM gRPC workers behind one smg router, one of them stopped mid-run: the requests keep
succeeding on the other, and none is duplicated.

The stack is this module's own: a router over the session's gRPC worker and a spare that the
router starts and stops, so the spare's memory and its minute of loading last only while these
tests run. The load goes through ChatVLLM with its own retries off: what recovers is smg.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from langchain_core.messages import BaseMessage

from vllm_integrations.errors import VLLMError
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.server import LocalGateway, LocalVLLMServer
from vllm_integrations.testing import SERVED_MODEL_NAME, script, tiny_model_server
from vllm_integrations.testing.raw_grpc import wait_for_running
from vllm_integrations.testing.servers import tiny_model_gateway

CAPITAL = script("capital")
CLIENTS = 6
AFTER_STOP_S = 3.0


@pytest.fixture(scope="module")
def stack(
    vllm_grpc_server: LocalVLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LocalGateway, LocalVLLMServer]]:
    """smg routing round robin over the session's worker and a spare it starts."""
    logs = tmp_path_factory.mktemp("failover")
    spare = tiny_model_server(
        "grpc", vllm_grpc_server.model, python=vllm_grpc_server.python, log_path=logs / "spare.log"
    )
    workers = [vllm_grpc_server, spare]
    with tiny_model_gateway(workers, extra_args=["--policy", "round_robin"], log_dir=logs) as gw:
        yield gw, spare
    assert not spare.running  # the router's own worker stops with it; the session's does not
    assert vllm_grpc_server.running


@dataclass(frozen=True)
class Request:
    started: float
    ended: float
    content: str | None  # None: it failed
    reply_id: str | None
    finish_reason: str | None = None
    stream: bool = False
    error: str | None = None


async def _one(chat: ChatVLLM, stream: bool) -> Request:
    started = time.monotonic()
    try:
        prompt = CAPITAL.messages[0]["content"]
        if stream:
            reply: BaseMessage = functools.reduce(
                operator.add, [chunk async for chunk in chat.astream(prompt)]
            )
        else:
            reply = await chat.ainvoke(prompt)
        meta = reply.response_metadata
        ended = time.monotonic()
        return Request(started, ended, reply.text, meta["id"], meta["finish_reason"], stream)
    except VLLMError as error:  # only errors of this package's family are expected
        return Request(started, time.monotonic(), None, None, stream=stream, error=repr(error))


async def _load(chat: ChatVLLM, client: int, finished: asyncio.Event) -> list[Request]:
    """One client's requests, one after another, streamed and not in turn, until finished."""
    done: list[Request] = []
    while not finished.is_set():
        done.append(await _one(chat, stream=(len(done) + client) % 2 == 0))
    return done


def test_both_workers_take_requests(stack: tuple[LocalGateway, LocalVLLMServer]) -> None:
    gateway, spare = stack
    chat = ChatVLLM(
        model=SERVED_MODEL_NAME,
        base_url=gateway.base_url,
        max_tokens=2000,
        ignore_eos=True,  # long enough to be seen running
        max_retries=0,
    )
    first, second = (
        cast(Generator[Any, None, None], chat.stream("Tell me a long story.")) for _ in range(2)
    )
    next(first), next(second)  # round robin: one on each worker
    try:
        assert wait_for_running(spare.base_url, 1, seconds=5) == 1
        assert wait_for_running(gateway.worker_urls[0], 1, seconds=5) == 1
    finally:
        first.close()
        second.close()


async def test_stopping_a_worker_mid_run_loses_no_new_request_and_duplicates_none(
    stack: tuple[LocalGateway, LocalVLLMServer],
) -> None:
    gateway, spare = stack
    chat = ChatVLLM(
        model=SERVED_MODEL_NAME, base_url=gateway.base_url, temperature=0, max_retries=0
    )
    finished = asyncio.Event()
    clients = [asyncio.create_task(_load(chat, client, finished)) for client in range(CLIENTS)]
    await asyncio.sleep(2.0)  # both workers busy
    stopping = time.monotonic()
    await asyncio.to_thread(spare.stop)  # SIGTERM, then whatever is left is killed
    stopped = time.monotonic()
    await asyncio.sleep(AFTER_STOP_S)
    finished.set()
    requests = [request for done in await asyncio.gather(*clients) for request in done]

    after = [r for r in requests if r.started > stopped]
    assert len(after) >= CLIENTS, "too few requests after the stop to show anything"
    assert [r for r in after if not _scripted(r)] == []  # every one succeeds, intact
    # A request running on the worker as it stopped cannot move (a stream half sent, a reply
    # half made): smg ends it with an error event or passes on the worker's finish reason
    # "abort". Only such a request, and never as a reply restarted elsewhere and doubled.
    cut = [r for r in requests if not _scripted(r)]
    assert all(r.content is None or r.finish_reason == "abort" for r in cut), cut
    assert all(r.started < stopped and r.ended > stopping for r in cut), cut
    ids = [r.reply_id for r in requests if r.reply_id is not None]
    assert len(set(ids)) == len(ids)


def _scripted(request: Request) -> bool:
    return request.content == CAPITAL.content and request.finish_reason == "stop"
