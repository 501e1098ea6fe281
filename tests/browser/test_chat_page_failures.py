"""Failures a real server cannot be made to show on cue, in a real browser: no vLLM at the
address, and a connection that breaks mid-reply (a scripted transport)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import ChatPage, text
from tests.unit.fake_transport import INFO, FakeTransport, Step
from vllm_integrations.errors import APIConnectionError
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.server.processes import free_port
from vllm_integrations.types import ChatDelta
from vllm_integrations.ui import ChatPageServer


@pytest.fixture(params=["http", "grpc"])
def nowhere(request: pytest.FixtureRequest) -> Iterator[str]:
    """A chat page for a vLLM address where nothing listens."""
    suffix = "/v1" if request.param == "http" else ""
    port = free_port("127.0.0.1")
    chat = ChatVLLM(base_url=f"{request.param}://127.0.0.1:{port}{suffix}", max_retries=0)
    with ChatPageServer(chat) as server:
        yield server.url


def test_a_server_that_is_down_is_shown_and_the_page_stays_usable(page: Page, nowhere: str) -> None:
    chat = ChatPage(page, nowhere)
    expect(chat.status).to_contain_text("Could not list the models")
    reply = chat.send("Hello?")
    expect(reply.locator(".error")).not_to_be_empty()
    expect(chat.send_button).to_be_enabled()
    expect(chat.prompt).to_have_value("Hello?")


def test_an_error_mid_reply_is_shown_after_what_arrived(page: Page) -> None:
    steps: list[Step] = [
        ChatDelta(reasoning="Thinking it over.", info=INFO),
        ChatDelta(content="The first half", info=INFO),
        APIConnectionError("the connection to vLLM broke"),
    ]
    chat = ChatVLLM(base_url="http://fake.invalid/v1").use_transport(FakeTransport(steps))
    with ChatPageServer(chat) as server:
        page_chat = ChatPage(page, server.url)
        reply = page_chat.send("Tell me everything.")
        expect(reply.locator(".error")).to_have_text("the connection to vLLM broke")
        assert text(reply.locator(".answer")) == "The first half"
        assert text(reply.locator(".reasoning")) == "Thinking it over."
        expect(page_chat.send_button).to_be_enabled()
