"""The embedding and reranking pieces that need no server: the base64 vectors, bounded
concurrency in order, what is refused when an adapter is built, and that nothing to embed sends
nothing. (Everything a server shows is in tests/integration/embeddings/.)"""

from __future__ import annotations

import asyncio
import base64
import struct
import threading
import time

import pytest
from pydantic import ValidationError

from vllm_integrations.langchain import VLLMEmbeddings
from vllm_integrations.langchain import VLLMRerank as LangChainRerank
from vllm_integrations.llama_index import VLLMEmbedding
from vllm_integrations.llama_index import VLLMRerank as LlamaIndexRerank
from vllm_integrations.transports.concurrency import amap_bounded, map_bounded
from vllm_integrations.transports.http.embeddings import decode_vector, embedding_vectors
from vllm_integrations.types import EmbeddingRequest

NOWHERE = ["http://127.0.0.1:9/v1", "grpc://127.0.0.1:9"]  # nothing listens on port 9


def test_base64_vectors_are_little_endian_float32() -> None:
    values = [0.5, -1.25, 2.0**-20, 123456.0]  # exact in float32
    encoded = base64.b64encode(struct.pack("<4f", *values)).decode()
    assert decode_vector(encoded) == values


def test_vectors_come_back_in_the_texts_order() -> None:
    data = {
        "data": [
            {"index": 1, "embedding": [2.0]},
            {"index": 0, "embedding": base64.b64encode(struct.pack("<f", 1.0)).decode()},
        ]
    }
    assert embedding_vectors(data, ["a", "b"]) == [[1.0], [2.0]]


def test_bounded_map_keeps_order_and_bound() -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def call(item: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.001 * (item % 3))
        with lock:
            running -= 1
        return item * 2

    assert map_bounded(call, list(range(30)), 4) == [i * 2 for i in range(30)]
    assert 1 < peak <= 4


async def test_async_bounded_map_keeps_order_and_bound() -> None:
    running, peak = 0, 0

    async def call(item: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (item % 3))
        running -= 1
        return item * 2

    assert await amap_bounded(call, list(range(30)), 4) == [i * 2 for i in range(30)]
    assert peak == 4


async def test_the_first_failure_is_raised_as_it_is_and_the_rest_never_start() -> None:
    started: list[int] = []

    async def call(item: int) -> int:
        started.append(item)
        await asyncio.sleep(0)
        if item == 2:
            raise KeyError(item)
        return item

    with pytest.raises(KeyError):
        await amap_bounded(call, list(range(100)), 3)
    assert len(started) < 10

    def sync_call(item: int) -> int:
        return asyncio.run(call(item))

    started.clear()
    with pytest.raises(KeyError):
        map_bounded(sync_call, list(range(100)), 3)
    assert len(started) < 100


@pytest.mark.parametrize("url", NOWHERE)
async def test_nothing_to_embed_sends_nothing(url: str) -> None:
    embeddings = VLLMEmbeddings(base_url=url)
    assert embeddings.embed_documents([]) == []
    assert await embeddings.aembed_documents([]) == []
    assert VLLMEmbedding(base_url=url).get_text_embedding_batch([]) == []


async def test_nothing_to_rerank_sends_nothing() -> None:
    reranker = LangChainRerank(base_url=NOWHERE[0])
    assert reranker.compress_documents([], "query") == []
    assert await reranker.acompress_documents([], "query") == []
    assert LlamaIndexRerank(base_url=NOWHERE[0]).postprocess_nodes([], query_str="query") == []


@pytest.mark.parametrize("cls", [VLLMEmbeddings, VLLMEmbedding, LangChainRerank, LlamaIndexRerank])
def test_unknown_arguments_are_errors(cls: type) -> None:
    with pytest.raises(ValidationError, match="batchsize"):
        cls(base_url=NOWHERE[0], batchsize=3)


@pytest.mark.parametrize("cls", [VLLMEmbeddings, VLLMEmbedding])
@pytest.mark.parametrize("option", [{"dimensions": 64}, {"normalize": False}])
def test_grpc_refuses_pooling_options_when_built(cls: type, option: dict[str, object]) -> None:
    cls(base_url=NOWHERE[0], **option)  # HTTP carries them
    cls(base_url=NOWHERE[1], normalize=True)  # the gRPC server's default
    with pytest.raises(ValidationError, match="Embed call takes no pooling parameters"):
        cls(base_url=NOWHERE[1], **option)


@pytest.mark.parametrize("cls", [LangChainRerank, LlamaIndexRerank])
def test_grpc_rerankers_are_refused_when_built(cls: type) -> None:
    with pytest.raises(ValidationError, match="gRPC API has no rerank call"):
        cls(base_url=NOWHERE[1])


def test_a_request_carries_every_option() -> None:
    embeddings = VLLMEmbeddings(
        base_url=NOWHERE[0],
        dimensions=32,
        normalize=False,
        truncate_prompt_tokens=-1,
        batch_size=5,
        max_concurrency=2,
    )
    request = embeddings.embedding_request(["a"], "m", embeddings.batch_size)
    assert request == EmbeddingRequest(
        model="m",
        texts=["a"],
        dimensions=32,
        normalize=False,
        truncate_prompt_tokens=-1,
        batch_size=5,
        max_concurrency=2,
    )


def test_a_lone_surrogate_is_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        VLLMEmbeddings(base_url=NOWHERE[0], model="m").embed_documents(["ok", "bad \ud800"])
