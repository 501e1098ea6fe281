"""Every way a user asks a chat model for a reply, as one shape for the fault tests: a function
of a base URL (and adapter options) that returns the text delivered before the call failed, and
the error it failed with. Sync and async, streamed and not, LangChain and LlamaIndex."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llama_index.core.llms import ChatMessage

from vllm_integrations.adapter_settings import ConnectionSettings
from vllm_integrations.langchain import VLLM as LangChainVLLM
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.llama_index import VLLM as LlamaIndexVLLM

HI = [ChatMessage(role="user", content="Hi")]


@dataclass
class Outcome:
    """What a call delivered before it ended, how it ended, and how long it took."""

    received: str
    error: BaseException | None
    seconds: float


Caller = Callable[..., Outcome]
"""``caller(base_url, **adapter_options)``."""


def _timed(model: ConnectionSettings, run: Callable[[list[str]], None]) -> Outcome:
    """``run`` timed from its call (the model and its transport made before: the first use of
    a transport imports its client library, which is not the call's time)."""
    _ = model.transport
    received: list[str] = []
    started = time.monotonic()
    try:
        run(received)
    except Exception as error:
        return Outcome("".join(received), error, time.monotonic() - started)
    return Outcome("".join(received), None, time.monotonic() - started)


def _chat(url: str, options: dict[str, Any]) -> ChatVLLM:
    return ChatVLLM(model="m", base_url=url, **options)


def _llama(url: str, options: dict[str, Any]) -> LlamaIndexVLLM:
    return LlamaIndexVLLM(model="m", base_url=url, **options)


def chat_stream(url: str, **options: Any) -> Outcome:
    model = _chat(url, options)

    def run(received: list[str]) -> None:
        for chunk in model.stream("Hi"):
            received.append(chunk.text)

    return _timed(model, run)


def chat_astream(url: str, **options: Any) -> Outcome:
    model = _chat(url, options)

    async def consume(received: list[str]) -> None:
        async for chunk in model.astream("Hi"):
            received.append(chunk.text)

    return _timed(model, lambda received: asyncio.run(consume(received)))


def chat_invoke(url: str, **options: Any) -> Outcome:
    model = _chat(url, options)
    return _timed(model, lambda received: received.append(model.invoke("Hi").text))


def chat_ainvoke(url: str, **options: Any) -> Outcome:
    model = _chat(url, options)

    async def call(received: list[str]) -> None:
        received.append((await model.ainvoke("Hi")).text)

    return _timed(model, lambda received: asyncio.run(call(received)))


def llama_chat(url: str, **options: Any) -> Outcome:
    model = _llama(url, options)
    return _timed(model, lambda received: received.append(model.chat(HI).message.content or ""))


def llama_achat(url: str, **options: Any) -> Outcome:
    model = _llama(url, options)

    async def call(received: list[str]) -> None:
        received.append((await model.achat(HI)).message.content or "")

    return _timed(model, lambda received: asyncio.run(call(received)))


def llama_stream_chat(url: str, **options: Any) -> Outcome:
    model = _llama(url, options)

    def run(received: list[str]) -> None:
        for response in model.stream_chat(HI):
            received.append(response.delta or "")

    return _timed(model, run)


def llama_astream_chat(url: str, **options: Any) -> Outcome:
    model = _llama(url, options)

    async def consume(received: list[str]) -> None:
        async for response in await model.astream_chat(HI):
            received.append(response.delta or "")

    return _timed(model, lambda received: asyncio.run(consume(received)))


def llm_stream(url: str, **options: Any) -> Outcome:
    """LangChain's completion model (``VLLM``): /v1/completions, or a raw prompt over gRPC."""
    model = LangChainVLLM(model="m", base_url=url, **options)

    def run(received: list[str]) -> None:
        for piece in model.stream("Hi"):
            received.append(piece)

    return _timed(model, run)


def llm_invoke(url: str, **options: Any) -> Outcome:
    model = LangChainVLLM(model="m", base_url=url, **options)
    return _timed(model, lambda received: received.append(model.invoke("Hi")))


STREAMED_CHAT = [chat_stream, chat_astream, llama_stream_chat, llama_astream_chat]
WHOLE_CHAT = [chat_invoke, chat_ainvoke, llama_chat, llama_achat]
