"""What a stream delivered so far, kept per choice, so that a reply that ends without a finish
reason (the stream ended early, or the connection broke) is an error that carries every piece
that arrived, never a complete-looking reply. O(1) per delta; both transports use it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from vllm_integrations.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    IncompleteResponseError,
)
from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    CompletionDelta,
    CompletionReply,
    ResponseInfo,
    StopReason,
    ToolCallAssembler,
    Usage,
)


@dataclass
class _Choice:
    texts: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    token_ids: list[int] = field(default_factory=list)
    finish_reason: str | None = None
    stop_reason: StopReason = None


class ReplyCollector:
    """Follows one streamed reply of ``choices`` choices (the request's ``n``), a chat reply
    or, with ``completion=True``, a text completion."""

    def __init__(
        self, *, choices: int = 1, completion: bool = False, address: str | None = None
    ) -> None:
        self._completion = completion
        self._expected = choices
        self._address = address
        self._choices: dict[int, _Choice] = {}
        self._info = ResponseInfo()
        self._usage: Usage | None = None

    def add(self, delta: ChatDelta | CompletionDelta) -> None:
        self._info = delta.info or self._info
        self._usage = delta.usage or self._usage
        if delta.usage is not None and delta.finish_reason is None:
            return  # the usage-only step that ends a stream
        choice = self._choices.setdefault(delta.index, _Choice())
        if isinstance(delta, CompletionDelta):
            choice.texts.append(delta.text)
        else:
            choice.texts.append(delta.content)
            choice.reasoning.append(delta.reasoning)
            choice.calls.add(delta.tool_calls)
        choice.token_ids.extend(delta.token_ids)
        if delta.finish_reason is not None:
            choice.finish_reason, choice.stop_reason = delta.finish_reason, delta.stop_reason

    def add_all(self, deltas: Iterable[ChatDelta | CompletionDelta]) -> None:
        for delta in deltas:
            self.add(delta)

    @property
    def complete(self) -> bool:
        """Every expected choice has its finish reason."""
        finished = [c for c in self._choices.values() if c.finish_reason is not None]
        return len(finished) >= self._expected

    def incomplete(self, why: str) -> IncompleteResponseError:
        """The error for a reply cut short, carrying what arrived."""
        return IncompleteResponseError(
            f"{why} (no finish reason): what arrived is on the error's `replies`",
            replies=self.replies(),
            address=self._address,
        )

    @contextlib.contextmanager
    def watching(
        self, held_back: Callable[[], Iterable[ChatDelta | CompletionDelta]] = tuple
    ) -> Iterator[None]:
        """Around a stream's reading: an error that ends it carries what arrived (with what
        ``held_back`` still holds), a broken connection or an early end is an incomplete reply.
        Leaving the stream early (closing it) is neither."""
        try:
            yield
        except IncompleteResponseError:
            raise
        except APITimeoutError as error:
            self.add_all(held_back())
            self.attach(error)
            raise
        except APIConnectionError as error:
            self.add_all(held_back())
            raise self.incomplete(f"the connection broke ({error.message})") from error
        except APIError as error:
            self.add_all(held_back())
            self.attach(error)
            raise
        if not self.complete:
            self.add_all(held_back())
            raise self.incomplete("the stream ended before the server finished the reply")

    def attach(self, error: APIError) -> APIError:
        """``error`` (a timeout, a status error mid-stream) with what arrived before it."""
        if not error.replies:
            error.replies = self.replies()
        return error

    def replies(self) -> list[ChatReply | CompletionReply]:
        if self._completion:
            return list(self.completion_replies())
        return list(self.chat_replies())

    def chat_replies(self) -> list[ChatReply]:
        return [
            ChatReply(
                content="".join(c.texts),
                reasoning="".join(c.reasoning),
                tool_calls=tuple(c.calls.calls()),
                finish_reason=c.finish_reason,
                logprobs=None,
                usage=self._usage,
                info=self._info,
                token_ids=tuple(c.token_ids),
                stop_reason=c.stop_reason,
            )
            for _, c in sorted(self._choices.items())
        ]

    def completion_replies(self) -> list[CompletionReply]:
        return [
            CompletionReply(
                "".join(c.texts),
                c.finish_reason,
                None,
                self._usage,
                self._info,
                tuple(c.token_ids),
                c.stop_reason,
            )
            for _, c in sorted(self._choices.items())
        ]


def check_replies(
    replies: list[ChatReply] | list[CompletionReply], *, choices: int, address: str | None
) -> None:
    """A whole (non-streamed) answer must have every choice, each with its finish reason."""
    if not replies:
        raise APIError("the server's reply has no choices", address=address)
    if len(replies) < choices or any(r.finish_reason is None for r in replies):
        raise IncompleteResponseError(
            "the reply ended before the server finished it (no finish reason): what arrived "
            "is on the error's `replies`",
            replies=replies,
            address=address,
        )
