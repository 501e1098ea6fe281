"""gpt-oss's harmony format (``openai`` tool calls, ``openai_gptoss`` reasoning), read on token
IDs with the ``openai_harmony`` library as vLLM 0.32's ``HarmonyParser``
(``vllm/parser/harmony.py``) reads it: the ``analysis`` channel is reasoning, ``final`` (and
``commentary`` to no one) is content, a message to ``functions.NAME`` is a call.

vLLM picks this parser for every gpt-oss model whatever the names; here either name selects
it, and each part is kept only when its name is given, as in vLLM (reasoning without
``openai_gptoss`` is dropped, calls without ``openai`` too). One-shot, channel texts of several
messages are joined with a newline; streamed, they are concatenated: both as vLLM does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from vllm_integrations.transports.grpc.parsers.base import ParsedDelta, new_tool_call_id
from vllm_integrations.types import ToolCallDelta

_BUILTIN = ("python", "browser", "container")
Segment = tuple[str | None, str | None, str, bool]
"""(channel, recipient, content delta, whether it completed a message)."""
_ENCODING: Any = None
_LOCK = threading.Lock()


def encoding() -> Any:
    """Harmony's gpt-oss encoding (its vocabulary ships with ``oss-harmony``), loaded once."""
    global _ENCODING
    with _LOCK:
        if _ENCODING is None:
            from openai_harmony import HarmonyEncodingName, load_harmony_encoding

            _ENCODING = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
        return _ENCODING


def _recipient(recipient: str | None) -> str | None:
    """Older harmony versions leave ``<|constrain|>json`` in the recipient."""
    if recipient is None:
        return None
    cut = recipient.find("<|constrain|>")
    return recipient if cut < 0 else recipient[:cut].rstrip() or None


def _is_function(recipient: str | None) -> bool:
    if not recipient or recipient.startswith("<|") or recipient == "assistant":
        return False
    if recipient.startswith("functions."):
        return len(recipient) > len("functions.")
    return recipient.split(".", 1)[0] not in _BUILTIN


def _kind(channel: str | None, recipient: str | None) -> str:
    if _is_function(recipient):
        return "tool"
    if channel == "analysis":
        return "reasoning"
    if channel == "final" or (channel == "commentary" and recipient is None):
        return "content"
    return "ignore"


class HarmonyParser:
    """One choice of a gpt-oss reply, token by token."""

    def __init__(self, *, reasoning: bool, tools: bool, decode: Any) -> None:
        from openai_harmony import Role, StreamableParser

        self._parser = StreamableParser(encoding(), role=Role.ASSISTANT)
        self._ends = frozenset(encoding().stop_tokens())  # <|end|>, <|call|>, <|return|>
        self._reasoning, self._tools, self._decode = reasoning, tools, decode
        self._pending: list[int] = []  # tokens of the message in progress (for recovery)
        self._next_index = 0
        self.in_reasoning = False

    def _segments(self, token_ids: Sequence[int]) -> list[Segment]:
        from openai_harmony import HarmonyError

        segments: list[Segment] = []
        for token_id in token_ids:
            try:
                self._parser.process(token_id)
            except HarmonyError:
                continue
            channel = self._parser.current_channel
            recipient = _recipient(self._parser.current_recipient)
            done = self._completed(token_id)
            if done:
                self._pending = []
            else:
                self._pending.append(token_id)
            segments.append((channel, recipient, self._parser.last_content_delta or "", done))
        self.in_reasoning = self._parser.current_channel == "analysis"
        return segments

    def _completed(self, token_id: int) -> bool:
        """Whether ``token_id`` completed a message: an end token read in a message's content
        (in a header it is a header token). The parser is asked only then, as each read of its
        state serializes the message in progress (and of its messages, all of them)."""
        from openai_harmony import StreamState

        return token_id in self._ends and self._parser.state == StreamState.EXPECT_START

    def _end(self) -> str | None:
        """Read the end of the output; the raw text of a message it cut off mid-header or
        mid-content, which vLLM makes final content."""
        from openai_harmony import HarmonyError

        try:
            self._parser.process_eos()
        except HarmonyError:
            return str(self._decode(self._pending))
        return None

    def feed(self, text: str, token_ids: Sequence[int]) -> ParsedDelta:
        previous = _recipient(self._parser.current_recipient)
        return self._deltas(self._segments(token_ids), previous)

    def finish(self) -> ParsedDelta:
        cut = self._end()
        delta = self._deltas([] if cut is None else [("final", None, cut, False)], None)
        self._next_index = 0
        return delta

    def _deltas(self, segments: list[Segment], previous: str | None) -> ParsedDelta:
        delta = ParsedDelta()
        for channel, recipient, piece, done in segments:
            if done:
                previous = None
                continue
            kind = _kind(channel, recipient)
            if kind == "reasoning" and self._reasoning:
                delta.reasoning += piece
            elif kind == "content":
                delta.content += piece
            elif kind == "tool" and self._tools and recipient is not None:
                if previous != recipient:
                    name = recipient.removeprefix("functions.")
                    call = ToolCallDelta(self._next_index, new_tool_call_id(), name, piece)
                    delta.tool_calls.append(call)
                    self._next_index += 1
                    previous = recipient
                elif piece:
                    delta.tool_calls.append(ToolCallDelta(self._next_index - 1, arguments=piece))
        return delta

    def parse(self, text: str, token_ids: Sequence[int] = ()) -> ParsedDelta:
        """A whole output (vLLM's ``HarmonyParser.parse``: token IDs only)."""
        from openai_harmony import Message, Role

        reasoning: list[str] = []
        content: list[str] = []
        calls: list[ToolCallDelta] = []
        self._segments(token_ids)
        cut = self._end()
        messages = self._parser.messages
        if cut is not None:  # as final content
            cut_off = Message.from_role_and_content(Role.ASSISTANT, cut)
            messages.append(cut_off.with_channel("final"))
        for message in messages:
            message.recipient = _recipient(message.recipient)
            if message.author.role != "assistant" or not message.content:
                continue
            body = message.content[0].text
            kind = _kind(message.channel, message.recipient)
            if kind == "reasoning" and self._reasoning and body:
                reasoning.append(body)
            elif kind == "content" and body:
                content.append(body)
            elif kind == "tool" and self._tools:
                name = message.recipient.removeprefix("functions.")
                calls.append(
                    ToolCallDelta(len(calls), new_tool_call_id(), name, _arguments(message, body))
                )
        return ParsedDelta("\n".join(reasoning), "\n".join(content), calls)


def _arguments(message: Any, body: str) -> str:
    content_type = message.content_type
    if content_type is not None and "json" not in content_type:
        return body
    try:
        return json.dumps(json.loads(body))
    except ValueError:
        return body
