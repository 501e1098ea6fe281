"""Text completions over the gRPC transport: the session's chat-shaped deltas and replies in
the completions shape, logprobs with vLLM's ``text_offset`` arithmetic."""

from __future__ import annotations

import itertools
from typing import Any

from vllm_integrations.types import ChatDelta, ChatReply, CompletionDelta, CompletionReply


def _completion_logprobs(
    entries: list[dict[str, Any]] | None, text_offset: int = 0
) -> dict[str, Any] | None:
    """Chat-shaped logprob entries in the completions shape (tokens, token_logprobs,
    top_logprobs as token -> logprob, and each token's text_offset counted from
    ``text_offset``, as vLLM counts it: the previous offset plus the previous token's length)."""
    if entries is None:
        return None
    lengths = (len(e["token"]) for e in entries[:-1])
    return {
        "tokens": [e["token"] for e in entries],
        "token_logprobs": [e["logprob"] for e in entries],
        "top_logprobs": [{t["token"]: t["logprob"] for t in e["top_logprobs"]} for e in entries],
        "text_offset": list(itertools.accumulate(lengths, initial=text_offset)) if entries else [],
    }


class CompletionDeltas:
    """Chat deltas as completion deltas. A step's text_offset continues from the tokens its
    choice has reported so far (the last offset plus the last token's length), as in vLLM's
    streamed completions: not from the text streamed, which lags the tokens while text is
    held back and may hold characters no token's text has."""

    def __init__(self) -> None:
        self._next_offset: dict[int, int] = {}

    def __call__(self, delta: ChatDelta) -> CompletionDelta:
        logprobs = _completion_logprobs(delta.logprobs, self._next_offset.get(delta.index, 0))
        if logprobs is not None and logprobs["tokens"]:
            self._next_offset[delta.index] = logprobs["text_offset"][-1] + len(
                logprobs["tokens"][-1]
            )
        return CompletionDelta(
            text=delta.content,
            logprobs=logprobs,
            finish_reason=delta.finish_reason,
            index=delta.index,
            usage=delta.usage,
            info=delta.info,
            token_ids=delta.token_ids,
            stop_reason=delta.stop_reason,
        )


def completion_reply(reply: ChatReply) -> CompletionReply:
    logprobs = _completion_logprobs(reply.logprobs)
    return CompletionReply(
        reply.content,
        reply.finish_reason,
        logprobs,
        reply.usage,
        reply.info,
        reply.token_ids,
        reply.stop_reason,
    )
