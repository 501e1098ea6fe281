"""Hermes / Qwen JSON tool calls (``hermes``, ``qwen3_json``), vLLM 0.32's
``vllm/tool_parsers/hermes_tool_parser.py``: ``<tool_call>{"name": ..., "arguments": ...}
</tool_call>``, found by text (vLLM decodes with special tokens kept when tools are given).

One-shot (``extract_tool_calls``): all blocks parse as JSON with a ``name`` and ``arguments``,
or there are no calls and the text is content; arguments are re-serialized; content is the
text before the first ``<tool_call>``.

Streamed (``extract_tool_calls_streaming``), vLLM reads differently, and so do we there: the
name is the first ``"name": "..."`` in a block, the arguments are the block's text after
``"arguments":`` as written (its closing ``}`` dropped once the block is whole), a block that
is no JSON still streams, and text after the first ``<tool_call>`` is never content. vLLM
re-reads the whole text each delta; here each block keeps its scan positions, so a delta costs
its own length.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from vllm_integrations.transports.grpc.parsers.base import ParsedDelta, new_tool_call_id
from vllm_integrations.types import ToolCallDelta

START, END = "<tool_call>", "</tool_call>"
_BLOCKS = re.compile(r"<tool_call>(.*?)</tool_call>|<tool_call>(.*)", re.S)
_NAME = re.compile(r'"name"\s*:\s*"([^"]+)"')
_ARGS = re.compile(r'"arguments"\s*:\s*')


def overlap(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def extract(text: str) -> tuple[list[ToolCallDelta] | None, str | None]:
    if START not in text:
        return None, text
    calls = []
    try:
        for index, (closed, open_) in enumerate(_BLOCKS.findall(text)):
            call: Any = json.loads(closed or open_)
            name = call["name"]
            if not isinstance(name, str):
                raise TypeError("name")
            arguments = json.dumps(call["arguments"], ensure_ascii=False)
            calls.append(ToolCallDelta(index, new_tool_call_id(), name, arguments))
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        return None, text
    return calls, text[: text.find(START)] or None


class _Block:
    """One ``<tool_call>`` region of the streamed text and what was sent of it."""

    __slots__ = ("args_at", "end", "name", "name_from", "sent", "start")

    def __init__(self, start: int) -> None:
        self.start = start  # just after <tool_call>
        self.end: int | None = None  # at </tool_call>, once seen
        self.name: str | None = None
        self.name_from = start
        self.args_at: int | None = None  # where the value after "arguments": starts
        self.sent = 0  # argument characters sent


class HermesTools:
    engine_based = False

    def __init__(self) -> None:
        self._text = ""
        self._sent_content = 0
        self._first: int | None = None
        self._blocks: list[_Block] = []
        self._arguments: list[str | None] = []  # per block: vLLM's prev_tool_call_arr args

    def extract(self, content: str) -> tuple[list[ToolCallDelta] | None, str | None]:
        return extract(content)

    def finish_streaming(self) -> ParsedDelta | None:
        return None

    def remaining_arguments(self) -> str:
        """vLLM's ``get_remaining_unstreamed_args`` for the last block."""
        if not self._arguments:
            return ""
        expected = self._arguments[-1]
        expected = "{}" if expected is None else expected
        sent = self._blocks[len(self._arguments) - 1].sent
        return expected[sent:] if len(expected) >= sent else ""

    def stream(self, text: str, token_ids: Sequence[int]) -> ParsedDelta | None:
        scanned = len(self._text)
        whole, self._text = self._text, ""  # the only reference: CPython extends it in place
        whole += text
        self._text = whole
        content = self._content(scanned)
        self._find_blocks(scanned)
        calls: list[ToolCallDelta] = []
        for index, block in enumerate(self._blocks):
            if index >= len(self._arguments):
                self._arguments.append(None)
            if block.name is None:
                if not self._name(block):
                    break  # a later block waits for this one's name
                calls.append(ToolCallDelta(index, new_tool_call_id(), block.name))
            self._send(index, block, calls)
        return ParsedDelta(content=content, tool_calls=calls) if content or calls else None

    def _content(self, scanned: int) -> str:
        text = self._text
        if self._first is None:
            found = text.find(START, max(0, scanned - len(START)))
            self._first = found if found >= 0 else None
        end = self._first if self._first is not None else len(text) - overlap(text, START)
        if end <= self._sent_content:
            return ""
        content, self._sent_content = text[self._sent_content : end], end
        return content

    def _find_blocks(self, scanned: int) -> None:
        text = self._text
        while True:
            if not self._blocks or self._blocks[-1].end is not None:
                after = self._blocks[-1].end + len(END) if self._blocks else 0  # type: ignore[operator]
                found = text.find(START, max(after, scanned - len(START)))
                if found < 0:
                    return
                self._blocks.append(_Block(found + len(START)))
            block = self._blocks[-1]
            end = text.find(END, max(block.start, scanned - len(END)))
            if end < 0:
                return
            block.end = end

    def _region(self, block: _Block) -> tuple[str, int]:
        """The block's text (a partial closing tag cut) and where it ends in ``_text``."""
        if block.end is not None:
            return self._text, block.end
        end = len(self._text)
        return self._text, end - overlap(self._text[max(block.start, end - len(END)) :], END)

    def _name(self, block: _Block) -> bool:
        text, end = self._region(block)
        match = _NAME.search(text, block.name_from, end)
        if match is None:
            last = text.rfind('"name"', block.name_from, end)
            block.name_from = last if last >= 0 else max(block.name_from, end - 5)
            return False
        block.name = match.group(1)
        return True

    def _send(self, index: int, block: _Block, calls: list[ToolCallDelta]) -> None:
        """The argument text not sent yet (vLLM compares lengths only, as here)."""
        text, end = self._region(block)
        stripped_end = end
        while stripped_end > block.start and text[stripped_end - 1].isspace():
            stripped_end -= 1
        if block.sent == 0:  # until then, whitespace after the colon may still grow
            match = _ARGS.search(text, block.start, stripped_end)
            block.args_at = None if match is None else match.end()
        if block.args_at is None:
            return
        args_end = stripped_end
        if self._complete(block, text, stripped_end) and text[args_end - 1] == "}":
            args_end -= 1  # the "}" closing the call object
            while args_end > block.args_at and text[args_end - 1].isspace():
                args_end -= 1
        length = max(args_end - block.args_at, 0)
        if length <= block.sent:
            return
        piece = text[block.args_at + block.sent : block.args_at + length]
        block.sent = length
        self._arguments[index] = text[block.args_at : block.args_at + length]
        calls.append(ToolCallDelta(index, arguments=piece))

    def _complete(self, block: _Block, text: str, stripped_end: int) -> bool:
        if block.end is not None:
            return True
        if stripped_end <= block.start or text[stripped_end - 1] not in "}]":
            return False  # only a closing bracket can end a JSON object or array
        try:
            json.loads(text[block.start : stripped_end])
        except ValueError:
            return False
        return True
