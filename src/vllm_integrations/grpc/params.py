"""The keyword arguments of ``create()``: typed for callers, checked at once, made requests.

The parameters are TypedDicts so that ``**params: Unpack[...]`` types every keyword for mypy and
editors without repeating long signatures in each overload. At run time, an unknown keyword is a
``TypeError`` (as a Python signature would raise) and a bad value a pydantic ``ValidationError``
(a ``ValueError``) naming the parameter, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionToolChoiceOptionParam,
    ChatCompletionToolParam,
)
from openai.types.chat.completion_create_params import ResponseFormat
from pydantic import ConfigDict, Field, TypeAdapter, with_config
from typing_extensions import TypedDict

from vllm_integrations.structured import StructuredOutputs, merge_structured
from vllm_integrations.types import ChatRequest, CompletionRequest

Count = Annotated[int, Field(ge=0)]
TokenId = Annotated[int, Field(ge=0)]


@with_config(ConfigDict(extra="forbid"))  # vLLM's continuous_usage_stats has no gRPC equivalent
class StreamOptions(TypedDict, total=False):
    include_usage: bool
    """End the stream with a chunk that carries the usage and no choices."""


class CommonParams(TypedDict, total=False):
    """What both ``create()`` methods take: vLLM's sampling parameters as its HTTP API spells
    them, the model name (default: the one the server serves) and structured outputs."""

    model: str | None
    max_tokens: Count | None
    temperature: Annotated[float, Field(ge=0)] | None
    top_p: float | None
    top_k: Annotated[int, Field(ge=-1)] | None
    min_p: float | None
    presence_penalty: float | None
    frequency_penalty: float | None
    repetition_penalty: float | None
    seed: int | None
    stop: str | list[str] | None
    stop_token_ids: list[TokenId] | None
    n: Annotated[int, Field(ge=1)] | None
    logit_bias: dict[TokenId, float] | None
    ignore_eos: bool | None
    min_tokens: Count | None
    include_stop_str_in_output: bool | None
    skip_special_tokens: bool | None
    structured_outputs: StructuredOutputs | None
    stream_options: StreamOptions | None


class CompletionParams(CommonParams, total=False):
    logprobs: Count | None
    """How many alternatives to report per token (0: the sampled token's logprob only)."""


class ChatOptions(CommonParams, total=False):
    """The chat parameters checked here; ``ChatParams`` adds those passed on as given."""

    max_completion_tokens: Count | None
    logprobs: bool | None
    top_logprobs: Count | None
    parallel_tool_calls: bool | None
    chat_template_kwargs: dict[str, Any] | None
    """Passed to the chat template, e.g. ``{"enable_thinking": False}`` to turn thinking off."""


class ChatParams(ChatOptions, total=False):
    tools: Iterable[ChatCompletionToolParam] | None
    tool_choice: ChatCompletionToolChoiceOptionParam | None
    response_format: ResponseFormat | None
    """OpenAI's spelling of a JSON schema or JSON mode (or ``structured_outputs=``, not both)."""


_COMPLETION_PARAMS: TypeAdapter[CompletionParams] = TypeAdapter(CompletionParams)
_CHAT_OPTIONS: TypeAdapter[ChatOptions] = TypeAdapter(ChatOptions)
_PROMPT: TypeAdapter[str | list[TokenId]] = TypeAdapter(str | list[TokenId])
_NOT_SAMPLING = frozenset(
    {
        "model",
        "structured_outputs",
        "stream_options",
        "max_completion_tokens",
        "parallel_tool_calls",
        "chat_template_kwargs",
    }
)


def completion_request(
    prompt: str | list[int], params: Mapping[str, Any], *, stream: bool
) -> CompletionRequest:
    """The neutral request; its ``model`` is ``""`` when the caller named none."""
    _reject_unknown(params, CompletionParams, "completions.create")
    options = _COMPLETION_PARAMS.validate_python(_given(params))
    return CompletionRequest(
        model=options.get("model") or "",
        prompt=_PROMPT.validate_python(prompt),
        sampling=_sampling(options),
        structured_outputs=options.get("structured_outputs"),
        stream_usage=_stream_usage(options, stream),
    )


def chat_request(
    messages: Iterable[ChatCompletionMessageParam], params: Mapping[str, Any], *, stream: bool
) -> ChatRequest:
    """The neutral request; its ``model`` is ``""`` when the caller named none."""
    _reject_unknown(params, ChatParams, "chat.completions.create")
    given = _given(params)
    passed_on = {
        key: given.pop(key) for key in ("tools", "tool_choice", "response_format") if key in given
    }
    options = _CHAT_OPTIONS.validate_python(given)
    sampling = _sampling(options)
    if "max_completion_tokens" in options:
        if "max_tokens" in options:
            raise ValueError("give max_tokens or max_completion_tokens, not both")
        sampling["max_tokens"] = options["max_completion_tokens"]
    if "top_logprobs" in options and not options.get("logprobs"):
        raise ValueError("top_logprobs needs logprobs=True")
    tools = passed_on.get("tools")
    return ChatRequest(
        model=options.get("model") or "",
        messages=[dict(message) for message in messages],
        sampling=sampling,
        tools=[dict(tool) for tool in tools] if tools else None,
        tool_choice=passed_on.get("tool_choice"),
        parallel_tool_calls=options.get("parallel_tool_calls"),
        structured_outputs=merge_structured(
            options.get("structured_outputs"), passed_on.get("response_format")
        ),
        chat_template_kwargs=options.get("chat_template_kwargs"),
        stream_usage=_stream_usage(options, stream),
    )


def _reject_unknown(params: Mapping[str, Any], allowed: Any, method: str) -> None:
    unknown = sorted(params.keys() - allowed.__optional_keys__)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise TypeError(f"{method}() got unexpected keyword argument(s): {names}")


def _given(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters set: ``None`` means unset, as in the openai SDK."""
    return {key: value for key, value in params.items() if value is not None}


def _sampling(options: Mapping[str, Any]) -> dict[str, Any]:
    sampling = {key: value for key, value in options.items() if key not in _NOT_SAMPLING}
    if isinstance(sampling.get("stop"), str):
        sampling["stop"] = [sampling["stop"]]
    return sampling


def _stream_usage(options: Mapping[str, Any], stream: bool) -> bool:
    if "stream_options" in options and not stream:
        raise ValueError("stream_options needs stream=True")
    return bool(options.get("stream_options", {}).get("include_usage"))
