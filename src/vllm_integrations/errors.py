"""One exception family for everything this package raises, whatever the transport.

HTTP status codes and gRPC status codes map to the same classes, so code that catches
``BadRequestError`` works over both. Each error carries the server's own message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vllm_integrations.types import ChatReply, CompletionReply


class VLLMError(Exception):
    """Base class of every error raised by vllm_integrations."""


class MissingExtraError(VLLMError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


class ServerStartError(VLLMError):
    """A local vLLM server could not be started; the message quotes the tail of its log."""

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        self.log_tail = log_tail
        if log_tail:
            message = f"{message}\n--- last lines of the server log ---\n{log_tail}"
        super().__init__(message)


class APIError(VLLMError):
    """A request to a vLLM server failed; ``address`` says which server. An error that ends a
    stream after it began carries what arrived before it in ``replies`` (one per choice)."""

    def __init__(self, message: str, *, address: str | None = None) -> None:
        self.message = message
        self.address = address
        self.replies: list[ChatReply | CompletionReply] = []
        super().__init__(f"{message} (server: {address})" if address else message)

    @property
    def partial(self) -> ChatReply | CompletionReply | None:
        """What the first choice had received when the error ended it (None: nothing yet)."""
        return self.replies[0] if self.replies else None


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke."""


class APITimeoutError(APIConnectionError):
    """The request took longer than its timeout: no message for ``timeout`` seconds, or more
    than ``total_timeout`` in all, or no connection within ``connect_timeout``."""


class IncompleteResponseError(APIConnectionError):
    """The reply ended before the server said it was finished (no finish reason): the stream
    ended early or the connection broke. ``replies`` holds what arrived, one per choice (text,
    reasoning, tool calls so far, nothing held back); ``partial`` is the first of them.

    Never a complete-looking reply: a cut-short answer is an error, not an answer."""

    def __init__(
        self,
        message: str,
        *,
        replies: Sequence[ChatReply | CompletionReply] = (),
        address: str | None = None,
    ) -> None:
        super().__init__(message, address=address)
        self.replies = list(replies)


class MessageTooLargeError(APIError):
    """A message from the server (a gRPC message, an SSE event, a whole HTTP reply) is larger
    than ``max_message_size``; it was refused before it was buffered."""


class APIStatusError(APIError):
    """The server answered with an error status; ``status_code`` is the HTTP equivalent."""

    status_code: int = 500

    def __init__(
        self,
        message: str,
        *,
        address: str | None = None,
        status_code: int | None = None,
        body: object = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code
        self.body = body
        self.retry_after: float | None = None
        """Seconds the server asked to wait before trying again (Retry-After), if it said."""
        super().__init__(message, address=address)


class BadRequestError(APIStatusError):
    """The server rejected the request: bad parameter, schema, regex, or a prompt too long."""

    status_code = 400


class AuthenticationError(APIStatusError):
    """The server wants a different API key (it was started with ``--api-key``)."""

    status_code = 401


class PermissionDeniedError(APIStatusError):
    status_code = 403


class NotFoundError(APIStatusError):
    """Unknown model or endpoint."""

    status_code = 404


class RateLimitError(APIStatusError):
    """The server is over capacity; safe to retry later."""

    status_code = 429


class InternalServerError(APIStatusError):
    """The server failed while handling the request."""

    status_code = 500


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: BadRequestError,
    429: RateLimitError,
}


def status_error(
    status_code: int, message: str, *, address: str | None = None, body: object = None
) -> APIStatusError:
    """The error class for an HTTP status code (5xx and unknown codes: InternalServerError)."""
    cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = InternalServerError if status_code >= 500 else APIStatusError
    return cls(message, address=address, status_code=status_code, body=body)


def model_not_served(model: str, served: Sequence[str], *, address: str | None) -> NotFoundError:
    """The error for a model name the server does not serve, worded as vLLM's HTTP server words
    it, plus what is served (the gRPC API has no model name, so the client checks it)."""
    names = ", ".join(f"`{name}`" for name in served) or "none"
    return NotFoundError(
        f"The model `{model}` does not exist (served here: {names}).", address=address
    )


def not_a_pooling_model(what: str, why: str, *, address: str | None) -> NotFoundError:
    """The error for embeddings or reranking asked of a server that has none, on either
    transport: a generative model's server (vLLM serves ``what`` only for a model it runs with
    ``--runner pooling``); ``why`` is what the server showed."""
    return NotFoundError(
        f"this server does not serve {what}: its model is not an embedding or scoring model "
        f"(vLLM serves those with `--runner pooling`): {why}",
        address=address,
    )
