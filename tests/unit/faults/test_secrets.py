"""Secrets stay secret and reach the server the way it checks them: ``api_key`` and
``default_headers`` never appear in repr, str, LangChain dumps or LlamaIndex dicts; over gRPC the
key goes as ``authorization: Bearer`` metadata (as over HTTP), with the headers, on every call
(the fake server reads them). Images over gRPC are refused by name, never silently dropped."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.load import dumpd, dumps
from langchain_core.messages import HumanMessage

from tests.unit.faults import http_fake
from tests.unit.faults.grpc_fake import FakeVllmGrpc
from tests.unit.faults.http_fake import FakeHttpServer, Reply
from vllm_integrations.grpc import VLLMGrpcClient
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.llama_index import VLLM as LlamaIndexVLLM

KEY = "sk-key-9f8e7d"
HEADER = "gw-secret-1a2b3c"
HEADERS = {"x-gateway-key": HEADER}


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/v1", "grpc://127.0.0.1:1"])
def test_secrets_are_never_printed_or_dumped(url: str) -> None:
    chat = ChatVLLM(model="m", base_url=url, api_key=KEY, default_headers=HEADERS)
    llama = LlamaIndexVLLM(model="m", base_url=url, api_key=KEY, default_headers=HEADERS)
    shown = [
        repr(chat),
        str(chat),
        dumps(chat),
        str(dumpd(chat)),
        repr(llama),
        str(llama),
        str(llama.to_dict()),
        llama.to_json(),
        str(llama.model_dump()),
        str(chat.model_dump()),
    ]
    for text in shown:
        assert KEY not in text
        assert HEADER not in text
    # ...and yet they are there for the transport.
    assert chat.plain_headers() == HEADERS
    assert llama.api_key.get_secret_value() == KEY


@pytest.mark.parametrize("reader", ["h2", "grpcio"])
def test_grpc_sends_the_key_as_bearer_metadata(grpc_server: FakeVllmGrpc, reader: str) -> None:
    chat = ChatVLLM(
        model="m",
        base_url=grpc_server.base_url,
        api_key=KEY,
        default_headers={"X-Gateway-Key": HEADER},  # HTTP's habit: sent lowercase, as gRPC wants
        grpc_reader=reader,
    )
    assert chat.invoke("Hi").text == "Hello there!"
    assert list(grpc_server.calls) == ["GetModelInfo", "GetServerInfo", "GetTokenizer", "Generate"]
    for metadata in grpc_server.metadata:  # every call, set-up calls included
        assert metadata["authorization"] == f"Bearer {KEY}"
        assert metadata["x-gateway-key"] == HEADER
    with VLLMGrpcClient(base_url=grpc_server.base_url, api_key=KEY, metadata=HEADERS) as client:
        assert client.health.check()
    assert grpc_server.metadata[-1]["authorization"] == f"Bearer {KEY}"


def test_http_sends_the_key_and_headers(http: FakeHttpServer) -> None:
    http.script("/chat/completions", Reply(body=http_fake.chat_body("ok")))
    chat = ChatVLLM(model="m", base_url=http.base_url, api_key=KEY, default_headers=HEADERS)
    assert chat.invoke("Hi").text == "ok"
    (seen,) = http.seen("/chat/completions")
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["x-gateway-key"] == HEADER


IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


def test_images_over_grpc_are_refused_by_name(grpc_server: FakeVllmGrpc) -> None:
    chat = ChatVLLM(model="m", base_url=grpc_server.base_url)
    message = HumanMessage(content=[{"type": "text", "text": "What is this?"}, IMAGE])
    with pytest.raises(ValueError, match="'image_url' part"):
        chat.invoke([message])
    with pytest.raises(ValueError, match="'image_url' part"):
        list(chat.stream([message]))
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "What?"}, IMAGE]}]
    with (
        VLLMGrpcClient(base_url=grpc_server.base_url) as client,
        pytest.raises(ValueError, match="'image_url' part"),
    ):
        client.chat.completions.create(model="m", messages=messages)
    assert grpc_server.calls["Generate"] == 0  # the model never answered without its image
