"""One chat turn on ``ChatVLLM.astream`` as a stream of named events, shared by the chat page
(which sends them as Server-Sent Events) and the terminal chat (which prints them).

Events: ``reasoning`` and ``content`` (``{"text": ...}`` as each piece arrives), ``usage`` (token
counts), ``error`` (the server's message) and ``done`` (finish reason, time to first token,
elapsed time), always last. Cancelling the consumer cancels ``astream``, which aborts the
request on vLLM.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Self

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, UsageMetadata
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vllm_integrations.errors import APIError, APIStatusError, VLLMError
from vllm_integrations.langchain import ChatVLLM

logger = logging.getLogger(__name__)

EventName = Literal["reasoning", "content", "usage", "error", "done"]
_STRICT = ConfigDict(extra="forbid")


class Turn(BaseModel):
    """One message of the conversation; an assistant turn carries its reasoning back."""

    model_config = _STRICT

    role: Literal["user", "assistant"]
    content: str
    reasoning: str | None = None

    def message(self) -> BaseMessage:
        if self.role == "user":
            return HumanMessage(self.content)
        kwargs = {"reasoning_content": self.reasoning} if self.reasoning else {}
        return AIMessage(self.content, additional_kwargs=kwargs)


class ChatTurnRequest(BaseModel):
    """What the page (or the command line) asks for: the conversation, its last message the
    user's, and the settings a user may change. Everything else is the server's ChatVLLM's."""

    model_config = _STRICT

    messages: list[Turn] = Field(min_length=1)
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    thinking: bool = True
    model: str | None = None

    @model_validator(mode="after")
    def _ends_with_the_user(self) -> Self:
        if self.messages[-1].role != "user":
            raise ValueError("the last message must be the user's")
        return self

    def call_options(self) -> dict[str, Any]:
        """The per-call keywords of ``ChatVLLM.astream`` (each one a real ChatVLLM option)."""
        options: dict[str, Any] = {"temperature": self.temperature, "reasoning": self.thinking}
        if self.max_tokens is not None:
            options["max_tokens"] = self.max_tokens
        if self.model:
            options["model"] = self.model
        return options


@dataclass(frozen=True, slots=True)
class ReplyEvent:
    name: EventName
    data: dict[str, Any]


async def reply_events(chat: ChatVLLM, request: ChatTurnRequest) -> AsyncIterator[ReplyEvent]:
    """Stream one reply as events; an error of the server or the connection becomes an
    ``error`` event (the page stays usable), and ``done`` always ends the stream."""
    started = time.monotonic()
    first_token: float | None = None
    finish_reason: str | None = None
    messages = [turn.message() for turn in request.messages]
    try:
        async for chunk in chat.astream(messages, **request.call_options()):
            reasoning = chunk.additional_kwargs.get("reasoning_content")
            if (reasoning or chunk.text) and first_token is None:
                first_token = time.monotonic() - started
            if reasoning:
                yield ReplyEvent("reasoning", {"text": reasoning})
            if chunk.text:
                yield ReplyEvent("content", {"text": chunk.text})
            if chunk.usage_metadata:
                yield ReplyEvent("usage", usage_data(chunk.usage_metadata))
            finish_reason = chunk.response_metadata.get("finish_reason") or finish_reason
    except (VLLMError, ValueError) as error:
        logger.warning("chat reply failed: %s", error)
        yield ReplyEvent("error", error_data(error))
    elapsed = time.monotonic() - started
    yield ReplyEvent(
        "done",
        {"finish_reason": finish_reason, "time_to_first_token": first_token, "elapsed": elapsed},
    )


def usage_data(usage: UsageMetadata) -> dict[str, Any]:
    data: dict[str, Any] = {
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
    }
    reasoning = usage.get("output_token_details", {}).get("reasoning")
    if reasoning is not None:
        data["reasoning_tokens"] = reasoning
    return data


def error_data(error: Exception) -> dict[str, Any]:
    """The error as the page shows it: the server's own message, without the server's address
    (which stays on the server side), its kind and its HTTP status when it has one."""
    message = error.message if isinstance(error, APIError) else str(error)
    data: dict[str, Any] = {"message": message, "kind": type(error).__name__}
    if isinstance(error, APIStatusError):
        data["status"] = error.status_code
    return data


def validation_message(error: ValidationError) -> str:
    """What was wrong with a chat request or a setting, in one line a person can act on."""
    problems = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(part) for part in problem["loc"])
        # A validator's own ValueError reads better without pydantic's "Value error, " prefix.
        text = str(problem["ctx"]["error"]) if problem["type"] == "value_error" else problem["msg"]
        problems.append(f"{where}: {text}" if where else text)
    return "; ".join(problems)
