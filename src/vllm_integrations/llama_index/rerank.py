"""VLLMRerank: vLLM's rerank API as a LlamaIndex node postprocessor: the best ``top_n`` nodes,
best first, each ``NodeWithScore.score`` the relevance score vLLM gave it (where LlamaIndex's
own rerankers put theirs; the nodes themselves, which an index holds, are left unchanged)."""

from __future__ import annotations

from llama_index.core.bridge.pydantic import ConfigDict
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from llama_index_instrumentation import get_dispatcher

from vllm_integrations.adapter_settings import STRICT_CONFIG
from vllm_integrations.embedding_settings import RerankSettings
from vllm_integrations.types import RerankResult

dispatcher = get_dispatcher(__name__)


class VLLMRerank(RerankSettings, BaseNodePostprocessor):
    """A reranker served by vLLM over HTTP (a cross-encoder, or an embedding model, which vLLM
    scores by cosine similarity). The gRPC API has no rerank call: a ``grpc://`` base_url is
    refused when the reranker is built.

    ```python
    engine = index.as_query_engine(
        similarity_top_k=5, node_postprocessors=[VLLMRerank(base_url=..., top_n=2)]
    )
    ```
    """

    model_config = ConfigDict(**STRICT_CONFIG, arbitrary_types_allowed=True)

    @classmethod
    def class_name(cls) -> str:
        return "vllm_integrations.VLLMRerank"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = _query(query_bundle)
        self._started(nodes, query)
        return self._ended(nodes, self.rerank(query, _texts(nodes)))

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query = _query(query_bundle)
        self._started(nodes, query)
        return self._ended(nodes, await self.arerank(query, _texts(nodes)))

    def _started(self, nodes: list[NodeWithScore], query: str) -> None:
        dispatcher.event(
            ReRankStartEvent(
                query=query,
                nodes=nodes,
                top_n=self.top_n or len(nodes),
                model_name=self.model_name or "",
            )
        )

    def _ended(
        self, nodes: list[NodeWithScore], ranking: list[RerankResult]
    ) -> list[NodeWithScore]:
        ranked = [NodeWithScore(node=nodes[r.index].node, score=r.score) for r in ranking]
        dispatcher.event(ReRankEndEvent(nodes=ranked))
        return ranked


def _query(query_bundle: QueryBundle | None) -> str:
    if query_bundle is None:
        raise ValueError("VLLMRerank needs the query: pass query_bundle or query_str")
    return query_bundle.query_str


def _texts(nodes: list[NodeWithScore]) -> list[str]:
    """What LlamaIndex's own rerankers score: each node's text with its embedding metadata."""
    return [node.node.get_content(metadata_mode=MetadataMode.EMBED) for node in nodes]
