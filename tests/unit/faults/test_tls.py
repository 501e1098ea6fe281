"""``ca_certificates`` (PEM bytes or a file's path) verifies a server signed by a private CA,
over ``https://`` and ``grpcs://`` (both gRPC stream readers); without it the system's roots
refuse the same server, as a connection error that names the certificate."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import trustme

from tests.unit.faults import callers, grpc_fake, http_fake
from tests.unit.faults.callers import Caller
from tests.unit.faults.grpc_fake import FakeVllmGrpc, Tokenizer
from tests.unit.faults.http_fake import FakeHttpServer, Reply
from vllm_integrations.errors import APIConnectionError
from vllm_integrations.langchain import ChatVLLM

HOST = "127.0.0.1"


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(params=["bytes", "path"])
def roots(request: pytest.FixtureRequest, authority: trustme.CA, tmp_path: Path) -> bytes | str:
    pem = authority.cert_pem.bytes()
    if request.param == "bytes":
        return pem
    path = tmp_path / "ca.pem"
    path.write_bytes(pem)
    return str(path)


@pytest.fixture
def https(authority: trustme.CA) -> Iterator[FakeHttpServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(HOST).configure_cert(context)
    with http_fake.running(tls=context) as server:
        reply = Reply(body=http_fake.chat_body("ok"), events=http_fake.chat_stream("o", "k"))
        server.script("/chat/completions", reply)
        yield server


@pytest.fixture
def grpcs(authority: trustme.CA, tokenizer: Tokenizer) -> Iterator[FakeVllmGrpc]:
    cert = authority.issue_cert(HOST)
    credentials = grpc.ssl_server_credentials(
        [(cert.private_key_pem.bytes(), cert.cert_chain_pems[0].bytes())]
    )
    with grpc_fake.serving(grpc_fake.FakeVllmGrpc(tokenizer), credentials) as fake:
        yield fake


CALLERS = [callers.chat_invoke, callers.chat_astream, callers.llama_chat]


@pytest.mark.parametrize("caller", CALLERS)
def test_https_with_a_private_ca(https: FakeHttpServer, roots: bytes | str, caller: Caller) -> None:
    assert https.base_url.startswith("https://")
    outcome = caller(https.base_url, ca_certificates=roots)
    assert outcome.error is None, outcome.error
    assert outcome.received == "ok"


@pytest.mark.parametrize("caller", CALLERS)
def test_https_refused_by_the_system_roots(https: FakeHttpServer, caller: Caller) -> None:
    outcome = caller(https.base_url, max_retries=0)
    assert isinstance(outcome.error, APIConnectionError), repr(outcome.error)
    assert "certificate" in str(outcome.error).lower()
    assert https.seen("/chat/completions") == []


@pytest.mark.parametrize("reader", ["h2", "grpcio"])
@pytest.mark.parametrize("caller", CALLERS)
def test_grpcs_with_a_private_ca(
    grpcs: FakeVllmGrpc, roots: bytes | str, caller: Caller, reader: str
) -> None:
    url = f"grpcs://{HOST}:{grpcs.port}"
    outcome = caller(url, ca_certificates=roots, grpc_reader=reader)
    assert outcome.error is None, outcome.error
    assert outcome.received == "Hello there!"


@pytest.mark.parametrize("caller", [callers.chat_invoke, callers.chat_ainvoke])
def test_grpcs_refused_by_the_system_roots(grpcs: FakeVllmGrpc, caller: Caller) -> None:
    outcome = caller(f"grpcs://{HOST}:{grpcs.port}", max_retries=0, timeout=5)
    assert isinstance(outcome.error, APIConnectionError), repr(outcome.error)
    assert "certificate" in str(outcome.error).lower()
    assert grpcs.calls == {}
    assert outcome.seconds < 5


def test_a_bad_ca_path_is_refused_when_built(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ca_certificates"):
        ChatVLLM(model="m", base_url=f"https://{HOST}:1/v1", ca_certificates=tmp_path / "no.pem")
