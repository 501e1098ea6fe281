"""ChatVLLM: a LangChain chat model for vLLM, with reasoning, tools and vLLM's structured outputs.

The class holds settings and builds one neutral ``ChatRequest`` per call; the transport does
the wire, and ``_messages`` turns replies and deltas into LangChain messages and chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from vllm_integrations.adapter_settings import (
    SHARED_SAMPLING_FIELDS,
    STRICT_CONFIG,
    chat_template_kwargs,
    reject_unknown,
)
from vllm_integrations.langchain import (
    _blocks,  # noqa: F401  (registers the block translator)
    _messages,
    _structured,
)
from vllm_integrations.langchain._base import VLLMClientSettings
from vllm_integrations.structured import merge_structured
from vllm_integrations.tool_choice import tool_choice_param
from vllm_integrations.types import ChatReply, ChatRequest

_CHAT_SAMPLING_FIELDS = (*SHARED_SAMPLING_FIELDS, "logprobs", "top_logprobs", "n")
_REQUEST_OPTIONS = (
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "structured_outputs",
    "response_format",
    "chat_template_kwargs",
    "extra_body",
    "reasoning",
    "model",
    "stream_usage",
    "stream",
)


class ChatVLLM(VLLMClientSettings, BaseChatModel):
    """A vLLM server as a LangChain chat model.

    ```python
    chat = ChatVLLM(model="Qwen/Qwen3-8B", base_url="http://127.0.0.1:8000/v1")
    msg = chat.invoke("Why is the sky blue?")
    msg.additional_kwargs["reasoning_content"]  # the model's reasoning, when it has some
    ```
    """

    model_config = STRICT_CONFIG

    logprobs: bool | None = None
    top_logprobs: int | None = None
    n: int | None = None
    reasoning: bool | None = None
    """False turns the model's thinking off, True on (``chat_template_kwargs.enable_thinking``);
    None leaves the model's default."""
    chat_template_kwargs: dict[str, Any] | None = None
    send_reasoning: bool = True
    """Send the reasoning of earlier assistant turns back to vLLM (it accepts ``reasoning``)."""
    streaming: bool = False
    """Use the streaming API for ``invoke`` too."""

    @property
    def _llm_type(self) -> str:
        return "vllm-chat"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="vllm",
            ls_model_name=kwargs.get("model") or self.model_name or "",
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # -- requests --------------------------------------------------------------------------

    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        model: str,
        options: dict[str, Any],
        *,
        streaming: bool = False,
    ) -> ChatRequest:
        """The one place a request is built from settings and per-call options."""
        options = dict(options)
        options.pop("stream", None)  # core's own switch between _generate and _stream
        options.pop("model", None)
        sampling = self.sampling(_CHAT_SAMPLING_FIELDS, options)
        if stop or self.stop:
            sampling["stop"] = stop or self.stop
        structured = merge_structured(
            options.pop("structured_outputs", None), options.pop("response_format", None)
        )
        template_kwargs = chat_template_kwargs(
            self.chat_template_kwargs,
            options.pop("chat_template_kwargs", None),
            options.pop("reasoning", self.reasoning),
        )
        request = ChatRequest(
            model=model,
            messages=_messages.to_openai_messages(messages, send_reasoning=self.send_reasoning),
            sampling=sampling,
            tools=options.pop("tools", None),
            tool_choice=options.pop("tool_choice", None),
            parallel_tool_calls=options.pop("parallel_tool_calls", None),
            structured_outputs=structured,
            chat_template_kwargs=template_kwargs,
            extra_body=self.merged_extra_body(options.pop("extra_body", None)),
            stream_usage=options.pop("stream_usage", self.stream_usage),
        )
        reject_unknown(options, type(self).__name__)
        if streaming and (sampling.get("n") or 1) > 1:
            raise ValueError("streaming gives one choice; use invoke or batch for n > 1")
        return request

    def _model_for(self, kwargs: dict[str, Any]) -> str:
        return str(kwargs.get("model") or self.resolved_model())

    async def _amodel_for(self, kwargs: dict[str, Any]) -> str:
        return str(kwargs.get("model") or await self.aresolved_model())

    # -- calls -----------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, self._model_for(kwargs), kwargs)
        return _chat_result(self.transport.chat(request))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, await self._amodel_for(kwargs), kwargs)
        return _chat_result(await self.transport.achat(request))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, self._model_for(kwargs), kwargs, streaming=True)
        tracker = _messages.StreamTracker()
        for delta in self.transport.stream_chat(request):
            chunk = tracker.chunk(delta)
            if chunk is not None:
                generation = ChatGenerationChunk(message=chunk)
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=generation)
                yield generation
        yield ChatGenerationChunk(message=tracker.terminal_chunk())

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        model = await self._amodel_for(kwargs)
        request = self._request(messages, stop, model, kwargs, streaming=True)
        tracker = _messages.StreamTracker()
        async for delta in self.transport.astream_chat(request):
            chunk = tracker.chunk(delta)
            if chunk is not None:
                generation = ChatGenerationChunk(message=chunk)
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=generation)
                yield generation
        yield ChatGenerationChunk(message=tracker.terminal_chunk())

    # -- tools and structured output -------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools to the model. ``tool_choice``: "auto", "none", "any"/"required"/True
        (some tool must be called), or a tool's name (that tool must be called)."""
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        if tool_choice is not None and tool_choice is not False:
            names = [tool["function"]["name"] for tool in formatted]
            kwargs["tool_choice"] = tool_choice_param(tool_choice, names)
        elif tool_choice is False:
            kwargs["tool_choice"] = "none"
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: Any = None,
        *,
        method: Literal[
            "json_schema", "function_calling", "json_mode", "regex", "choice", "grammar"
        ] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Constrain the reply with vLLM's structured outputs and parse it.

        ``json_schema`` (default) and ``json_mode`` return the parsed object (a pydantic
        instance for a pydantic schema, else a dict); ``function_calling`` forces a tool call;
        ``regex`` (a pattern), ``choice`` (a list of strings) and ``grammar`` (EBNF or Lark)
        return the constrained text.
        """
        reject_unknown(kwargs, "with_structured_output")
        return _structured.structured_runnable(
            self, schema, method=method, include_raw=include_raw, strict=strict
        )


def _chat_result(replies: list[ChatReply]) -> ChatResult:
    """One generation per choice; usage and model also in llm_output, for token counters."""
    generations = [ChatGeneration(message=_messages.message_from_reply(r)) for r in replies]
    llm_output: dict[str, Any] = {"model_name": replies[0].info.model if replies else None}
    if replies and replies[0].usage is not None:
        llm_output["token_usage"] = _messages.usage_metadata(replies[0].usage)
    return ChatResult(generations=generations, llm_output=llm_output)
