"""A reply that ends before the server finished it (no finish reason) is an
``IncompleteResponseError`` carrying everything that arrived, never a complete-looking reply:
over HTTP (an SSE stream without ``[DONE]`` or finish reason, a body whose finish_reason is
null) and over gRPC (an OK status with no ``complete``, with text held back for a possible stop
string flushed into the error), on every adapter and the gRPC client, streamed and not."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any

import pytest

from tests.unit.faults import callers, grpc_fake, http_fake
from tests.unit.faults.callers import Caller, Outcome
from tests.unit.faults.grpc_fake import FakeVllmGrpc
from tests.unit.faults.http_fake import FakeHttpServer, Reply
from vllm_integrations.errors import IncompleteResponseError
from vllm_integrations.grpc import AsyncVLLMGrpcClient, VLLMGrpcClient

PIECES = ("Hel", "lo, ", "wor", "ld")
SENT = "".join(PIECES)
FAST = 2.0  # seconds: a reply cut short is known at once, never after a timeout


def assert_cut_short(outcome: Outcome, sent: str) -> IncompleteResponseError:
    """The call failed at once with what arrived on the error: nothing lost, nothing twice."""
    assert isinstance(outcome.error, IncompleteResponseError), outcome.error
    assert outcome.seconds < FAST
    partial = outcome.error.partial
    assert partial is not None
    assert partial.finish_reason is None
    text = partial.content if hasattr(partial, "content") else partial.text
    assert text == sent
    assert sent.startswith(outcome.received)  # what was delivered, in order, once
    return outcome.error


# -- HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("done", [False, True], ids=["no-DONE", "DONE-without-finish"])
@pytest.mark.parametrize("caller", callers.STREAMED_CHAT)
def test_http_stream_ending_without_finish_reason(
    http: FakeHttpServer, caller: Caller, done: bool
) -> None:
    http.script(
        "/chat/completions", Reply(events=http_fake.chat_stream(*PIECES, finish=None, done=done))
    )
    outcome = caller(http.base_url)
    assert_cut_short(outcome, SENT)
    assert outcome.received == SENT  # every delta before the end was delivered too
    assert len(http.seen("/chat/completions")) == 1  # a cut-short reply is not retried


@pytest.mark.parametrize("caller", callers.WHOLE_CHAT)
def test_http_body_with_null_finish_reason(http: FakeHttpServer, caller: Caller) -> None:
    http.script("/chat/completions", Reply(body=http_fake.chat_body(SENT, finish=None)))
    outcome = caller(http.base_url)
    assert_cut_short(outcome, SENT)
    assert outcome.received == ""
    assert len(http.seen("/chat/completions")) == 1


def test_http_stream_keeps_reasoning_that_arrived(http: FakeHttpServer) -> None:
    events = [http_fake.chat_chunk(reasoning="Think"), http_fake.chat_chunk(reasoning="ing.")]
    events += [http_fake.chat_chunk("Hel")]
    http.script("/chat/completions", Reply(events=events))
    error = assert_cut_short(callers.chat_stream(http.base_url), "Hel")
    assert error.partial is not None
    assert getattr(error.partial, "reasoning", None) == "Thinking."


def test_http_completion_model_stream_and_invoke(http: FakeHttpServer) -> None:
    events = [http_fake.completion_chunk(piece) for piece in PIECES]
    http.script("/completions", Reply(events=events))
    outcome = callers.llm_stream(http.base_url)
    assert_cut_short(outcome, SENT)
    assert outcome.received == SENT
    http.script("/completions", Reply(body=http_fake.completion_body(SENT, finish=None)))
    assert_cut_short(callers.llm_invoke(http.base_url), SENT)


def test_http_complete_stream_is_not_an_error(http: FakeHttpServer) -> None:
    """The control: the same pieces with a finish reason and [DONE] are a reply."""
    http.script("/chat/completions", Reply(events=http_fake.chat_stream(*PIECES)))
    outcome = callers.chat_stream(http.base_url)
    assert outcome.error is None
    assert outcome.received == SENT


# -- gRPC -----------------------------------------------------------------------------------
# "Hello E" with stop=["END"]: the "E" may begin the stop string, so the decoder holds it back
# until it knows; a stream that ends there must still hand it over, on the error.

HELD = "Hello E"


def _cut_after_held(fake: FakeVllmGrpc) -> None:
    fake.script = grpc_fake.say(fake.tokenizer, HELD, finish=None)


@pytest.mark.parametrize("caller", callers.STREAMED_CHAT)
@pytest.mark.parametrize("reader", ["h2", "grpcio"])
def test_grpc_stream_ending_ok_without_complete(
    grpc_server: FakeVllmGrpc, caller: Caller, reader: str
) -> None:
    _cut_after_held(grpc_server)
    outcome = caller(grpc_server.base_url, stop=["END"], grpc_reader=reader)
    assert_cut_short(outcome, HELD)
    assert outcome.received == "Hello "  # the "E" was held back from the stream...
    assert grpc_server.calls["Generate"] == 1  # ...and handed over on the error, not retried


@pytest.mark.parametrize("caller", callers.WHOLE_CHAT)
def test_grpc_whole_reply_ending_ok_without_complete(
    grpc_server: FakeVllmGrpc, caller: Caller
) -> None:
    _cut_after_held(grpc_server)
    outcome = caller(grpc_server.base_url, stop=["END"])
    error = outcome.error
    assert isinstance(error, IncompleteResponseError), error
    assert outcome.seconds < FAST
    # vLLM sends a whole reply in its `complete` only: nothing arrived before the end.
    assert error.replies == []
    assert error.partial is None


def test_grpc_completion_model_stream(grpc_server: FakeVllmGrpc) -> None:
    _cut_after_held(grpc_server)
    outcome = callers.llm_stream(grpc_server.base_url, stop=["END"])
    assert_cut_short(outcome, HELD)
    assert outcome.received == "Hello "


def _texts(chunks: Iterable[Any], received: list[str]) -> None:
    for chunk in chunks:
        received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")


async def _atexts(chunks: AsyncIterable[Any], received: list[str]) -> None:
    async for chunk in chunks:
        received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")


def test_grpc_client_stream_and_whole(grpc_server: FakeVllmGrpc) -> None:
    _cut_after_held(grpc_server)
    messages: Any = [{"role": "user", "content": "Hi"}]
    with VLLMGrpcClient(base_url=grpc_server.base_url) as client:
        received: list[str] = []
        stream = client.chat.completions.create(
            model="m", messages=messages, stop=["END"], stream=True
        )
        with pytest.raises(IncompleteResponseError) as caught:
            _texts(stream, received)
        assert "".join(received) == "Hello "
        assert caught.value.partial is not None
        assert getattr(caught.value.partial, "content", None) == HELD
        with pytest.raises(IncompleteResponseError):
            client.chat.completions.create(model="m", messages=messages, stop=["END"])
        with pytest.raises(IncompleteResponseError) as caught:
            list(client.completions.create(model="m", prompt="Hi", stop=["END"], stream=True))
        assert caught.value.partial is not None
        assert getattr(caught.value.partial, "text", None) == HELD


async def test_grpc_async_client_stream(grpc_server: FakeVllmGrpc) -> None:
    _cut_after_held(grpc_server)
    messages: Any = [{"role": "user", "content": "Hi"}]
    async with AsyncVLLMGrpcClient(base_url=grpc_server.base_url) as client:
        received: list[str] = []
        stream = await client.chat.completions.create(
            model="m", messages=messages, stop=["END"], stream=True
        )
        with pytest.raises(IncompleteResponseError) as caught:
            await _atexts(stream, received)
        assert "".join(received) == "Hello "
        assert caught.value.partial is not None
        assert getattr(caught.value.partial, "content", None) == HELD


def test_grpc_complete_stream_is_not_an_error(grpc_server: FakeVllmGrpc) -> None:
    grpc_server.script = grpc_fake.say(grpc_server.tokenizer, HELD + "ND and more", finish="stop")
    outcome = callers.chat_stream(grpc_server.base_url, stop=["END"])
    assert outcome.error is None
    assert outcome.received == "Hello "  # trimmed at the stop string, as vLLM trims it
