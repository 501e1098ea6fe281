"""structured_predict on vLLM's own constrained decoding rather than tool calling: the output
class's JSON schema goes out as structured outputs and the answer text (never the reasoning) is
parsed; streamed, each step that adds answer text yields a fresh partial object.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Mapping
from typing import Any

from llama_index.core.base.llms.types import ChatResponse
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.program.streaming_utils import process_streaming_content_incremental
from llama_index.core.program.utils import FlexibleModel
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import Model
from llama_index_instrumentation import get_dispatcher
from pydantic import BaseModel

from vllm_integrations.structured import StructuredOutputs

dispatcher = get_dispatcher(__name__)


def schema_kwargs(
    output_cls: type[BaseModel], llm_kwargs: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The chat keyword arguments that constrain the reply to ``output_cls``'s JSON schema."""
    kwargs = dict(llm_kwargs or {})
    if "structured_outputs" in kwargs:
        raise ValueError(
            "structured_predict constrains the reply to output_cls; "
            "give structured_outputs to chat() instead"
        )
    kwargs["structured_outputs"] = StructuredOutputs(json_schema=output_cls.model_json_schema())
    return kwargs


def announce(output_cls: type[BaseModel], prompt: PromptTemplate, args: dict[str, Any]) -> None:
    """The start event LlamaIndex's own structured_predict fires."""
    dispatcher.event(
        LLMStructuredPredictStartEvent(output_cls=output_cls, template=prompt, template_args=args)
    )


def parse(output_cls: type[Model], response: ChatResponse) -> Model:
    """The answer text as ``output_cls`` (the end event carries it)."""
    result: Model = output_cls.model_validate_json(response.message.content or "")
    dispatcher.event(LLMStructuredPredictEndEvent(output=result))
    return result


def partial_objects(
    responses: Iterator[ChatResponse], output_cls: type[Model]
) -> Generator[Model | FlexibleModel, None, None]:
    """The object so far, once at the start and then at every step that adds answer text."""
    current: Model | FlexibleModel | None = None
    for response in responses:
        if current is None or response.delta:
            current = process_streaming_content_incremental(response, output_cls, current)
            yield current


async def apartial_objects(
    responses: AsyncIterator[ChatResponse], output_cls: type[Model]
) -> AsyncGenerator[Model | FlexibleModel, None]:
    current: Model | FlexibleModel | None = None
    async for response in responses:
        if current is None or response.delta:
            current = process_streaming_content_incremental(response, output_cls, current)
            yield current
