"""Qwen3: ``<think>`` reasoning (``qwen3``) and XML tool calls (``qwen3_coder``,
``qwen3_xml``), vLLM 0.32's ``vllm/parser/qwen3.py`` on the ported engine::

    <tool_call>
    <function=get_weather>
    <parameter=city>
    Paris
    </parameter>
    </function>
    </tool_call>

Parameter values are text; they are typed by the tool's schema (``"3"`` -> ``3``).
"""

from __future__ import annotations

import json
import re
from functools import cache

from vllm_integrations.transports.grpc.parsers.engine import EngineConfig, Ev, Go, State

_PARAM = re.compile(
    r"<\s*parameter\s*=\s*([^>]*)>(.*?)(?:<\s*/\s*parameter\s*>|(?=<\s*parameter\s*=))", re.S
)
_PARTIAL_PARAM = re.compile(r"<\s*parameter\s*=\s*([^>]+)>(.*)$", re.S)


def _trim_newlines(value: str) -> str:
    """One leading and one trailing newline are the template's markup."""
    value = value.removeprefix("\n")
    return value.removesuffix("\n")


def qwen3_arguments(raw: str, partial: bool) -> str:
    params = {m.group(1): _trim_newlines(m.group(2)) for m in _PARAM.finditer(raw)}
    if partial and (m := _PARTIAL_PARAM.search(_PARAM.sub("", raw))) and m.group(1):
        params[m.group(1)] = _trim_newlines(m.group(2))
    return json.dumps(params, ensure_ascii=False)


@cache
def qwen3_config(thinking: bool = True) -> EngineConfig:
    R, C, P, N, A, B = (
        State.REASONING,
        State.CONTENT,
        State.TOOL_PREAMBLE,
        State.TOOL_NAME,
        State.TOOL_ARGS,
        State.TOOL_BETWEEN,
    )
    tags = {"THINK_START": "<think>", "THINK_END": "</think>"}
    tags |= {"TOOL_START": "<tool_call>", "TOOL_END": "</tool_call>"}
    return EngineConfig(
        terminals={
            **tags,
            "FUNC_PREFIX": "<function=",
            "FUNC_END": "</function>",
            "PARAM_START": "<parameter=",
            "PARAM_END": "</parameter>",
            "CLOSE_ANGLE": ">",
        },
        token_id_terminals=tags,
        transitions={
            (R, "THINK_START"): Go(R),
            (R, "THINK_END"): Go(C, (Ev.REASONING_END,)),
            (C, "THINK_END"): Go(C),  # a repeated </think> is dropped
            (R, "TOOL_START"): Go(P, (Ev.REASONING_END, Ev.CALL_START)),
            (C, "TOOL_START"): Go(P, (Ev.REASONING_END, Ev.CALL_START)),
            (C, "FUNC_PREFIX"): Go(N, (Ev.CALL_START,)),
            (P, "TOOL_END"): Go(C, (Ev.CALL_END,)),
            (P, "FUNC_PREFIX"): Go(N),
            (N, "CLOSE_ANGLE"): Go(A),
            (N, "FUNC_END"): Go(B, (Ev.CALL_END,)),
            (A, "FUNC_END"): Go(B, (Ev.CALL_END,)),
            (A, "PARAM_START"): Go(A, (Ev.ARGS,)),
            (A, "PARAM_END"): Go(A, (Ev.ARGS,)),
            (B, "TOOL_END"): Go(C),
            (B, "TOOL_START"): Go(P, (Ev.CALL_START,)),
            (B, "FUNC_PREFIX"): Go(N, (Ev.CALL_START,)),
        },
        initial_state=R if thinking else C,
        wait_for_reasoning=thinking,
        turn_boundary_tokens=frozenset(("<|im_start|>", "<|im_end|>")),
        arg_converter=qwen3_arguments,
        tool_args_json=False,
        strip_trailing_reasoning_whitespace=False,
    )
