"""The tool-call structural tags vLLM 0.32 builds by a tool parser's ``structural_tag_model``
key for the families whose call arguments are JSON, as xgrammar formats (JSON): vLLM's own
hermes builder and ports of xgrammar's built-in templates (``llama``, ``kimi``,
``deepseek_r1``, ``deepseek_v3_1``), called as vLLM calls them (reasoning disabled, default
options), and the parts the other families' builders (``xml_tool_tags``, ``harmony_tool_tags``)
share. xgrammar itself is no client dependency: it brings torch.

Each builder takes the function tools (their ``strict`` already pinned the way vLLM's
``resolve_tool_strictness`` pins it) and the simplified tool choice: "auto", "required" or
"forced" (one named tool). Fields left at xgrammar's defaults are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

Choice = Literal["auto", "required", "forced"]
Format = dict[str, Any]
Builder = Callable[[Sequence[Mapping[str, Any]], Choice], Format]

THINK_TAGS = ["<think>", "</think>"]


def _deepseek_token(words: str) -> str:
    """DeepSeek's special tokens: full-width bars, words joined by U+2581."""
    return "<\uff5c" + words.replace(" ", "\u2581") + "\uff5c>"


_DS_CALLS_BEGIN, _DS_CALLS_END = (
    _deepseek_token("tool calls begin"),
    _deepseek_token("tool calls end"),
)
_DS_CALL_BEGIN, _DS_CALL_END = _deepseek_token("tool call begin"), _deepseek_token("tool call end")
_DS_SEP = _deepseek_token("tool sep")
_KIMI_SECTION = ("<|tool_calls_section_begin|>", "<|tool_calls_section_end|>")


def arguments_schema(function: Mapping[str, Any]) -> Any:
    """The schema a call's arguments follow: the tool's parameters when it is strict."""
    if function.get("strict") is False or function.get("parameters") is None:
        return True
    return function["parameters"]


def json_schema(function: Mapping[str, Any]) -> Format:
    return {"type": "json_schema", "json_schema": arguments_schema(function)}


def tag(begin: str, content: Format, end: str | list[str]) -> Format:
    return {"type": "tag", "begin": begin, "content": content, "end": end}


def const(value: str) -> Format:
    return {"type": "const_string", "value": value}


def separated(tags: list[Format], separator: str, *, stop_after_first: bool = False) -> Format:
    return {
        "type": "tags_with_separator",
        "tags": tags,
        "separator": separator,
        "at_least_one": True,
        "stop_after_first": stop_after_first,
    }


def triggered(triggers: list[str], tags: list[Format], **options: Any) -> Format:
    return {"type": "triggered_tags", "triggers": triggers, "tags": tags, **options}


def _hermes(functions: Sequence[Mapping[str, Any]], choice: Choice) -> Format:
    """vLLM's ``get_hermes_structural_tag``: ``<tool_call>`` JSON, with or without newlines."""
    envelopes = (("<tool_call>\n", "}\n</tool_call>"), ("<tool_call>", "}</tool_call>"))
    tags = [
        tag(f'{begin}{{"name": "{f["name"]}", "arguments": ', json_schema(f), end)
        for f in functions
        for begin, end in envelopes
    ]
    if choice == "auto":
        return triggered(["<tool_call>"], tags) if tags else {"type": "any_text"}
    return separated(tags, "", stop_after_first=choice == "forced")


def _llama(functions: Sequence[Mapping[str, Any]], choice: Choice) -> Format:
    """xgrammar's ``get_llama_structural_tag``: bare ``{"name": ..., "parameters": ...}``."""
    tags = [tag(f'{{"name": "{f["name"]}", "parameters": ', json_schema(f), "}") for f in functions]
    if choice == "forced":
        return tags[0]
    if choice == "auto" and not tags:
        return {"type": "any_text", "excludes": THINK_TAGS}
    options: dict[str, Any] = {"excludes": THINK_TAGS, "at_least_one": choice == "required"}
    return triggered(['{"name": '], tags, **options)


def _kimi(functions: Sequence[Mapping[str, Any]], choice: Choice) -> Format:
    """xgrammar's ``get_kimi_structural_tag``: a section of numbered ``functions.NAME:N``."""
    begin, end = _KIMI_SECTION
    tags = [
        tag(
            f"<|tool_call_begin|>functions.{f['name']}:",
            {
                "type": "sequence",
                "elements": [
                    {"type": "regex", "pattern": r"\d+"},
                    const("<|tool_call_argument_begin|>"),
                    json_schema(f),
                ],
            },
            "<|tool_call_end|>",
        )
        for f in functions
    ]
    if choice == "auto":
        if not tags:
            return {"type": "any_text", "excludes": THINK_TAGS}
        section = tag(begin, separated(tags, ""), end)
        return triggered([begin], [section], excludes=[*THINK_TAGS, "<|tool_call_begin|>"])
    calls = tags[0] if choice == "forced" else separated(tags, "")
    return {"type": "sequence", "elements": [const(begin), calls, const(end)]}


def _deepseek(call_begin: Callable[[str], str], call_end: str, separator: str) -> Builder:
    """xgrammar's DeepSeek templates: the calls inside DeepSeek's tool-calls tokens."""

    def build(functions: Sequence[Mapping[str, Any]], choice: Choice) -> Format:
        tags = [tag(call_begin(f["name"]), json_schema(f), call_end) for f in functions]
        if choice == "forced":
            only = tags[0]
            return tag(
                _DS_CALLS_BEGIN + only["begin"], only["content"], only["end"] + _DS_CALLS_END
            )
        if choice == "auto" and not tags:
            return {"type": "any_text", "excludes": THINK_TAGS}
        calls = tag(_DS_CALLS_BEGIN, separated(tags, separator), _DS_CALLS_END)
        if choice == "required":
            return calls
        return triggered([_DS_CALLS_BEGIN], [calls], excludes=THINK_TAGS)

    return build


JSON_BUILDERS: dict[str, Builder] = {
    "hermes": _hermes,
    "llama": _llama,
    "kimi": _kimi,
    "deepseek_r1": _deepseek(
        lambda name: f"{_DS_CALL_BEGIN}function{_DS_SEP}{name}\n```json\n",
        f"\n```{_DS_CALL_END}",
        "\n",
    ),
    "deepseek_v3_1": _deepseek(lambda name: f"{_DS_CALL_BEGIN}{name}{_DS_SEP}", _DS_CALL_END, ""),
}


def limit_to_one_call(node: Any) -> None:
    """vLLM's ``limit_to_single_tool_call``: every list of calls stops after its first."""
    if isinstance(node, dict):
        if node.get("type") in ("triggered_tags", "token_triggered_tags", "tags_with_separator"):
            node["stop_after_first"] = True
        for value in node.values():
            limit_to_one_call(value)
    elif isinstance(node, list):
        for item in node:
            limit_to_one_call(item)
