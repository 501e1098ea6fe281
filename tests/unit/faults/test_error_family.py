"""Every failure a user can meet is a class of ``vllm_integrations.errors`` (with the server's
message, and what arrived when a stream broke), or, for a client-side mistake, a ``ValueError``
naming the parameter, raised before anything is sent (the fake sees no request), never a
server error. Retries: a 429's Retry-After is honoured; over gRPC ``max_retries`` retries a
call that failed before its first message, never one that began."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from llama_index.core.llms import ChatMessage

from tests.unit.faults import callers, grpc_fake, http_fake
from tests.unit.faults.callers import Caller
from tests.unit.faults.grpc_fake import FakeVllmGrpc
from tests.unit.faults.http_fake import FakeHttpServer, Reply
from vllm_integrations.errors import (
    APIConnectionError,
    APIError,
    IncompleteResponseError,
    InternalServerError,
    RateLimitError,
    VLLMError,
)
from vllm_integrations.grpc import VLLMGrpcClient
from vllm_integrations.langchain import VLLM as LangChainVLLM
from vllm_integrations.langchain import ChatVLLM, VLLMEmbeddings
from vllm_integrations.llama_index import VLLM as LlamaIndexVLLM

# -- broken replies ----------------------------------------------------------------------------


class _Garbage:
    """Stands where a GenerateResponse would: bytes no protobuf parser takes."""

    def SerializeToString(self) -> bytes:
        return b"\xff\xff\xff\xff"


@pytest.mark.parametrize("reader", ["h2", "grpcio"])
@pytest.mark.parametrize("caller", [callers.chat_stream, callers.chat_astream])
def test_corrupt_grpc_message(grpc_server: FakeVllmGrpc, caller: Caller, reader: str) -> None:
    good = grpc_fake.chunk(grpc_server.tokenizer.ids("Hello"))

    def script(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        yield good
        yield _Garbage()

    grpc_server.script = script
    outcome = caller(grpc_server.base_url, grpc_reader=reader)
    assert isinstance(outcome.error, APIError), repr(outcome.error)
    assert outcome.error.partial is not None
    assert getattr(outcome.error.partial, "content", None) == "Hello"
    assert "Hello".startswith(outcome.received)


@pytest.mark.parametrize("caller", callers.STREAMED_CHAT)
def test_malformed_sse_json(http: FakeHttpServer, caller: Caller) -> None:
    events = [http_fake.chat_chunk("Hel"), b'{"choices": [{"delta": {"content": "lo"', b"[DONE]"]
    http.script("/chat/completions", Reply(events=events))
    outcome = caller(http.base_url)
    assert isinstance(outcome.error, APIError), repr(outcome.error)
    assert "JSON" in str(outcome.error)
    assert outcome.error.partial is not None
    assert getattr(outcome.error.partial, "content", None) == "Hel"


@pytest.mark.parametrize("caller", callers.WHOLE_CHAT)
def test_malformed_json_body(http: FakeHttpServer, caller: Caller) -> None:
    http.script("/chat/completions", Reply(body=b'{"choices": [{"message": '))
    outcome = caller(http.base_url)
    assert isinstance(outcome.error, APIError), repr(outcome.error)


@pytest.mark.parametrize("caller", callers.WHOLE_CHAT)
def test_reply_with_empty_choices(http: FakeHttpServer, caller: Caller) -> None:
    http.script("/chat/completions", Reply(body=b'{"id": "c", "model": "m", "choices": []}'))
    outcome = caller(http.base_url)
    assert isinstance(outcome.error, APIError), repr(outcome.error)  # not an IndexError
    assert "no choices" in str(outcome.error)


@pytest.mark.parametrize("caller", callers.STREAMED_CHAT)
def test_stream_with_empty_choices(http: FakeHttpServer, caller: Caller) -> None:
    events = [b'{"id": "c", "model": "m", "choices": []}', b"[DONE]"]
    http.script("/chat/completions", Reply(events=events))
    outcome = caller(http.base_url)
    assert isinstance(outcome.error, IncompleteResponseError), repr(outcome.error)


# -- client-side mistakes, found before anything is sent ---------------------------------------


def _nothing_sent_over_http(http: FakeHttpServer) -> None:
    assert http.seen("/chat/completions") == []
    assert http.seen("/completions") == []


def _nothing_sent_over_grpc(fake: FakeVllmGrpc) -> None:
    assert fake.calls["Generate"] == 0


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"top_k": -5}, "top_k"),
        ({"seed": 2**40}, "seed"),
        ({"max_tokens": -1}, "max_tokens"),
        ({"min_tokens": "many"}, "min_tokens"),
        ({"stop_token_ids": [-3]}, "stop_token_ids"),
    ],
)
@pytest.mark.parametrize("caller", [callers.chat_invoke, callers.chat_astream])
def test_grpc_values_protobuf_refuses_name_the_parameter(
    grpc_server: FakeVllmGrpc, caller: Caller, options: dict[str, Any], named: str
) -> None:
    model = ChatVLLM(model="m", base_url=grpc_server.base_url)
    with pytest.raises(ValueError, match=named):
        model.invoke("Hi", **options)
    with pytest.raises(ValueError, match=named):
        asyncio.run(model.ainvoke("Hi", **options))
    _nothing_sent_over_grpc(grpc_server)


BAD_INPUT = [
    pytest.param({"stop": [""]}, "Hi", "stop", id="empty-stop-string"),
    pytest.param({"stop": ["ok", "\ud800"]}, "Hi", "stop", id="surrogate-in-stop"),
    pytest.param({}, "bad \udc80 text", "lone surrogate", id="surrogate-in-message"),
]


@pytest.mark.parametrize(("options", "prompt", "says"), BAD_INPUT)
def test_bad_input_refused_before_sending_over_http(
    http: FakeHttpServer, options: dict[str, Any], prompt: str, says: str
) -> None:
    chat = ChatVLLM(model="m", base_url=http.base_url)
    with pytest.raises(ValueError, match=says):
        chat.invoke(prompt, **options)
    with pytest.raises(ValueError, match=says):
        list(chat.stream(prompt, **options))
    llama = LlamaIndexVLLM(model="m", base_url=http.base_url, **options)
    with pytest.raises(ValueError, match=says):
        llama.chat([ChatMessage(role="user", content=prompt)])
    with pytest.raises(ValueError, match=says):
        LangChainVLLM(model="m", base_url=http.base_url).invoke(prompt, **options)
    _nothing_sent_over_http(http)


@pytest.mark.parametrize(("options", "prompt", "says"), BAD_INPUT)
def test_bad_input_refused_before_sending_over_grpc(
    grpc_server: FakeVllmGrpc, options: dict[str, Any], prompt: str, says: str
) -> None:
    chat = ChatVLLM(model="m", base_url=grpc_server.base_url)
    with pytest.raises(ValueError, match=says):
        chat.invoke(prompt, **options)
    with pytest.raises(ValueError, match=says):
        list(chat.stream(prompt, **options))
    with (
        VLLMGrpcClient(base_url=grpc_server.base_url) as client,
        pytest.raises(ValueError, match=says),
    ):
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": prompt}], **options
        )
    _nothing_sent_over_grpc(grpc_server)


@pytest.mark.parametrize(
    "headers",
    [{"Bad Key": "v"}, {"grpc-internal": "v"}, {"x-ok": "caf\u00e9"}, {"x-ok": "a\nb"}],
)
def test_invalid_grpc_metadata_refused_when_built(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="default_headers"):
        ChatVLLM(model="m", base_url="grpc://127.0.0.1:1", default_headers=headers)
    with pytest.raises(ValueError, match="default_headers"):
        LlamaIndexVLLM(model="m", base_url="grpc://127.0.0.1:1", default_headers=headers)
    with pytest.raises(ValueError, match="default_headers"):
        VLLMGrpcClient(base_url="grpc://127.0.0.1:1", metadata=headers)


@pytest.mark.parametrize("headers", [{"Bad Key": "v"}, {"x-ok": "a\r\nInjected: 1"}])
def test_invalid_http_headers_refused_when_built(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="default_headers"):
        ChatVLLM(model="m", base_url="http://127.0.0.1:1/v1", default_headers=headers)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1:8000/v1",
        "127.0.0.1:8000",
        "grpc://127.0.0.1",
        "grpcs://vllm.internal",
        "grpc://127.0.0.1:50051/v1",
        "http:///v1",
        "http://127.0.0.1:99999/v1",
    ],
)
def test_bad_base_urls_refused_when_built(url: str) -> None:
    for model in (ChatVLLM, LangChainVLLM, LlamaIndexVLLM, VLLMEmbeddings):
        with pytest.raises(ValueError, match="base_url"):
            model(model="m", base_url=url)
    if url.startswith("grpc"):
        with pytest.raises(ValueError, match="grpc"):
            VLLMGrpcClient(base_url=url)


# -- retries -----------------------------------------------------------------------------------


def test_http_429_retry_after_is_honoured(http: FakeHttpServer) -> None:
    limited = Reply(429, http_fake.error_body("slow down", 429), headers={"retry-after": "1"})
    http.script("/chat/completions", limited, Reply(body=http_fake.chat_body("ok")))
    outcome = callers.chat_invoke(http.base_url, max_retries=1)
    assert outcome.error is None
    assert outcome.received == "ok"
    assert outcome.seconds >= 1.0  # waited as the server asked
    assert len(http.seen("/chat/completions")) == 2


def test_http_429_without_retries_says_when_to_come_back(http: FakeHttpServer) -> None:
    limited = Reply(429, http_fake.error_body("slow down", 429), headers={"retry-after": "7"})
    http.script("/chat/completions", limited)
    outcome = callers.chat_invoke(http.base_url, max_retries=0)
    assert isinstance(outcome.error, RateLimitError)
    assert outcome.error.retry_after == 7.0
    assert "slow down" in str(outcome.error)
    assert len(http.seen("/chat/completions")) == 1


@pytest.mark.parametrize("reader", ["h2", "grpcio"])
@pytest.mark.parametrize("caller", [callers.chat_stream, callers.chat_ainvoke])
def test_grpc_unavailable_before_the_first_message_is_retried(
    grpc_server: FakeVllmGrpc, caller: Caller, reader: str
) -> None:
    grpc_server.unavailable = 2
    outcome = caller(grpc_server.base_url, max_retries=2, grpc_reader=reader)
    assert outcome.error is None
    assert outcome.received == "Hello there!"
    assert grpc_server.calls["Generate"] == 3


@pytest.mark.parametrize("reader", ["h2", "grpcio"])
def test_grpc_max_retries_is_the_limit(grpc_server: FakeVllmGrpc, reader: str) -> None:
    grpc_server.unavailable = 5
    outcome = callers.chat_invoke(grpc_server.base_url, max_retries=1, grpc_reader=reader)
    assert isinstance(outcome.error, APIConnectionError), repr(outcome.error)
    assert "restarting" in str(outcome.error)
    assert grpc_server.calls["Generate"] == 2


@pytest.mark.parametrize("reader", ["h2", "grpcio"])
@pytest.mark.parametrize("caller", [callers.chat_stream, callers.chat_astream])
def test_grpc_never_retried_after_a_message(
    grpc_server: FakeVllmGrpc, caller: Caller, reader: str
) -> None:
    first = grpc_fake.chunk(grpc_server.tokenizer.ids("Hello"))

    def script(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        yield first
        time.sleep(0.1)
        context.abort(grpc.StatusCode.UNAVAILABLE, "the engine died")

    grpc_server.script = script
    outcome = caller(grpc_server.base_url, max_retries=3, grpc_reader=reader)
    assert isinstance(outcome.error, IncompleteResponseError), repr(outcome.error)
    assert "the engine died" in str(outcome.error)
    assert outcome.error.partial is not None
    assert getattr(outcome.error.partial, "content", None) == "Hello"
    assert grpc_server.calls["Generate"] == 1


def test_grpc_status_errors_keep_the_servers_message(grpc_server: FakeVllmGrpc) -> None:
    def script(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        context.abort(grpc.StatusCode.INTERNAL, "CUDA out of memory")
        yield  # pragma: no cover (a generator)

    grpc_server.script = script
    outcome = callers.chat_invoke(grpc_server.base_url, max_retries=0)
    assert isinstance(outcome.error, InternalServerError), repr(outcome.error)
    assert "CUDA out of memory" in str(outcome.error)
    assert isinstance(outcome.error, VLLMError)
