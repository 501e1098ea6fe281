"""VLLM: a LlamaIndex FunctionCallingLLM for vLLM, with reasoning, tools and vLLM's structured
outputs, over the OpenAI-compatible HTTP API or the native gRPC API.

The class holds settings and builds one neutral ``ChatRequest`` per call; the transport does
the wire, ``_messages`` turns replies and deltas into LlamaIndex responses.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import ConfigDict
from llama_index.core.constants import DEFAULT_NUM_OUTPUTS
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import Model, PydanticProgramMode
from llama_index_instrumentation import get_dispatcher

from vllm_integrations.adapter_settings import (
    SHARED_SAMPLING_FIELDS,
    STRICT_CONFIG,
    AdapterSettings,
    chat_template_kwargs,
    reject_unknown,
)
from vllm_integrations.llama_index import _messages, _structured, _tools
from vllm_integrations.structured import StructuredOutputs, as_structured_outputs
from vllm_integrations.tool_choice import tool_choice_param
from vllm_integrations.types import ChatRequest

if TYPE_CHECKING:
    from llama_index.core.program.utils import FlexibleModel
    from llama_index.core.tools.types import BaseTool

dispatcher = get_dispatcher(__name__)

_SAMPLING_FIELDS = (*SHARED_SAMPLING_FIELDS, "stop", "logprobs", "top_logprobs")
_F = TypeVar("_F", bound=Callable[..., Any])


def _chat_callback(method: _F) -> _F:
    """LlamaIndex's chat instrumentation (events, callbacks, rate limiter), typed."""
    return cast("_F", llm_chat_callback()(method))


def _completion_callback(method: _F) -> _F:
    return cast("_F", llm_completion_callback()(method))


