"""GLM-4.5/4.7 (``glm45``, ``glm47``): ``<think>`` reasoning and XML-ish tool calls, vLLM
0.32's ``vllm/parser/glm47_moe.py`` on the ported engine::

    <tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>

Values are text, typed by the tool's schema; a call to a tool the request does not offer is
dropped (``validate_tool_names``).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from vllm_integrations.transports.grpc.parsers.engine import EngineConfig, Ev, Go, State
from vllm_integrations.transports.grpc.parsers.engine_parser import EngineParser

_ARG = re.compile(r"<arg_key>(?P<key>.*?)</arg_key>\s*<arg_value>(?P<value>.*?)</arg_value>", re.S)
_PARTIAL_ARG = re.compile(r"<arg_key>(?P<key>.*?)</arg_key>\s*<arg_value>(?P<value>.*)$", re.S)
_ARG_TAGS = ("ARG_KEY_START", "ARG_KEY_END", "ARG_VALUE_START", "ARG_VALUE_END")


def glm_arguments(raw: str, partial: bool) -> str:
    params: dict[str, Any] = {m.group("key").strip(): m.group("value") for m in _ARG.finditer(raw)}
    if partial and (m := _PARTIAL_ARG.search(_ARG.sub("", raw))) and m.group("key").strip():
        params[m.group("key").strip()] = m.group("value")
    return json.dumps(params, ensure_ascii=False)


@cache
def glm_config(thinking: bool = True) -> EngineConfig:
    R, C, N, A = State.REASONING, State.CONTENT, State.TOOL_NAME, State.TOOL_ARGS
    think = {"THINK_START": "<think>", "THINK_END": "</think>"} if thinking else {}
    tools = {"TOOL_START": "<tool_call>", "TOOL_END": "</tool_call>"}
    reasoning_moves = (
        {
            (C, "THINK_START"): Go(R, (Ev.REASONING_START,)),
            (R, "THINK_END"): Go(C, (Ev.REASONING_END,)),
            (C, "THINK_END"): Go(C),
        }
        if thinking
        else {}
    )
    return EngineConfig(
        terminals={
            **think,
            **tools,
            "ARG_KEY_START": "<arg_key>",
            "ARG_KEY_END": "</arg_key>",
            "ARG_VALUE_START": "<arg_value>",
            "ARG_VALUE_END": "</arg_value>",
        },
        token_id_terminals={**think, **tools},
        transitions={
            **reasoning_moves,
            (R, "THINK_START"): Go(R),
            (R, "TOOL_START"): Go(N, (Ev.REASONING_END, Ev.CALL_START)),
            (C, "TOOL_START"): Go(N, (Ev.CALL_START,)),
            (N, "ARG_KEY_START"): Go(A, (Ev.ARGS,)),
            (N, "TOOL_END"): Go(C, (Ev.CALL_END,)),
            (A, "TOOL_END"): Go(C, (Ev.CALL_END,)),
            **{(A, tag): Go(A, (Ev.ARGS,)) for tag in _ARG_TAGS},
        },
        initial_state=R if thinking else C,
        turn_boundary_tokens=frozenset(
            ("<|system|>", "<|user|>", "<|assistant|>", "<|observation|>")
        ),
        arg_converter=glm_arguments,
        tool_args_json=False,
        validate_tool_names=True,
    )


class GlmParser(EngineParser):
    """Names are stripped of the whitespace around them."""

    def clean_name(self, index: int, name: str) -> tuple[str, str | None]:
        return name.strip(), None

    def before_call_end(self, index: int) -> None:
        self.slots[index].name = self.slots[index].name.strip()
