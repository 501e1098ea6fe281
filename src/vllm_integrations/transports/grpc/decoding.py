"""Token IDs to text for vLLM's token-only gRPC server, with vLLM's stop semantics.

The server sends token IDs only: EOS and stop tokens stay at the end of them, and so do the
tokens that completed a stop string. The client must drop the former, trim the text at the
latter, and while streaming hold back any tail that may still become a stop string.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeAlias

from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream

# A character is at most 4 bytes, so only invalid bytes are held this long: the cap keeps a
# step O(1) when a model emits garbage (written out as U+FFFD, as Tokenizer.decode does).
MAX_PENDING_TOKENS = 32
# vLLM primes its stream with the prompt: SentencePiece decoders drop a first token's space.
PROMPT_CONTEXT_TOKENS = 8


class HasBackendTokenizer(Protocol):  # a transformers fast tokenizer
    @property
    def backend_tokenizer(self) -> Tokenizer: ...


TokenizerLike: TypeAlias = Tokenizer | HasBackendTokenizer


def backend_tokenizer(tokenizer: TokenizerLike) -> Tokenizer:
    """The ``tokenizers.Tokenizer`` behind ``tokenizer``; ``DecodeStream`` needs one."""
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if not isinstance(backend, Tokenizer):
        raise TypeError(f"need a tokenizers.Tokenizer or a fast tokenizer, got {tokenizer!r}")
    return backend


class IncrementalDetokenizer:
    """Decodes one sequence's token IDs as they arrive, O(1) work per token.

    Wraps ``DecodeStream``, which re-decodes only the last emitted piece plus the new tokens and
    yields nothing until the bytes form whole characters: a character split across tokens comes
    out once, complete. ``finish`` writes out what never completed, as ``Tokenizer.decode``
    would (U+FFFD). The output equals vLLM's, which equals a one-shot decode except where held
    bytes that never made a character are followed by a token that rewrites them: vLLM drops
    them (``Invalid prefix``), and so does this.
    """

    def __init__(
        self,
        tokenizer: TokenizerLike,
        *,
        hidden_token_ids: Iterable[int] = (),
        skip_special_tokens: bool = True,
        prompt_token_ids: Sequence[int] = (),
    ) -> None:
        self._tokenizer = backend_tokenizer(tokenizer)
        self._skip = skip_special_tokens
        hidden = set(hidden_token_ids)
        if skip_special_tokens:  # decoding skips them anyway; dropping them early bounds the window
            added = self._tokenizer.get_added_tokens_decoder()
            hidden.update(i for i, token in added.items() if token.special)
        self._hidden = frozenset(hidden)
        # Mirrors DecodeStream's window: the last emitted piece, and the tokens fed since.
        self._context = list(prompt_token_ids[-PROMPT_CONTEXT_TOKENS:])
        self._pending: list[int] = []
        self._stream = DecodeStream(ids=self._context, skip_special_tokens=skip_special_tokens)

    def step(self, token_ids: Sequence[int]) -> str:
        """The text these IDs complete (maybe ``""`` while a character is unfinished)."""
        pieces: list[str] = []
        for token_id in token_ids:
            if token_id in self._hidden:
                continue
            self._pending.append(token_id)
            try:
                piece = self._stream.step(self._tokenizer, token_id)
            except Exception as error:
                if "Invalid prefix" not in str(error):
                    raise
                # The text before changed (bytes held back that never made a character): vLLM
                # restarts the stream at this token, and those bytes are gone from its text.
                self._context, self._pending = [], [token_id]
                self._stream = DecodeStream(skip_special_tokens=self._skip)
                piece = self._stream.step(self._tokenizer, token_id)
            if piece is not None:
                pieces.append(piece)
                self._context, self._pending = self._pending, []
            elif len(self._pending) >= MAX_PENDING_TOKENS:
                pieces.append(self.finish())
        return "".join(pieces)

    def finish(self) -> str:
        """Whatever is held back, decoded as is; the stream restarts after it."""
        if not self._pending:
            return ""
        before = self._tokenizer.decode(self._context, skip_special_tokens=self._skip)
        text = self._tokenizer.decode(self._context + self._pending, skip_special_tokens=self._skip)
        self._pending = []
        # The old context decoded cleanly; the flushed tokens may not, and would poison the prefix.
        self._stream = DecodeStream(ids=self._context, skip_special_tokens=self._skip)
        return text[len(before) :]


class StopStringMatcher:
    """Finds stop strings in streamed text, holding back only what may still become one.

    An Aho-Corasick automaton carries the match state between calls, so each call costs the
    new text plus at most the longest stop string, never a rescan of earlier output. The stop
    that ends earliest wins; among stops ending at the same character, the first listed. vLLM
    checks after every token, so it agrees unless two stops complete in the same token (then it
    takes the first listed, wherever it ends).
    """

    def __init__(self, stop: Sequence[str], *, include_stop_str_in_output: bool = False) -> None:
        if any(not s for s in stop):
            raise ValueError("stop strings must not be empty")  # as vLLM's SamplingParams
        self._stops = tuple(stop)
        self._include = include_stop_str_in_output
        self._goto: list[dict[str, int]] = [{}]
        self._fail = [0]
        self._depth = [0]
        # Per trie node: the first-listed stop that ends its text (len(stop) if none).
        self._best = [len(self._stops)]
        self._build()
        self._node = 0
        self._held = ""
        self.stopped = False
        self.matched: str | None = None

    def _build(self) -> None:
        for index, stop in enumerate(self._stops):
            node = 0
            for char in stop:
                child = self._goto[node].get(char)
                if child is None:
                    child = len(self._goto)
                    self._goto[node][char] = child
                    self._goto.append({})
                    self._fail.append(0)
                    self._depth.append(self._depth[node] + 1)
                    self._best.append(len(self._stops))
                node = child
            self._best[node] = min(self._best[node], index)
        queue = deque(self._goto[0].values())
        while queue:
            node = queue.popleft()
            self._best[node] = min(self._best[node], self._best[self._fail[node]])
            for char, child in self._goto[node].items():
                if node:
                    self._fail[child] = self._next(self._fail[node], char)
                queue.append(child)

    def _next(self, node: int, char: str) -> int:
        while node and char not in self._goto[node]:
            node = self._fail[node]
        return self._goto[node].get(char, 0)

    def feed(self, text: str, *, may_stop: bool = True) -> tuple[str, bool]:
        """(text safe to emit now, whether a stop matched); input after a stop is ignored.
        With ``may_stop=False`` no stop can end inside ``text`` (vLLM's ``min_tokens``), but
        one may begin there."""
        if self.stopped:
            return "", True
        if not self._stops:
            return text, False
        buffer = self._held + text
        node = self._node
        for offset, char in enumerate(text, start=len(self._held)):
            node = self._next(node, char)
            if may_stop and self._best[node] < len(self._stops):
                stop = self._stops[self._best[node]]
                end = offset + 1 if self._include else offset + 1 - len(stop)
                self.stopped, self.matched, self._held = True, stop, ""
                return buffer[:end], True
        self._node = node
        # Including the stop in the output means nothing needs retracting: vLLM holds nothing.
        keep = len(buffer) if self._include else len(buffer) - self._depth[node]
        self._held = buffer[keep:]
        return buffer[:keep], False

    def flush(self) -> str:
        """The held-back text, at the end of a stream that no stop string ended."""
        held, self._held = self._held, ""
        return "" if self.stopped else held


class TokenDecoder:
    """Text for one generated sequence, from its token IDs, as vLLM's HTTP server would give it.

    EOS (unless ``ignore_eos``) and ``stop_token_ids`` end the sequence and, as in vLLM, are
    decoded only with ``include_stop_str_in_output``. ``matched_stop`` is the stop string or
    stop token ID that ended it, ``None`` for EOS (vLLM's ``stop_reason``). Once ``stopped``,
    every step has already returned all the text; later IDs are ignored.
    """

    def __init__(
        self,
        tokenizer: TokenizerLike,
        *,
        stop: Sequence[str] = (),
        stop_token_ids: Sequence[int] = (),
        eos_token_ids: Sequence[int] = (),
        ignore_eos: bool = False,
        include_stop_str_in_output: bool = False,
        skip_special_tokens: bool = True,
        prompt_token_ids: Sequence[int] = (),
        min_tokens: int = 0,
    ) -> None:
        self._stop_ids = frozenset(stop_token_ids)
        self._final_ids = self._stop_ids | frozenset(() if ignore_eos else eos_token_ids)
        self._detokenizer = IncrementalDetokenizer(
            tokenizer,
            hidden_token_ids=() if include_stop_str_in_output else self._final_ids,
            skip_special_tokens=skip_special_tokens,
            prompt_token_ids=prompt_token_ids,
        )
        self._matcher = StopStringMatcher(
            stop, include_stop_str_in_output=include_stop_str_in_output
        )
        self._final_id: int | None = None
        self._unchecked = min_tokens  # tokens still to come in which no stop string may end

    @property
    def stopped(self) -> bool:
        return self._matcher.stopped or self._final_id is not None

    @property
    def matched_stop(self) -> str | int | None:
        if self._matcher.matched is not None:
            return self._matcher.matched
        return self._final_id if self._final_id in self._stop_ids else None

    def step(self, token_ids: Sequence[int]) -> str:
        """The text these IDs add, after stop handling (held-back text comes later)."""
        if self.stopped:
            return ""
        for index, token_id in enumerate(token_ids):
            if token_id in self._final_ids:
                token_ids = token_ids[: index + 1]
                break
        last = token_ids[-1] if token_ids else None
        text = ""
        if self._unchecked:  # only the first min_tokens tokens pay for the split
            early, token_ids = token_ids[: self._unchecked], token_ids[self._unchecked :]
            self._unchecked -= len(early)
            text, _ = self._matcher.feed(self._detokenizer.step(early), may_stop=False)
        if token_ids:
            more, _ = self._matcher.feed(self._detokenizer.step(token_ids))
            text += more
        if last in self._final_ids and not self._matcher.stopped:
            text += self.finish()  # nothing follows a stop token: release the held text now
            self._final_id = last
        return text

    def finish(self) -> str:
        """The rest of the text, at the end of the stream (``""`` if a stop already ended it)."""
        if self.stopped:
            return ""
        text, _ = self._matcher.feed(self._detokenizer.finish())
        return text + self._matcher.flush()

    def decode(self, token_ids: Sequence[int]) -> str:
        """One-shot text of a whole sequence (fresh decoder): the same streaming, in one chunk."""
        return self.step(token_ids) + self.finish()
