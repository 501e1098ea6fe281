"""vLLM's ``Embed`` RPC over a ``GrpcTransport``'s connections: each text tokenized here by the
server's own tokenizer (the RPC takes token IDs, one text per call), many calls in flight at
once, vectors in the texts' order and equal to the HTTP API's.

Tokenization follows vLLM's HTTP server: the tokenizer's special tokens added, and with
``truncate_prompt_tokens`` the tokenizer's own truncation to that many tokens (-1: the context).
The RPC takes no pooling parameters, so ``dimensions`` and ``normalize=False`` are refused when
the adapter is built (``check_options``). Not mirrored: a sentence-transformers
``do_lower_case`` setting, which vLLM reads from files the server does not hand out.
"""

from __future__ import annotations

import uuid
from typing import Any

from vllm_integrations.errors import BadRequestError, model_not_served, not_a_pooling_model
from vllm_integrations.transports.concurrency import amap_bounded, map_bounded
from vllm_integrations.transports.grpc import wire
from vllm_integrations.transports.grpc.session import ModelSetup
from vllm_integrations.transports.grpc.transport import GrpcTransport
from vllm_integrations.types import EmbeddingRequest


def check_options(*, dimensions: int | None, normalize: bool | None) -> None:
    """Refuse what the Embed RPC cannot carry (it has no pooling parameters)."""
    if dimensions is not None or normalize is False:
        raise ValueError(
            "vLLM's gRPC Embed call takes no pooling parameters: dimensions and normalize=False "
            "need the server's http(s):// base_url"
        )


class GrpcEmbeddings:
    """Embeddings of the server behind ``transport``."""

    def __init__(self, transport: GrpcTransport) -> None:
        self.transport = transport
        self.base_url = transport.base_url
        self._pooling_checked = False

    def close(self) -> None:
        self.transport.close()

    async def aclose(self) -> None:
        await self.transport.aclose()

    def embed(self, request: EmbeddingRequest) -> list[list[float]]:
        if not self._pooling_checked:
            self._check_pooling(self.transport.model_info())
        calls = self._calls(self.transport.setup(), request)
        connection = self.transport.connection
        replies = map_bounded(
            lambda call: connection.call("Embed", call), calls, _in_flight(request)
        )
        return [list(reply.embedding) for reply in replies]

    async def aembed(self, request: EmbeddingRequest) -> list[list[float]]:
        if not self._pooling_checked:
            self._check_pooling(await self.transport.amodel_info())
        calls = self._calls(await self.transport.asetup(), request)
        connection = self.transport.connection
        replies = await amap_bounded(
            lambda call: connection.acall("Embed", call), calls, _in_flight(request)
        )
        return [list(reply.embedding) for reply in replies]

    def _check_pooling(self, info: Any) -> None:
        """A generative model's server answers Embed with "does not support pooling": say
        so in the words the HTTP transport uses, before anything is tokenized."""
        if info.is_generation:
            why = f"`{info.served_model_name}` is a generative model"
            raise not_a_pooling_model("embeddings", why, address=self.base_url)
        self._pooling_checked = True

    def _calls(self, setup: ModelSetup, request: EmbeddingRequest) -> list[Any]:
        if request.model != setup.served_model_name:
            raise model_not_served(request.model, [setup.served_model_name], address=self.base_url)
        check_options(dimensions=request.dimensions, normalize=request.normalize)
        truncation = _truncation(request, setup.max_context_length, self.base_url)
        pb = wire.pb()
        calls = []
        for start in range(0, len(request.texts), request.batch_size):
            texts = list(request.texts[start : start + request.batch_size])
            # One call of the fast tokenizer per batch: its Rust side encodes them in parallel.
            encoded = setup.tokenizer(texts, add_special_tokens=True, **truncation)["input_ids"]
            calls += [
                pb.EmbedRequest(
                    request_id=f"embd-{uuid.uuid4().hex}",
                    tokenized=pb.TokenizedInput(original_text=text, input_ids=ids),
                )
                for text, ids in zip(texts, encoded, strict=True)
            ]
        return calls


def _truncation(request: EmbeddingRequest, context: int, address: str) -> dict[str, Any]:
    """The tokenizer's arguments for ``truncate_prompt_tokens``, as vLLM's HTTP server sets
    them; a longer text without it goes whole, and the server refuses it with its own message."""
    tokens = request.truncate_prompt_tokens
    if tokens is None:
        return {}
    if tokens > context:
        raise BadRequestError(
            f"truncate_prompt_tokens={tokens} is greater than the model's context "
            f"({context} tokens): ask for fewer",
            address=address,
        )
    return {"truncation": True, "max_length": context if tokens < 0 else tokens}


def _in_flight(request: EmbeddingRequest) -> int:
    """As many texts in flight as over HTTP: ``max_concurrency`` batches' worth."""
    return request.batch_size * request.max_concurrency
