"""Kimi K2 (``kimi_k2``): ``<think>`` reasoning and sectioned tool calls, vLLM 0.32's
``vllm/parser/kimi_k2.py`` on the ported engine::

    <|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0
    <|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>

The header is the call's id (``functions.get_weather:0``); the name is its last dotted part
before ``:N``. Text after a tool section is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from vllm_integrations.transports.grpc.parsers.engine import EngineConfig, Ev, Event, Go, State
from vllm_integrations.transports.grpc.parsers.engine_parser import EngineParser
from vllm_integrations.types import ToolCallDelta

SECTION_START = "<|tool_calls_section_begin|>"
_ID = re.compile(r"(?P<id>.+:\d+)")


@cache
def kimi_config(thinking: bool = True) -> EngineConfig:
    R, C, P, N, A, B = (
        State.REASONING,
        State.CONTENT,
        State.TOOL_PREAMBLE,
        State.TOOL_NAME,
        State.TOOL_ARGS,
        State.TOOL_BETWEEN,
    )
    think = {"THINK_START": "<think>", "THINK_END": "</think>"} if thinking else {}
    tags = {
        **think,
        "TOOL_SECTION_START": SECTION_START,
        "TOOL_SECTION_END": "<|tool_calls_section_end|>",
        "TOOL_START": "<|tool_call_begin|>",
        "TOOL_END": "<|tool_call_end|>",
        "ARG_START": "<|tool_call_argument_begin|>",
    }
    reasoning_moves = (
        {
            (R, "THINK_START"): Go(R),
            (R, "THINK_END"): Go(C, (Ev.REASONING_END,)),
            (C, "THINK_END"): Go(C),
        }
        if thinking
        else {}
    )
    return EngineConfig(
        terminals=tags,
        token_id_terminals=tags,
        transitions={
            **reasoning_moves,
            (R, "TOOL_SECTION_START"): Go(P, (Ev.REASONING_END,)),
            (C, "TOOL_SECTION_START"): Go(P),
            (P, "TOOL_START"): Go(N, (Ev.CALL_START,)),
            (N, "ARG_START"): Go(A),
            (A, "TOOL_END"): Go(B, (Ev.CALL_END,)),
            (A, "TOOL_SECTION_END"): Go(P, (Ev.CALL_END,)),
            (B, "TOOL_START"): Go(N, (Ev.CALL_START,)),
            (P, "TOOL_SECTION_END"): Go(P),  # text after the section is dropped
            (B, "TOOL_SECTION_END"): Go(P),
        },
        initial_state=R if thinking else C,
        wait_for_reasoning=thinking,
        strip_content_whitespace_with_tools=False,
    )


def _id_and_name(header: str) -> tuple[str | None, str | None]:
    match = _ID.match(header.strip())
    if not match:
        return None, None
    call_id = match.group("id").strip()
    return call_id, call_id.split(":")[0].removeprefix("functions.")


class KimiParser(EngineParser):
    thinking = True

    def clean_name(self, index: int, name: str) -> tuple[str, str | None]:
        call_id, tool_name = _id_and_name(name)
        if not tool_name:
            self.slots[index].name = ""
            return "", None
        return tool_name, call_id or ""

    def before_call_end(self, index: int) -> None:
        slot = self.slots[index]
        if not slot.name_sent:
            call_id, tool_name = _id_and_name(slot.name)
            if tool_name:
                slot.id, slot.name = call_id or "", tool_name

    def after_name_sent(self, event: Event, calls: list[ToolCallDelta]) -> None:
        if event.value:  # the piece that revealed the name is also sent as arguments
            calls.append(ToolCallDelta(index=event.index, arguments=event.value))

    def args_json(self, body: str) -> str:
        return body.strip() or "{}"

    def content_ids(self, token_ids: Sequence[int]) -> list[int]:
        ids = list(token_ids)
        if not self.thinking:
            return ids
        for marker in (self._end_id, self.facts.vocab_id(SECTION_START)):
            if marker is not None and marker in ids:
                last = len(ids) - 1 - ids[::-1].index(marker)
                return ids[last + 1 :] if marker == self._end_id else ids[last:]
        return []