class VLLM(AdapterSettings, FunctionCallingLLM):
    """A vLLM server as a LlamaIndex LLM: chat, completion, tools and structured outputs.

    ```python
    llm = VLLM(model="Qwen/Qwen3-8B", base_url="http://127.0.0.1:8000/v1")  # or grpc://HOST:PORT
    response = llm.chat([ChatMessage(role="user", content="Why is the sky blue?")])
    response.message.blocks  # [ThinkingBlock(...), TextBlock(...)] for a reasoning model
    ```

    Every setting may also be given per call (``llm.chat(messages, temperature=0)``) and wins
    there; unknown keywords are errors. ``structured_outputs=StructuredOutputs(regex=...)`` (or
    choice, grammar, json_schema) constrains a call, or every call when set here.
    """

    model_config = ConfigDict(**STRICT_CONFIG, arbitrary_types_allowed=True)

    logprobs: bool | None = None
    """Return the logprobs of the generated tokens (``ChatResponse.logprobs``)."""
    top_logprobs: int | None = None
    """With ``logprobs``: also this many most likely tokens at each position."""
    reasoning: bool | None = None
    """False turns the model's thinking off, True on (``chat_template_kwargs.enable_thinking``);
    None leaves the model's default."""
    chat_template_kwargs: dict[str, Any] | None = None
    structured_outputs: StructuredOutputs | None = None
    """Constrain every call (a JSON schema, regex, choice or grammar); per call wins."""
    context_window: int | None = None
    """Tokens the model reads and writes per call; default: the server's ``max_model_len``."""

    @classmethod
    def class_name(cls) -> str:
        return "vllm_integrations.VLLM"

    @property
    def metadata(self) -> LLMMetadata:
        """Facts LlamaIndex plans with; the model name and context window come from the server
        (asked once) unless given."""
        return LLMMetadata(
            context_window=self.context_window or self._served_context_window(),
            num_output=self.max_tokens or DEFAULT_NUM_OUTPUTS,
            is_chat_model=True,
            is_function_calling_model=True,
            model_name=self.resolved_model(),
        )

    def _served_context_window(self) -> int:
        card = self.model_card()
        if card.max_model_len is None:
            raise ValueError(
                f"the server at {self.base_url} does not report the context window of "
                f"{card.id!r}: give VLLM(context_window=...)"
            )
        return card.max_model_len

    def to_payload(self) -> dict[str, Any]:
        """What instrumentation events report about this LLM: its settings, never the API key
        or headers, and without asking the server (events fire before every call)."""
        return self.model_dump(exclude={"default_headers"}, exclude_none=True)

    # -- requests --------------------------------------------------------------------------

    def _request(
        self, messages: Sequence[ChatMessage], model: str, options: dict[str, Any]
    ) -> ChatRequest:
        """The one place a request is built from settings and per-call options."""
        options = dict(options)
        options.pop("model", None)
        tools = options.pop("tools", None)
        tool_choice = options.pop("tool_choice", None)
        if tool_choice is not None and tools:
            tool_choice = tool_choice_param(tool_choice, [t["function"]["name"] for t in tools])
        structured = options.pop("structured_outputs", self.structured_outputs)
        request = ChatRequest(
            model=model,
            messages=_messages.to_openai_messages(messages),
            sampling=self.sampling(_SAMPLING_FIELDS, options),
            tools=tools,
            tool_choice=tool_choice,
            parallel_tool_calls=options.pop("parallel_tool_calls", None),
            structured_outputs=as_structured_outputs(structured),
            chat_template_kwargs=chat_template_kwargs(
                self.chat_template_kwargs,
                options.pop("chat_template_kwargs", None),
                options.pop("reasoning", self.reasoning),
            ),
            extra_body=self.merged_extra_body(options.pop("extra_body", None)),
            stream_usage=options.pop("stream_usage", self.stream_usage),
        )
        reject_unknown(options, type(self).__name__)
        return request

    def _sync_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any]
    ) -> ChatRequest:
        return self._request(messages, options.get("model") or self.resolved_model(), options)

    async def _async_request(
        self, messages: Sequence[ChatMessage], options: dict[str, Any]
    ) -> ChatRequest:
        model = options.get("model") or await self.aresolved_model()
        return self._request(messages, model, options)

    # -- chat (undecorated: completion reuses them without firing chat events) --------------

    def _chat(self, messages: Sequence[ChatMessage], options: dict[str, Any]) -> ChatResponse:
        replies = self.transport.chat(self._sync_request(messages, options))
        return _messages.chat_response(replies[0])

    async def _achat(
        self, messages: Sequence[ChatMessage], options: dict[str, Any]
    ) -> ChatResponse:
        replies = await self.transport.achat(await self._async_request(messages, options))
        return _messages.chat_response(replies[0])

    def _stream_chat(
        self, messages: Sequence[ChatMessage], options: dict[str, Any]
    ) -> ChatResponseGen:
        request = self._sync_request(messages, options)  # bad arguments fail at the call
        return _messages.stream_responses(self.transport.stream_chat(request))

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], options: dict[str, Any]
    ) -> ChatResponseAsyncGen:
        request = await self._async_request(messages, options)
        return _messages.astream_responses(self.transport.astream_chat(request))

    @_chat_callback
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, kwargs)

    @_chat_callback
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, kwargs)

    @_chat_callback
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream_chat(messages, kwargs)

    @_chat_callback
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return await self._astream_chat(messages, kwargs)

    # -- completion: the prompt as one user turn, through the chat template -----------------

    @_completion_callback
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """``prompt`` as a user message (``formatted`` changes nothing: the server's chat
        template formats every prompt)."""
        return _messages.completion_response(self._chat(_user_turn(prompt), kwargs))

    @_completion_callback
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return _messages.completion_response(await self._achat(_user_turn(prompt), kwargs))

    @_completion_callback
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        responses = self._stream_chat(_user_turn(prompt), kwargs)
        return (_messages.completion_response(response) for response in responses)

    @_completion_callback
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        responses = await self._astream_chat(_user_turn(prompt), kwargs)
        return (_messages.completion_response(response) async for response in responses)

    # -- tools -----------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The chat arguments of a turn with tools. Tool options go out only with tools; with
        none of them the model decides ("auto"), and ``tool_required`` means "required"."""
        messages = [*(chat_history or []), *(_user_turn(user_msg) if user_msg else [])]
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        if not specs:
            return {"messages": messages, **kwargs}
        if tool_choice is None and tool_required:
            tool_choice = "required"
        return {
            "messages": messages,
            "tools": specs,
            "tool_choice": tool_choice,
            "parallel_tool_calls": allow_parallel_tool_calls,
            **kwargs,
        }

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            _tools.keep_first_tool_call(response)
        return response

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """The response's tool calls with parsed arguments. A whole response whose arguments
        are not a JSON object raises ValueError, unless ``error_on_no_tool_call=False``."""
        reject_unknown(kwargs, "get_tool_calls_from_response")
        return _tools.tool_selections(response, error_on_no_tool_call=error_on_no_tool_call)

    # -- structured outputs: vLLM's constrained decoding, not a forced tool call -------------

    def _native_structure(self) -> bool:
        return self.pydantic_program_mode == PydanticProgramMode.DEFAULT

    def _structured_chat_args(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None,
        prompt_args: dict[str, Any],
    ) -> tuple[list[ChatMessage], dict[str, Any]]:
        messages = self._get_messages(prompt, **prompt_args)
        return messages, _structured.schema_kwargs(output_cls, llm_kwargs)

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """The reply constrained to ``output_cls``'s JSON schema by vLLM, parsed. Other
        ``pydantic_program_mode``s run LlamaIndex's own programs."""
        if not self._native_structure():
            result: Model = super().structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return result
        _structured.announce(output_cls, prompt, prompt_args)
        messages, kwargs = self._structured_chat_args(output_cls, prompt, llm_kwargs, prompt_args)
        return _structured.parse(output_cls, self.chat(messages, **kwargs))

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._native_structure():
            result: Model = await super().astructured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return result
        _structured.announce(output_cls, prompt, prompt_args)
        messages, kwargs = self._structured_chat_args(output_cls, prompt, llm_kwargs, prompt_args)
        return _structured.parse(output_cls, await self.achat(messages, **kwargs))

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None, None]:
        """What stream_structured_predict (which fires the events) iterates."""
        if not self._native_structure():
            return super()._structured_stream_call(output_cls, prompt, llm_kwargs, **prompt_args)
        messages, kwargs = self._structured_chat_args(output_cls, prompt, llm_kwargs, prompt_args)
        return _structured.partial_objects(self.stream_chat(messages, **kwargs), output_cls)

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None]:
        if not self._native_structure():
            return await super()._structured_astream_call(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        messages, kwargs = self._structured_chat_args(output_cls, prompt, llm_kwargs, prompt_args)
        responses = await self.astream_chat(messages, **kwargs)
        return _structured.apartial_objects(responses, output_cls)


def _user_turn(prompt: str | ChatMessage) -> list[ChatMessage]:
    if isinstance(prompt, ChatMessage):
        return [prompt]
    return [ChatMessage(role=MessageRole.USER, content=prompt)]
