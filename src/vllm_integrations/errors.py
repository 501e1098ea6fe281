"""One exception family for everything this package raises, whatever the transport."""

from __future__ import annotations


class VLLMError(Exception):
    """Base class of every error raised by vllm_integrations."""


class ServerStartError(VLLMError):
    """A local vLLM server could not be started; the message quotes the tail of its log."""

    def __init__(self, message: str, *, log_tail: str = "") -> None:
        self.log_tail = log_tail
        if log_tail:
            message = f"{message}\n--- last lines of the server log ---\n{log_tail}"
        super().__init__(message)
