"""VLLMEmbeddings against a real vLLM serving all-MiniLM-L6-v2: the vectors are vLLM's own (the
openai SDK's against the same HTTP server, and gRPC's equal to HTTP's), in order across
batches, and every bad input gets the package's error."""

from __future__ import annotations

import math

import openai
import pytest
from pydantic import ValidationError

from vllm_integrations.errors import BadRequestError, NotFoundError
from vllm_integrations.langchain import VLLMEmbeddings
from vllm_integrations.testing import EMBEDDING_MODEL_NAME
from vllm_integrations.testing.embedding import EMBEDDING_CONTEXT, EMBEDDING_DIMENSIONS

TEXTS = [
    "The Eiffel Tower in Paris is 330 metres tall.",
    "Mount Fuji, the highest mountain in Japan, rises 3,776 metres above the sea.",
    "Ünïcödé, 日本語 and emoji 🍣 are text too.",
    "",
]
LONG = "word " * (EMBEDDING_CONTEXT + 50)


def sdk_vectors(url: str, texts: list[str], **extra_body: object) -> list[list[float]]:
    """The openai SDK's embeddings from the same server: the oracle."""
    with openai.OpenAI(base_url=url, api_key="EMPTY") as client:
        reply = client.embeddings.create(
            model=EMBEDDING_MODEL_NAME, input=texts, extra_body=extra_body or None
        )
    return [item.embedding for item in reply.data]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def assert_same_vectors(ours: list[list[float]], expected: list[list[float]]) -> None:
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, expected, strict=True):
        assert cosine(mine, theirs) >= 0.9999


def test_http_vectors_equal_the_openai_sdks(vllm_embed_http_base_url: str) -> None:
    embeddings = VLLMEmbeddings(base_url=vllm_embed_http_base_url)  # the model read from /models
    expected = sdk_vectors(vllm_embed_http_base_url, TEXTS)
    assert embeddings.embed_documents(TEXTS) == expected
    assert embeddings.embed_query(TEXTS[1]) == expected[1]
    assert len(expected[0]) == EMBEDDING_DIMENSIONS


def test_grpc_vectors_equal_https(
    vllm_embed_http_base_url: str, vllm_embed_grpc_base_url: str
) -> None:
    embeddings = VLLMEmbeddings(base_url=vllm_embed_grpc_base_url)  # the model read from the server
    expected = sdk_vectors(vllm_embed_http_base_url, TEXTS)
    assert_same_vectors(embeddings.embed_documents(TEXTS), expected)
    assert_same_vectors([embeddings.embed_query(TEXTS[2])], [expected[2]])


async def test_async_vectors_equal_sync_ones(embeddings: VLLMEmbeddings) -> None:
    async with embeddings:
        vectors = await embeddings.aembed_documents(TEXTS)
        query = await embeddings.aembed_query(TEXTS[0])
    assert vectors == embeddings.embed_documents(TEXTS)
    assert query == vectors[0]


@pytest.mark.parametrize("max_concurrency", [1, 3])
async def test_many_batches_keep_the_texts_order(
    embed_base_url: str, vllm_embed_http_base_url: str, max_concurrency: int
) -> None:
    texts = [f"Note number {i}: {'a longer one, ' * (i % 4)}the end." for i in range(23)]
    expected = sdk_vectors(vllm_embed_http_base_url, texts)
    embeddings = VLLMEmbeddings(
        model=EMBEDDING_MODEL_NAME,
        base_url=embed_base_url,
        batch_size=4,
        max_concurrency=max_concurrency,
    )
    assert_same_vectors(embeddings.embed_documents(texts), expected)
    async with embeddings:
        assert_same_vectors(await embeddings.aembed_documents(texts), expected)


async def test_a_text_longer_than_the_context_is_a_bad_request(
    embeddings: VLLMEmbeddings,
) -> None:
    with pytest.raises(BadRequestError, match=r"maximum (context|model) length"):
        embeddings.embed_documents(["short", LONG])
    async with embeddings:
        with pytest.raises(BadRequestError, match=r"maximum (context|model) length"):
            await embeddings.aembed_query(LONG)


@pytest.mark.parametrize("tokens", [10, -1])
def test_truncated_when_asked_as_vllm_truncates(
    embed_base_url: str, vllm_embed_http_base_url: str, tokens: int
) -> None:
    expected = sdk_vectors(vllm_embed_http_base_url, [LONG], truncate_prompt_tokens=tokens)
    embeddings = VLLMEmbeddings(
        model=EMBEDDING_MODEL_NAME, base_url=embed_base_url, truncate_prompt_tokens=tokens
    )
    assert_same_vectors(embeddings.embed_documents([LONG]), expected)


def test_truncation_past_the_context_is_a_bad_request(embed_base_url: str) -> None:
    embeddings = VLLMEmbeddings(
        base_url=embed_base_url, truncate_prompt_tokens=EMBEDDING_CONTEXT + 1
    )
    with pytest.raises(BadRequestError, match="truncate_prompt_tokens"):
        embeddings.embed_query("hello")


async def test_a_chat_models_server_says_it_serves_no_embeddings(chat_base_url: str) -> None:
    embeddings = VLLMEmbeddings(base_url=chat_base_url)
    reason = "does not serve embeddings: its model is not an embedding or scoring model"
    with pytest.raises(NotFoundError, match=reason):
        embeddings.embed_query("hello")
    async with embeddings:
        with pytest.raises(NotFoundError, match=reason):
            await embeddings.aembed_documents(["hello"])


async def test_an_unknown_model_is_not_found(embed_base_url: str) -> None:
    embeddings = VLLMEmbeddings(model="no-such-model", base_url=embed_base_url)
    with pytest.raises(NotFoundError, match="`no-such-model` does not exist"):
        embeddings.embed_query("hello")
    async with embeddings:
        with pytest.raises(NotFoundError, match="`no-such-model` does not exist"):
            await embeddings.aembed_query("hello")


def test_raw_vectors_over_http(vllm_embed_http_base_url: str) -> None:
    embeddings = VLLMEmbeddings(base_url=vllm_embed_http_base_url, normalize=False)
    vector = embeddings.embed_query(TEXTS[0])
    assert vector == sdk_vectors(vllm_embed_http_base_url, TEXTS[:1], use_activation=False)[0]
    assert math.dist(vector, [0.0] * len(vector)) > 1.5  # not normalised


def test_dimensions_reach_vllm_which_refuses_them_for_minilm(vllm_embed_http_base_url: str) -> None:
    embeddings = VLLMEmbeddings(base_url=vllm_embed_http_base_url, dimensions=128)
    with pytest.raises(BadRequestError, match="does not support Matryoshka"):
        embeddings.embed_query("hello")


@pytest.mark.parametrize("option", [{"dimensions": 128}, {"normalize": False}])
def test_grpc_refuses_pooling_options_when_built(
    vllm_embed_grpc_base_url: str, option: dict[str, object]
) -> None:
    with pytest.raises(ValidationError, match="Embed call takes no pooling parameters"):
        VLLMEmbeddings(base_url=vllm_embed_grpc_base_url, **option)
