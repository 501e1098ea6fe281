"""The chat page's app on a scripted transport: the events a reply becomes, what a request
asks of ChatVLLM, errors before and during a reply, and what the page may see. The same app
against real vLLM servers, in a real browser: tests/browser/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.unit.fake_transport import INFO, FakeTransport, Step
from vllm_integrations import ui
from vllm_integrations.errors import APIConnectionError, BadRequestError
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.types import ChatDelta, ChatRequest, Usage
from vllm_integrations.ui import create_app

SECRET = "sk-page-never-sees-this"
SERVER = "http://vllm.internal.invalid:8000/v1"
REPLY: list[Step] = [
    ChatDelta(reasoning="Paris is ", info=INFO),
    ChatDelta(reasoning="the capital.", info=INFO),
    ChatDelta(content="It is ", info=INFO),
    ChatDelta(content="Paris.", info=INFO),
    ChatDelta(finish_reason="stop", info=INFO),
    ChatDelta(usage=Usage(prompt_tokens=12, completion_tokens=9, total_tokens=21), info=INFO),
]
STATIC = Path(ui.__file__).parent / "static"
QUESTION = {"messages": [{"role": "user", "content": "Capital of France?"}]}


def page_chat(steps: Sequence[Step]) -> tuple[ChatVLLM, FakeTransport]:
    transport = FakeTransport(steps, base_url=SERVER)
    chat = ChatVLLM(base_url=SERVER, api_key=SECRET).use_transport(transport)
    return chat, transport


@asynccontextmanager
async def page_client(chat: ChatVLLM) -> AsyncIterator[httpx.AsyncClient]:
    app = httpx.ASGITransport(create_app(chat))
    async with httpx.AsyncClient(transport=app, base_url="http://page") as client:
        yield client


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with page_client(page_chat(REPLY)[0]) as client:
        yield client


async def events(client: httpx.AsyncClient, body: dict[str, Any]) -> list[tuple[str, Any]]:
    async with aconnect_sse(client, "POST", "/chat", json=body) as source:
        assert source.response.status_code == 200
        return [(event.event, event.json()) async for event in source.aiter_sse()]


async def test_a_reply_streams_as_named_events_ending_with_done() -> None:
    chat, _ = page_chat(REPLY)
    async with page_client(chat) as client:
        got = await events(client, QUESTION)
    names = [name for name, _ in got]
    assert names == ["reasoning", "reasoning", "content", "content", "usage", "done"]
    assert "".join(data["text"] for name, data in got if name == "reasoning") == (
        "Paris is the capital."
    )
    assert "".join(data["text"] for name, data in got if name == "content") == "It is Paris."
    assert got[4][1] == {"input_tokens": 12, "output_tokens": 9, "total_tokens": 21}
    done = got[-1][1]
    assert done["finish_reason"] == "stop"
    assert 0 <= done["time_to_first_token"] <= done["elapsed"]


async def test_the_page_settings_and_the_history_reach_the_request() -> None:
    chat, transport = page_chat(REPLY)
    body = {
        "messages": [
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris.", "reasoning": "Easy."},
            {"role": "user", "content": "And of Italy?"},
        ],
        "temperature": 1.25,
        "max_tokens": 7,
        "thinking": False,
        "model": "picked-in-the-page",
    }
    async with page_client(chat) as client:
        await events(client, body)
    (request,) = transport.requests
    assert isinstance(request, ChatRequest)
    assert request.model == "picked-in-the-page"
    assert request.sampling == {"temperature": 1.25, "max_tokens": 7}
    assert request.chat_template_kwargs == {"enable_thinking": False}
    assert request.messages == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris.", "reasoning": "Easy."},
        {"role": "user", "content": "And of Italy?"},
    ]


async def test_an_error_mid_stream_follows_what_arrived() -> None:
    chat, _ = page_chat([*REPLY[:3], APIConnectionError("the connection broke", address=SERVER)])
    async with page_client(chat) as client:
        got = await events(client, QUESTION)
    assert [name for name, _ in got] == ["reasoning", "reasoning", "content", "error", "done"]
    error = got[3][1]
    assert error == {"message": "the connection broke", "kind": "APIConnectionError"}
    assert got[-1][1]["finish_reason"] is None


async def test_a_server_error_carries_its_message_and_status_not_the_address() -> None:
    refusal = BadRequestError("max_tokens is too large", address=SERVER)
    chat, _ = page_chat([refusal])
    async with page_client(chat) as client:
        got = await events(client, QUESTION)
    assert got[0] == (
        "error",
        {"message": "max_tokens is too large", "kind": "BadRequestError", "status": 400},
    )
    assert got[1][0] == "done"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "the last message"),
        ({**QUESTION, "temperature": 2.5}, "temperature"),
        ({**QUESTION, "max_tokens": 0}, "max_tokens"),
        ({**QUESTION, "top_k": 5}, "top_k"),
        ({"messages": [{"role": "system", "content": "hi"}]}, "role"),
    ],
)
async def test_a_bad_request_is_refused_with_what_is_wrong(
    client: httpx.AsyncClient, body: dict[str, Any], problem: str
) -> None:
    response = await client.post("/chat", json=body)
    assert response.status_code == 422
    assert problem in response.json()["error"]


async def test_the_models_come_from_the_server(client: httpx.AsyncClient) -> None:
    response = await client.get("/models")
    assert response.json() == {"models": ["fake"], "default": "fake"}


async def test_an_unreachable_server_is_a_502_with_its_message() -> None:
    class Unreachable(FakeTransport):
        async def alist_models(self) -> Any:
            raise APIConnectionError("connection refused", address=SERVER)

    chat = ChatVLLM(base_url=SERVER).use_transport(Unreachable(base_url=SERVER))
    async with page_client(chat) as client:
        response = await client.get("/models")
    assert response.status_code == 502
    assert response.json() == {"error": "connection refused"}


async def test_the_page_is_served_with_a_policy_that_runs_only_its_own_files(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert (await client.get(f"/{asset}")).status_code == 200, asset


async def test_nothing_served_names_the_key_or_the_server(client: httpx.AsyncClient) -> None:
    served = [f"/static/{p.relative_to(STATIC).as_posix()}" for p in STATIC.rglob("*.*")]
    paths = ["/", "/models", *served]
    for path in paths:
        body = (await client.get(path)).text
        assert SECRET not in body, path
        assert "vllm.internal.invalid" not in body, path


def test_the_page_fetches_nothing_from_outside() -> None:
    """No CDN and no remote font, image or script: every reference is relative."""
    files = [p for p in STATIC.rglob("*") if p.suffix in (".html", ".js", ".css")]
    assert len(files) == 5  # the page, its script and style, the vendored SSE parser
    for file in files:
        text = file.read_text("utf-8")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE), file
    script = (STATIC / "chat.js").read_text("utf-8")
    assert "innerHTML" not in script
    assert "insertAdjacentHTML" not in script
