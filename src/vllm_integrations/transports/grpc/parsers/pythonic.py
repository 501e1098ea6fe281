"""Pythonic tool calls (``pythonic``, ``llama4_pythonic``): a Python list of calls,
``[get_weather(city='Paris'), search(query="x")]``, vLLM 0.32's
``vllm/tool_parsers/{pythonic,llama4_pythonic}_tool_parser.py`` and their helpers in
``vllm/tool_parsers/utils.py`` (Apache 2.0), read with Python's own ``ast``.

One-shot, the whole output must be such a list (checked by vLLM's pattern, then parsed) or it
is content. Streamed, the text must start with ``[``: each delta vLLM closes the open brackets
and quotes, parses the result and sends what is new of each call's ``json.dumps`` arguments,
holding back the closing characters it added (``pythonic_stream``). Llama 4 may wrap the
list in ``<|python_start|>`` / ``<|python_end|>``.
"""

from __future__ import annotations

import ast
import json
import warnings
from typing import Any

import regex

from vllm_integrations.transports.grpc.parsers.base import new_tool_call_id
from vllm_integrations.types import ToolCallDelta

_CALLS_PATTERN = regex.compile(
    r"\[([a-zA-Z]+\w*\(([a-zA-Z]+\w*=.*,\s*)*([a-zA-Z]+\w*=.*\s)?\),\s*)*"
    r"([a-zA-Z]+\w*\(([a-zA-Z]+\w*=.*,\s*)*([a-zA-Z]+\w*=.*\s*)?\)\s*)+\]",
    regex.DOTALL,
)
PATTERN_TIMEOUT = 1.0
"""vLLM's ``VLLM_TOOL_PARSE_REGEX_TIMEOUT_SECONDS``: past it, the text is no call list."""
_JSON_NAMES = {"null": None, "true": True, "false": False}
PYTHON_START, PYTHON_END = "<|python_start|>", "<|python_end|>"


class NotACall(ValueError):
    """vLLM's ``UnexpectedAstError``."""


def parameter_value(node: ast.expr) -> Any:
    """vLLM's ``get_parameter_value``: a literal as a JSON value."""
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, (str, int, float)):
            return node.value
        raise NotACall("a constant with no JSON form")
    if isinstance(node, ast.Dict):
        if not all(isinstance(key, ast.Constant) for key in node.keys):
            raise NotACall("a dict key that is no literal")
        return {
            key.value: parameter_value(value)  # type: ignore[union-attr]
            for key, value in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [parameter_value(item) for item in node.elts]
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values)  # type: ignore[attr-defined]
    if isinstance(node, ast.Name) and node.id in _JSON_NAMES:
        return _JSON_NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = parameter_value(node.operand)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    raise NotACall("arguments must be literals")


def _dotted_name(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise NotACall("a call target that is no name")
    parts.append(node.id)
    return ".".join(reversed(parts))


def call_of(node: ast.expr) -> tuple[str, str]:
    """vLLM's ``handle_single_tool``: (name, JSON arguments) of one call."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, (ast.Name, ast.Attribute)):
        raise NotACall("not a call by name")
    name = _dotted_name(node.func)
    arguments = {keyword.arg: parameter_value(keyword.value) for keyword in node.keywords}
    return name, json.dumps(arguments, ensure_ascii=False)


def parse_calls(text: str) -> list[tuple[str, str]]:
    """The calls of a Python list of calls (raises where vLLM's parse fails)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        module = ast.parse(text)
    parsed = getattr(module.body[0], "value", None)
    if not isinstance(parsed, ast.List) or not all(isinstance(e, ast.Call) for e in parsed.elts):
        raise NotACall("not a list of calls")
    return [call_of(element) for element in parsed.elts]


def extract(text: str, llama4: bool) -> tuple[list[ToolCallDelta] | None, str | None]:
    """vLLM's ``extract_tool_calls``."""
    if llama4 and text.startswith(PYTHON_START):
        text = text[len(PYTHON_START) :].replace(PYTHON_END, "")
    try:
        matched = _CALLS_PATTERN.match(text, timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        matched = False
    if not matched:
        return None, text
    try:
        calls = parse_calls(text)
    except (SyntaxError, ValueError, IndexError, RecursionError, TypeError):
        return None, text
    return [ToolCallDelta(i, new_tool_call_id(), n, a) for i, (n, a) in enumerate(calls)], None


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


_CLOSING = {"[": "]", "(": ")", "{": "}", "'": "'", '"': '"'}
_OPENING = {"]": "[", ")": "(", "}": "{"}


def open_brackets(text: str) -> list[tuple[str, int]]:
    """The brackets and quotes left open in ``text`` and where (NotACall when mismatched)."""
    stack: list[tuple[str, int]] = []
    for index, char in enumerate(text):
        if stack and stack[-1][0] in "'\"":
            if char == stack[-1][0] and not _escaped(text, index):
                stack.pop()
        elif char in "[({'\"":
            stack.append((char, index))
        elif char in "])}" and (not stack or stack.pop()[0] != _OPENING[char]):
            raise NotACall("mismatched brackets")
    return stack


def make_valid_python(text: str) -> tuple[str, str] | None:
    """vLLM's ``make_valid_python``: ``text`` with its open brackets and quotes closed, and
    what was added; None when too incomplete to close."""
    stack = [char for char, _ in open_brackets(text)]
    text = text.rstrip()
    if text.endswith(("=", ":")):
        return None
    if stack and stack[-1] == "{":
        before = text[: text.rfind("{")]
        if before.count(":") <= before.count(","):
            return None
    if stack and stack[-1] == "(":
        before = text[: text.rfind("(")]
        if before.count("=") <= before.count(","):
            return None
    if text.endswith(","):
        text = text[:-1]
    if stack and stack[-1] == "[" and not text.endswith(("[", ")")):
        return None
    added = "".join(_CLOSING[char] for char in reversed(stack))
    candidate = text + added
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            module = ast.parse(candidate)
    except SyntaxError:
        return None
    if not module.body:
        return None
    if "}" in added and any(isinstance(node, ast.Set) for node in ast.walk(module)):
        return None
    return candidate, added


def tool_delta(
    sent: str, name: str, arguments: str, index: int, withheld: str
) -> ToolCallDelta | None:
    """vLLM's ``compute_tool_delta``: the arguments not sent yet, less the held-back end."""
    if withheld:
        if not arguments.endswith(withheld):
            raise ValueError("the arguments do not end with the held-back characters")
        arguments = arguments[: -len(withheld)]
    if not sent:
        return ToolCallDelta(index, new_tool_call_id(), name, arguments)
    rest = arguments[len(sent) :]
    return ToolCallDelta(index, arguments=rest) if rest else None
