"""When a failed call is tried again, the same on both transports: only before any reply came
(a connection that could not be made, a status that says "later"), with exponential backoff and
jitter, honouring the server's Retry-After, never past the call's total deadline. A call that
timed out is not retried: it would only wait that long again.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from vllm_integrations.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    IncompleteResponseError,
)

RETRIED_STATUSES = frozenset({408, 409, 429})
"""And every 5xx: what the openai SDK and vLLM's clients retry."""
_FIRST_DELAY = 0.5
_LONGEST_DELAY = 8.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int

    def delay(self, error: APIError, attempt: int, deadline: float | None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1`` after ``error``, or None when
        the error is final (not retryable, retries used up, or the deadline too near)."""
        if attempt >= self.max_retries or not retryable(error):
            return None
        wait = retry_after(error)
        if wait is None:
            wait = min(_FIRST_DELAY * 2**attempt, _LONGEST_DELAY) * random.uniform(0.75, 1.0)
        if deadline is not None and time.monotonic() + wait >= deadline:
            return None
        return wait


def retryable(error: APIError) -> bool:
    if isinstance(error, APITimeoutError | IncompleteResponseError):
        return False
    if isinstance(error, APIStatusError):
        return error.status_code in RETRIED_STATUSES or error.status_code >= 500
    return isinstance(error, APIConnectionError)


def retry_after(error: APIError) -> float | None:
    """The server's Retry-After, in seconds, when it gave a sane one (at most a minute)."""
    seconds = getattr(error, "retry_after", None)
    if isinstance(seconds, int | float) and 0 <= seconds <= 60:
        return float(seconds)
    return None
