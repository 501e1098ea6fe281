"""Streaming tool-call extraction that reproduces vLLM's ``--tool-call-parser`` on content text.

Runs on content only (after the reasoning parser split reasoning off), as vLLM does. Results equal
vLLM 0.32's non-streaming ``extract_tool_calls`` plus the serving layer's post-processing, and
a whole reply is one ``feed`` then ``finish``, so streamed and one-shot results agree by
construction.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, ClassVar

from vllm_integrations.types import ToolCallDelta

TOOL_CALL_PARSERS: dict[str, type[ToolCallParser]] = {}
"""Concrete parsers by vLLM CLI name; subclasses add themselves with ``name=...``."""


def new_tool_call_id() -> str:
    return f"call_{uuid.uuid4().hex}"


class ToolCallParser:
    """Splits one stream's content into plain content and tool-call deltas; one per stream."""

    name: ClassVar[str] = ""

    def __init_subclass__(cls, *, name: str = "", **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if name:
            cls.name = name
            TOOL_CALL_PARSERS[name] = cls

    def feed(self, delta_text: str) -> tuple[str, list[ToolCallDelta]]:
        """Consume one content delta; return the content and tool-call deltas it settles."""
        raise NotImplementedError

    def finish(self) -> tuple[str, list[ToolCallDelta]]:
        """End of stream: release everything held back."""
        raise NotImplementedError

    trigger: ClassVar[str | None] = None
    """The text that opens a call, when the format can be forced with a structural tag."""

    @classmethod
    def call_envelopes(cls, tool_name: str) -> tuple[tuple[str, str], ...]:
        """The (before, after) texts around one call's arguments JSON, in each spelling the
        parser reads: what a structural tag forcing a call of ``tool_name`` lets the model
        write. Empty when the format has no such tag (vLLM has none for it either)."""
        del tool_name
        return ()


def _overlap(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class HermesToolCallParser(ToolCallParser, name="hermes"):
    """vLLM's ``hermes`` parser (``vllm/tool_parsers/hermes_tool_parser.py``).

    Calls are ``<tool_call>{"name": ..., "arguments": ...}</tool_call>``; the JSON may have any
    whitespace around it. Decisions, each as vLLM makes it in ``extract_tool_calls``:

    - content is the text before the first ``<tool_call>``; text between and after calls is
      dropped (``model_output[: model_output.find(start)]``);
    - that content is dropped when it is only whitespace and calls were found (the serving
      layer's ``content.strip() == ""`` check, ``DelegatingParser._extract_tool_calls``), so it
      is held back while it is all whitespace;
    - a block without ``</tool_call>`` runs to the end of the text and counts when it is valid
      JSON (``<tool_call>(.*)`` in ``tool_call_regex``), e.g. after a stop at the closing tag;
    - all or nothing: if any block is not JSON, lacks ``name`` (a string) or ``arguments``, there
      are no calls and the whole text, tags included, is content (the ``except Exception`` path);
    - arguments are ``json.dumps(arguments, ensure_ascii=False)`` of the parsed value.

    Because a later block can still void earlier ones, calls are released by ``finish``; content
    before the first ``<tool_call>`` streams as it comes. Only a possible ``<tool_call>`` prefix
    (under 11 characters) is held back before the first call; after it the text is buffered in a
    list and scanned once at the end, so the total work is linear in the stream length.
    """

    START = "<tool_call>"
    END = "</tool_call>"
    trigger = START

    @classmethod
    def call_envelopes(cls, tool_name: str) -> tuple[tuple[str, str], ...]:
        # vLLM's hermes structural tag (``structural_tag_registry._hermes_tool_tags``): the
        # name goes in unescaped, with and without newlines inside the tags.
        head = f'{{"name": "{tool_name}", "arguments": '
        return (
            (f"{cls.START}\n{head}", f"}}\n{cls.END}"),
            (f"{cls.START}{head}", f"}}{cls.END}"),
        )

    def __init__(self) -> None:
        self._tail = ""  # a possible prefix of START, before the first call
        self._blank: list[str] = []  # leading whitespace-only content, held until decided
        self._seen_text = False  # content other than whitespace was released
        self._calls: list[str] | None = None  # raw text after the first START, once seen

    def feed(self, delta_text: str) -> tuple[str, list[ToolCallDelta]]:
        if self._calls is not None:
            self._calls.append(delta_text)
            return "", []
        text = self._tail + delta_text
        start = text.find(self.START)
        if start >= 0:
            self._tail = ""
            self._calls = [text[start + len(self.START) :]]
            return self._release(text[:start]), []
        end = len(text) - _overlap(text, self.START)
        self._tail = text[end:]
        return self._release(text[:end]), []

    def _release(self, text: str) -> str:
        """Content to send now; leading whitespace waits to see whether calls follow."""
        if self._seen_text or not text:
            return text
        if text.isspace():
            self._blank.append(text)
            return ""
        self._seen_text = True
        blank, self._blank = "".join(self._blank), []
        return blank + text

    def finish(self) -> tuple[str, list[ToolCallDelta]]:
        blank, self._blank = "".join(self._blank), []
        if self._calls is None:
            tail, self._tail = self._tail, ""
            return blank + tail, []
        body = "".join(self._calls)
        self._calls = []
        parsed = self._parse_calls(body)
        if parsed is None:
            return blank + self.START + body, []
        deltas: list[ToolCallDelta] = []
        for index, (name, arguments) in enumerate(parsed):
            deltas.append(ToolCallDelta(index=index, id=new_tool_call_id(), name=name))
            deltas.append(ToolCallDelta(index=index, arguments=arguments))
        return "", deltas

    def _parse_calls(self, body: str) -> list[tuple[str, str]] | None:
        """(name, arguments JSON) per block of ``body`` (text after the first START), or None."""
        calls: list[tuple[str, str]] = []
        pos = 0
        while True:
            end = body.find(self.END, pos)
            call = _parse_call(body[pos:] if end < 0 else body[pos:end])
            if call is None:
                return None
            calls.append(call)
            if end < 0:
                return calls
            start = body.find(self.START, end + len(self.END))
            if start < 0:
                return calls
            pos = start + len(self.START)


def _parse_call(raw: str) -> tuple[str, str] | None:
    try:
        call: Any = json.loads(raw)
        name = call["name"]
        arguments = json.dumps(call["arguments"], ensure_ascii=False)
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        return None
    return (name, arguments) if isinstance(name, str) else None
