"""with_structured_output for ChatVLLM: every method is vLLM's own constrained decoding.

json_schema / json_mode / regex / choice / grammar bind a ``StructuredOutputs``;
function_calling forces a tool call. Parsers read the answer text, never the reasoning.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.output_parsers import (
    BaseOutputParser,
    JsonOutputParser,
    PydanticOutputParser,
    StrOutputParser,
)
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from vllm_integrations.structured import StructuredOutputs

if TYPE_CHECKING:
    from vllm_integrations.langchain.chat_models import ChatVLLM

_TEXT_METHODS = {"regex": "regex", "choice": "choice", "grammar": "grammar"}


def _format_info(schema: Any, method: str, strict: bool | None) -> dict[str, Any]:
    """What LangSmith and callbacks are told about the requested structure."""
    return {"kwargs": {"method": method, "strict": strict}, "schema": schema}


def _json_schema(schema: Any) -> dict[str, Any]:
    """A JSON schema for vLLM. A plain schema dict is used as given (no title needed, unlike
    for function calling); pydantic classes, TypedDicts and OpenAI function dicts convert."""
    if isinstance(schema, dict) and not {"name", "parameters"} <= schema.keys():
        return schema
    return convert_to_json_schema(schema)


def _json_parser(schema: Any) -> BaseOutputParser[Any]:
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        return PydanticOutputParser(pydantic_object=schema)
    return JsonOutputParser()


def _bound_and_parser(
    llm: ChatVLLM, schema: Any, method: str, strict: bool | None
) -> tuple[Runnable[LanguageModelInput, Any], BaseOutputParser[Any]]:
    info = _format_info(schema, method, strict)
    if method == "function_calling":
        if schema is None:
            raise ValueError("method='function_calling' needs a schema")
        name = convert_to_openai_tool(schema)["function"]["name"]
        bound = llm.bind_tools(
            [schema],
            tool_choice=name,
            parallel_tool_calls=False,
            strict=strict,
            ls_structured_output_format=info,
        )
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        parser: BaseOutputParser[Any] = (
            PydanticToolsParser(tools=[schema], first_tool_only=True)
            if is_pydantic
            else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
        )
        return bound, parser
    if method == "json_schema":
        if schema is None:
            raise ValueError("method='json_schema' needs a schema")
        constraint = StructuredOutputs(json_schema=_json_schema(schema))
        return llm.bind(
            structured_outputs=constraint, ls_structured_output_format=info
        ), _json_parser(schema)
    if method == "json_mode":
        constraint = StructuredOutputs(json_object=True)
        return llm.bind(
            structured_outputs=constraint, ls_structured_output_format=info
        ), _json_parser(schema)
    if method in _TEXT_METHODS:
        if method == "choice":
            if not isinstance(schema, list | tuple) or not all(isinstance(c, str) for c in schema):
                raise ValueError("method='choice' needs a list of strings")
            constraint = StructuredOutputs(choice=list(schema))
        else:
            if not isinstance(schema, str):
                raise ValueError(f"method={method!r} needs the {method} as a string")
            constraint = StructuredOutputs.model_validate({method: schema})
        return llm.bind(
            structured_outputs=constraint, ls_structured_output_format=info
        ), StrOutputParser()
    raise ValueError(
        f"unknown method {method!r}: use json_schema, function_calling, json_mode, regex, "
        "choice or grammar"
    )


def structured_runnable(
    llm: ChatVLLM, schema: Any, *, method: str, include_raw: bool, strict: bool | None
) -> Runnable[LanguageModelInput, Any]:
    bound, parser = _bound_and_parser(llm, schema, method, strict)
    if not include_raw:
        return bound | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    failed = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=bound) | parsed.with_fallbacks([failed], exception_key="parsing_error")
