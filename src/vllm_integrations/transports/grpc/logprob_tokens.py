"""Logprob entries from token IDs, decoded as vLLM's OpenAI server decodes them.

vLLM's gRPC API sends logprobs as token IDs; its HTTP server decodes each one alone and, when a
token ends in U+FFFD (a byte-fallback token holding part of a UTF-8 character), decodes it again
after up to four preceding sampled tokens: the text it completes, or "" while the character is
still incomplete (``LogprobsProcessor._correct_decoded_token`` in vllm/v1/engine/logprobs.py).
vLLM does this in its engine, so the gRPC API never carries it: this module repeats it, so that
the two transports give the same tokens and text offsets.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from vllm_integrations.types import LogprobEntry

_REPLACEMENT = "\ufffd"
_CONTEXT = 4
"""Preceding sampled tokens vLLM tries: enough for any UTF-8 sequence."""


class LogprobTokens:
    """The logprob entries of one choice, step by step; remembers the last sampled tokens."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._sampled: deque[int] = deque(maxlen=_CONTEXT)

    def entries(self, logprobs: Any) -> list[LogprobEntry]:
        """One entry per position of a ``OutputLogProbs`` message (its sampled token first)."""
        entries = []
        for token_id, value, top in zip(
            logprobs.token_ids, logprobs.token_logprobs, logprobs.top_logprobs, strict=False
        ):
            entry = self._entry(token_id, value)
            entry["top_logprobs"] = [
                self._entry(i, v) for i, v in zip(top.token_ids, top.values, strict=False)
            ]
            entries.append(entry)
            self._sampled.append(token_id)
        return entries

    def _entry(self, token_id: int, value: float) -> dict[str, Any]:
        token = self._decoded(token_id)
        return {"token": token, "logprob": value, "bytes": list(token.encode("utf-8", "replace"))}

    def _decoded(self, token_id: int) -> str:
        token: str = self._tokenizer.decode([token_id])
        return self._completed(token_id) if token.endswith(_REPLACEMENT) else token

    def _completed(self, token_id: int) -> str:
        """What the token adds after the sampled tokens before it, as vLLM corrects it."""
        context = list(self._sampled)
        for size in range(1, len(context) + 1):
            window = context[-size:]
            full: str = self._tokenizer.decode([*window, token_id])
            if full.endswith(_REPLACEMENT):
                continue
            clean_end = len(window)
            while clean_end and self._tokenizer.decode([window[clean_end - 1]]).endswith(
                _REPLACEMENT
            ):
                clean_end -= 1
            prefix: str = self._tokenizer.decode(window[:clean_end]) if clean_end else ""
            if full.startswith(prefix):
                return full[len(prefix) :]
            common = 0
            for a, b in zip(prefix, full, strict=False):
                if a != b:
                    break
                common += 1
            return full[common:]
        return ""
