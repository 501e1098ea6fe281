"""Errors from the real server map to the package's exception family, with its own message."""

from __future__ import annotations

import socket

import pytest

from vllm_integrations.errors import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    NotFoundError,
)
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing import SERVED_MODEL_NAME


def test_bad_regex_is_a_bad_request(chat: ChatVLLM) -> None:
    with pytest.raises(BadRequestError) as caught:
        chat.with_structured_output("[unclosed", method="regex").invoke("Hi")
    assert caught.value.status_code == 400
    assert caught.value.message  # the server's words, not a generic text


def test_prompt_over_the_context_length(chat: ChatVLLM) -> None:
    with pytest.raises(BadRequestError, match=r"maximum context length|maximum model length"):
        chat.invoke("word " * 5000)


def test_unknown_model_is_not_found(base_url: str) -> None:
    chat = ChatVLLM(model="no-such-model", base_url=base_url, max_retries=0)
    with pytest.raises(NotFoundError, match="no-such-model"):
        chat.invoke("Hi")


def test_timeout(base_url: str) -> None:
    chat = ChatVLLM(model=SERVED_MODEL_NAME, base_url=base_url, timeout=0.01, max_retries=0)
    with pytest.raises(APITimeoutError):
        chat.invoke("Tell me a long story.", reasoning=False)


@pytest.mark.parametrize("scheme", ["http", "grpc"])
def test_connection_refused(scheme: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    suffix = "/v1" if scheme == "http" else ""
    chat = ChatVLLM(model="m", base_url=f"{scheme}://127.0.0.1:{port}{suffix}", max_retries=0)
    with pytest.raises(APIConnectionError, match=str(port)):
        chat.invoke("Hi")


def test_bad_schema_is_a_bad_request(chat: ChatVLLM) -> None:
    broken = {"type": "object", "properties": {"a": {"type": "no-such-type"}}}
    with pytest.raises(BadRequestError):
        chat.with_structured_output(broken).invoke("Hi")
