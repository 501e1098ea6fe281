"""One exception family for everything this package raises, whatever the transport.

HTTP status codes and gRPC status codes map to the same classes, so code that catches
``BadRequestError`` works over both. Each error carries the server's own message.
"""

from __future__ import annotations

from collections.abc import Sequence


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
    """A request to a vLLM server failed; ``address`` says which server."""

    def __init__(self, message: str, *, address: str | None = None) -> None:
        self.message = message
        self.address = address
        super().__init__(f"{message} (server: {address})" if address else message)


class APIConnectionError(APIError):
    """The server could not be reached, or the connection broke."""


class APITimeoutError(APIConnectionError):
    """The request took longer than its timeout."""


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
