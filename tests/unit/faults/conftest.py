"""The fakes as fixtures: an HTTP server and a gRPC server per test (cheap to start), one
tokenizer for the package, and a cache folder of the package's own for the tokenizers clients
fetch (never the user's; restored when the package is done, for the tests after it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.faults import grpc_fake, http_fake


@pytest.fixture(scope="package", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("cache")
        patch.setenv("VLLM_INTEGRATIONS_CACHE", str(folder))
        for name in ("VLLM_API_KEY", "VLLM_GRPC_READER", "VLLM_GRPC_TIMEOUT", "VLLM_BASE_URL"):
            patch.delenv(name, raising=False)
        yield folder


@pytest.fixture(scope="package")
def tokenizer() -> grpc_fake.Tokenizer:
    """The fake's tokenizer, fetched and loaded once by a client (as the first use of any
    server would), so that the tests time their calls, not transformers' first import."""
    from vllm_integrations.transports import TransportOptions
    from vllm_integrations.transports.grpc.transport import GrpcTransport

    made = grpc_fake.make_tokenizer()
    with grpc_fake.serving(grpc_fake.FakeVllmGrpc(made)) as fake:
        transport = GrpcTransport(fake.base_url, TransportOptions())
        transport.setup()
        transport.close()
    return made


@pytest.fixture
def http() -> Iterator[http_fake.FakeHttpServer]:
    with http_fake.running() as server:
        yield server


@pytest.fixture
def grpc_server(tokenizer: grpc_fake.Tokenizer) -> Iterator[grpc_fake.FakeVllmGrpc]:
    with grpc_fake.serving(grpc_fake.FakeVllmGrpc(tokenizer)) as fake:
        yield fake
