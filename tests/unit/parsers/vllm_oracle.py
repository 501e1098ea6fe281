"""vLLM's own parsers as the oracle of the differential parser tests; runs in the server's
environment (where vLLM is installed) as ``python -m tests.unit.parsers.vllm_oracle``.

Reads one JSON case a line on stdin and writes one JSON answer a line: what vLLM's HTTP server
makes of the given output tokens, streamed (its detokenizer and ``Parser.parse_delta`` per
chunk, as ``chat_completion_stream_generator`` drives them) and not (``Parser.parse`` on the
whole text, as ``chat_completion_full_generator`` does), after the request went through the
parser's ``adjust_request`` as the renderer applies it.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from types import SimpleNamespace
from typing import Any


@cache
def _tokenizer(path: str) -> Any:
    from vllm.tokenizers import get_tokenizer

    return get_tokenizer(path)


class HarmonyTokenizer:
    """gpt-oss's tokenizer is harmony's own encoding: decode with it (vLLM only decodes to
    recover an unterminated message)."""

    def __init__(self) -> None:
        from vllm.entrypoints.openai.parser.harmony_utils import get_encoding

        self._encoding = get_encoding()

    def decode(self, ids: list[int], **_: Any) -> str:
        return str(self._encoding.decode(ids))

    def get_vocab(self) -> dict[str, int]:
        return {}


def _parser_class(case: dict[str, Any], tokenizer: Any) -> Any:
    from vllm.parser import ParserManager

    harmony = case["tool"] == "openai" or case["reasoning"] == "openai_gptoss"
    return ParserManager.get_parser(
        tool_parser_name=case["tool"],
        reasoning_parser_name=case["reasoning"],
        enable_auto_tools=True,
        is_harmony=harmony,
        tokenizer=None if harmony else tokenizer,
    )


def _request(case: dict[str, Any]) -> Any:
    from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest

    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    keys = ("tools", "tool_choice", "parallel_tool_calls", "chat_template_kwargs")
    for key in (*keys, "structured_outputs"):
        if case.get(key) is not None:
            body[key] = case[key]
    return ChatCompletionRequest(**body)


def _new_parser(parser_cls: Any, tokenizer: Any, request: Any) -> Any:
    return parser_cls(
        tokenizer, request.tools, chat_template_kwargs=request.chat_template_kwargs or {}
    )


def _adjusted(parser_cls: Any, tokenizer: Any, request: Any, harmony: bool) -> Any:
    """The request as ``OnlineRenderer`` hands it on: gpt-oss's (``adjust_harmony_request``)
    adjusted whenever a parser is set, the others when ``should_adjust_request``."""
    if parser_cls is None:
        return request
    if (
        harmony
        or parser_cls.always_adjust_request
        or parser_cls.reasoning_parser_cls is not None
        or request.tool_choice != "none"
    ):
        request = _new_parser(parser_cls, tokenizer, request).adjust_request(request)
    return request


def _detokenizer(tokenizer: Any, request: Any, prompt_ids: list[int]) -> Any:
    from vllm.sampling_params import SamplingParams
    from vllm.v1.engine.detokenizer import FastIncrementalDetokenizer

    params = SamplingParams(skip_special_tokens=request.skip_special_tokens)
    engine_request = SimpleNamespace(
        request_id="r", sampling_params=params, prompt_token_ids=prompt_ids
    )
    return FastIncrementalDetokenizer(tokenizer, engine_request)


def _texts(case: dict[str, Any], tokenizer: Any, request: Any) -> list[str]:
    """Each chunk's delta text, as the engine's detokenizer gives it."""
    chunks: list[list[int]] = case["chunks"]
    if isinstance(tokenizer, HarmonyTokenizer):
        return [tokenizer.decode(chunk) for chunk in chunks]
    detokenizer = _detokenizer(tokenizer, request, case["prompt_ids"])
    texts = []
    for number, chunk in enumerate(chunks):
        last = number == len(chunks) - 1
        detokenizer.update(chunk, stop_terminated=last and case["eos"])
        texts.append(detokenizer.get_next_output_text(finished=last, delta=True))
    return texts


def _stream(case: dict[str, Any], parser_cls: Any, tokenizer: Any, request: Any) -> Any:
    from vllm.entrypoints.serve.utils.tool_calls_utils import maybe_filter_parallel_tool_calls

    parser = _new_parser(parser_cls, tokenizer, request)
    content, reasoning = [], []
    calls: dict[int, dict[str, str]] = {}
    texts = _texts(case, tokenizer, request)
    for number, (chunk, text) in enumerate(zip(case["chunks"], texts, strict=True)):
        delta = parser.parse_delta(
            delta_text=text,
            delta_token_ids=list(chunk),
            request=request,
            prompt_token_ids=case["prompt_ids"],
            finished=number == len(texts) - 1,
        )
        if delta is None:
            continue
        delta = maybe_filter_parallel_tool_calls(delta, request)
        content.append(delta.content or "")
        reasoning.append(delta.reasoning or "")
        for call in delta.tool_calls or ():
            merged = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            merged["id"] = merged["id"] or (call.id or "")
            if call.function is not None:
                function = call.function
                if isinstance(function, dict):
                    function = SimpleNamespace(**{"name": None, "arguments": None, **function})
                merged["name"] += function.name or ""
                merged["arguments"] += function.arguments or ""
    return {
        "content": "".join(content),
        "reasoning": "".join(reasoning),
        "tool_calls": [calls[i] for i in sorted(calls)],
        "text": "".join(texts),
    }


def _one_shot(case: dict[str, Any], parser_cls: Any, tokenizer: Any, request: Any) -> Any:
    parser = _new_parser(parser_cls, tokenizer, request)
    parser.set_prompt_token_ids(case["prompt_ids"])
    text = "".join(_texts(case, tokenizer, request))
    token_ids = [i for chunk in case["chunks"] for i in chunk]
    reasoning, content, tool_calls = parser.parse(
        text, request, enable_auto_tools=True, model_output_token_ids=token_ids
    )
    calls = [
        {"id": call.id or "", "name": call.name, "arguments": call.arguments}
        for call in tool_calls or ()
    ]
    if request.parallel_tool_calls is False:
        calls = calls[:1]
    if case["tool"] is None or request.tool_choice == "none":  # the serving layer's message
        calls = []
    return {"content": content or "", "reasoning": reasoning or "", "tool_calls": calls}


def normalized_tag(tag: dict[str, Any]) -> Any:
    """A structural tag as xgrammar reads it (every field, defaults included)."""
    from xgrammar import StructuralTag  # type: ignore[import-not-found]  # the server venv's

    return StructuralTag.model_validate(tag).model_dump()


def answer(case: dict[str, Any]) -> dict[str, Any]:
    if "normalize_tag" in case:
        return {"normalized": normalized_tag(case["normalize_tag"])}
    harmony = case["tool"] == "openai" or case["reasoning"] == "openai_gptoss"
    tokenizer = HarmonyTokenizer() if harmony else _tokenizer(case["tokenizer"])
    parser_cls = _parser_class(case, tokenizer)
    request = _adjusted(parser_cls, tokenizer, _request(case), harmony)
    result: dict[str, Any] = {"skip_special_tokens": request.skip_special_tokens}
    structured = request.structured_outputs
    result["structured_outputs"] = (
        None if structured is None else {k: v for k, v in vars(structured).items() if v}
    )
    if case.get("chunks") is not None:
        result["stream"] = _stream(case, parser_cls, tokenizer, _request_copy(request))
        result["one_shot"] = _one_shot(case, parser_cls, tokenizer, _request_copy(request))
    return result


def _request_copy(request: Any) -> Any:
    return request.model_copy(deep=True)


def main() -> None:
    import logging

    logging.disable(logging.CRITICAL)
    for line in sys.stdin:
        try:
            reply = answer(json.loads(line))
        except Exception as error:  # the test shows vLLM's error as the expected outcome
            reply = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
