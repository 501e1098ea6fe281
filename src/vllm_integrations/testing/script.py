"""The conversations the tiny test model is trained to reproduce exactly under greedy decoding.

Each script is a prompt (messages, maybe tools) and what a capable chat model would answer:
reasoning, then an answer or hermes tool calls. Tests compare a live server's output with these.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, cast

from openai.types.chat import ChatCompletionMessageParam

SERVED_MODEL_NAME = "vllm-integrations-tiny"
STOP_WORD = "Goodbye"
"""Appears mid-answer in the ``stop_word`` script, for tests of ``stop=[STOP_WORD]``."""

Message = dict[str, Any]


@dataclass(frozen=True)
class ToolSpec:
    """A function tool, described once and spelled the way each client library sends it."""

    name: str
    description: str
    parameters: tuple[tuple[str, str], ...]  # (argument name, JSON type), all required

    def spelled(self, spelling: str) -> dict[str, Any]:
        """The tool as ``spelling`` ('openai', 'langchain', 'llama_index', 'strict') sends it."""
        props: dict[str, Any] = {
            arg: {"title": arg.title(), "type": json_type}
            if spelling == "llama_index"
            else {"type": json_type}
            for arg, json_type in self.parameters
        }
        required = [arg for arg, _ in self.parameters]
        if spelling == "openai":
            params: dict[str, Any] = {"type": "object", "properties": props, "required": required}
        else:
            params = {"properties": props, "required": required, "type": "object"}
        description = self.description
        if spelling == "llama_index":
            signature = ", ".join(f"{arg}: {_PY_TYPES[t]}" for arg, t in self.parameters)
            description = f"{self.name}({signature}) -> str\n{self.description}"
        function: dict[str, Any] = {
            "name": self.name,
            "description": description,
            "parameters": params,
        }
        if spelling == "strict":
            params["additionalProperties"] = False
            function["strict"] = True
        return {"type": "function", "function": function}


_PY_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
TOOL_SPELLINGS = ("openai", "langchain", "llama_index", "strict")

GET_WEATHER = ToolSpec("get_weather", "Get the current weather in a city.", (("city", "string"),))
GET_TIME = ToolSpec("get_time", "Get the local time in a city.", (("city", "string"),))
TOOLS = (GET_WEATHER, GET_TIME)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]

    def hermes(self) -> str:
        """The call as a hermes-format model writes it."""
        payload = json.dumps({"name": self.name, "arguments": self.arguments}, ensure_ascii=False)
        return f"<tool_call>\n{payload}\n</tool_call>"


@dataclass(frozen=True)
class Script:
    """One conversation: the prompt, and the exact reply the model must give to it."""

    name: str
    messages: tuple[Message, ...]
    content: str = ""
    reasoning: str | None = None  # None: asked with thinking switched off
    tool_calls: tuple[ToolCall, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    tags: frozenset[str] = field(default_factory=frozenset)
    raw_tools: tuple[dict[str, Any], ...] = ()  # tools in one exact spelling, as recorded

    @property
    def thinking(self) -> bool:
        return self.reasoning is not None

    def chat_messages(self) -> list[ChatCompletionMessageParam]:
        """A fresh copy of the prompt messages (OpenAI chat format), safe to mutate."""
        return cast(list[ChatCompletionMessageParam], copy.deepcopy(list(self.messages)))

    @property
    def spellings(self) -> tuple[str, ...]:
        """The tool spellings the model is trained on for this script."""
        return TOOL_SPELLINGS if self.tools else ("openai",)

    def openai_tools(self, spelling: str = "openai") -> list[dict[str, Any]]:
        if self.raw_tools:
            return copy.deepcopy(list(self.raw_tools))
        return [tool.spelled(spelling) for tool in self.tools]

    def chat_template_kwargs(self) -> dict[str, Any]:
        return {} if self.thinking else {"enable_thinking": False}

    def completion(self) -> str:
        """What the model generates after the generation prompt, without the end-of-turn token."""
        answer = "\n".join(call.hermes() for call in self.tool_calls) or self.content
        if self.reasoning is None:
            return answer
        # No newlines around </think>: vLLM's reasoning parser keeps them, and exact expectations
        # (the same strings over HTTP and gRPC) read better without them.
        return f"{self.reasoning}</think>{answer}"


def _user(text: str) -> tuple[Message, ...]:
    return ({"role": "user", "content": text},)


_WEATHER_CALL = ToolCall("get_weather", {"city": "Paris"})
_LONG_STORY = (
    "Once upon a time, in a quiet valley between two green hills, there lived a curious fox "
    "named Pip. Every morning Pip walked down to the river to watch the silver fish jump over "
    "the smooth stones. One day a heron with long grey legs landed beside him and asked why he "
    "came to the river so often. Pip said that he liked to count the fish, although he never "
    "caught a single one. The heron laughed softly and offered to teach him patience. For seven "
    "days they stood together in the cold water, waiting without moving, while the sun rose "
    "and fell behind the hills. On the eighth day Pip noticed that the fish no longer feared "
    "his shadow. They swam around his paws, bright and quick, and he understood that he did "
    "not want to catch them at all. He only wanted to be part of the river. From then on the "
    "fox and the heron met every morning at dawn. They told each other stories about the "
    "mountains, the owls in the old oak tree, the farmer who sang to his goats, and the wind "
    "that carried seeds across the valley. Years later, young foxes in the valley still walk "
    "to the river at sunrise, stand very still in the shallow water, and wait for the fish to "
    "swim around their paws, just as Pip once did with his patient friend."
)

_PLAIN = (
    Script(
        "capital",
        _user("What is the capital of France?"),
        content="The capital of France is Paris.",
        reasoning="The user asks for the capital of France. That is Paris.",
    ),
    Script(
        "unicode",
        _user("Greet me in several languages."),
        content="Bonjour, ça va? Grüß dich! 你好，世界！ こんにちは 👋🌍✨",  # noqa: RUF001
        reasoning="A greeting with accents, CJK and emoji.",
        tags=frozenset({"multibyte"}),
    ),
    Script(
        "long_story",
        _user("Tell me a long story."),
        content=_LONG_STORY,
        reasoning="A long story about a fox.",
        tags=frozenset({"long"}),
    ),
    Script(
        "stop_word",
        _user("Say something and then say goodbye."),
        content=f"Here is something before the stop word. {STOP_WORD}! This part comes after it.",
        reasoning="I will say something, then goodbye.",
        tags=frozenset({"stop_word"}),
    ),
)

_TOOLS = (
    Script(
        "weather_tool",
        _user("What is the weather in Paris?"),
        reasoning="I should call get_weather for Paris.",
        tool_calls=(_WEATHER_CALL,),
        tools=TOOLS,
        tags=frozenset({"tools"}),
    ),
    Script(
        "parallel_tools",
        _user("What is the weather in Paris and the time in Tokyo?"),
        reasoning="I need the weather in Paris and the time in Tokyo.",
        tool_calls=(_WEATHER_CALL, ToolCall("get_time", {"city": "Tokyo"})),
        tools=TOOLS,
        tags=frozenset({"tools", "parallel"}),
    ),
    Script(
        "weather_answer",
        (
            *_user("What is the weather in Paris?"),
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "call_weather_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_weather_1", "content": "Sunny, 22 °C"},
        ),
        content="It is sunny and 22 °C in Paris.",
        reasoning="The tool says it is sunny and 22 °C.",
        tools=TOOLS,
        tags=frozenset({"tools", "tool_result"}),
    ),
)


def _with_reasoning_in_history(script: Script, reasoning: str) -> Script:
    """The same conversation with the assistant's earlier reasoning sent back, as clients do."""
    messages = [dict(m) for m in script.messages]
    for message in messages:
        if message["role"] == "assistant" and message.get("tool_calls"):
            message["reasoning"] = reasoning
    return Script(
        f"{script.name}_after_reasoning",
        tuple(messages),
        content=script.content,
        reasoning=script.reasoning,
        tool_calls=script.tool_calls,
        tools=script.tools,
        tags=script.tags,
        raw_tools=script.raw_tools,
    )


_FALLBACK_REASONING = "Let me answer briefly."
_TOOL_REASONING = "I will use a tool."


def _langchain_suite() -> tuple[Script, ...]:
    """What LangChain's standard integration suite asks, answered as a capable model would.

    The prompts were recorded from langchain-tests' ChatModelIntegrationTests as ChatVLLM sends
    them; replying to them is what lets the suite run against this model.
    """
    text = resources.files(__package__).joinpath("langchain_suite.json").read_text("utf-8")
    scripts = []
    for i, entry in enumerate(json.loads(text)):
        calls = tuple(ToolCall(c["name"], c["arguments"]) for c in entry.get("tool_calls", ()))
        base = Script(
            f"lc_{i:02d}",
            tuple(entry["messages"]),
            content=entry.get("content", ""),
            reasoning=_TOOL_REASONING if calls else _FALLBACK_REASONING,
            tool_calls=calls,
            tags=frozenset({"langchain_suite"}),
            raw_tools=tuple(entry.get("tools", ())),
        )
        scripts.append(base)
        if any(m["role"] == "tool" for m in base.messages) and entry["test"].startswith(
            "test_agent_loop"
        ):
            scripts.append(_with_reasoning_in_history(base, _TOOL_REASONING))
    return tuple(scripts)


_FALLBACK_ANSWER = "Here is a short answer."
_FALLBACK_PROMPTS = (
    "Hi",
    "Hello there!",
    "How are you?",
    "What can you do?",
    "Explain gravity.",
    "Write a haiku about rain.",
    "Why is the sky blue?",
    "Give me a number.",
    "Summarize this: the meeting is moved to Friday.",
    "Translate 'cat' into Spanish.",
    "What is 2 + 2?",
    "Tell me a joke.",
    "Is it sunny?",
    "Give me a code.",
    "Pick one.",
    "Which one?",
    "Code?",
    "Yes or no?",
    "What color is grass?",
    "Name a fruit.",
    "Who wrote Hamlet?",
    "How far is the moon?",
    "Recommend a book.",
    "What time is it?",
    "Describe the ocean in one sentence.",
    "Is water wet?",
    "Spell the word cat.",
    "List three animals.",
    "Can you help me?",
    "What is your name?",
    "Where do penguins live?",
    "Give me a random word.",
)


def _no_thinking(script: Script) -> Script:
    return Script(
        f"{script.name}_no_thinking",
        script.messages,
        content=script.content,
        tool_calls=script.tool_calls,
        tools=script.tools,
        tags=script.tags | {"no_thinking"},
    )


def _fallbacks() -> tuple[Script, ...]:
    """Varied prompts that all end their reasoning at once, so unseen prompts do too."""
    scripts = []
    for i, prompt in enumerate(_FALLBACK_PROMPTS):
        scripts.append(
            Script(
                f"fallback_{i}",
                _user(prompt),
                content=_FALLBACK_ANSWER,
                reasoning=_FALLBACK_REASONING,
                tags=frozenset({"fallback"}),
            )
        )
    return tuple(scripts)


_LLAMA_INDEX_QA_SYSTEM = (
    "You are an expert Q&A system that is trusted around the world.\n"
    "Always answer the query using the provided context information, and not prior knowledge.\n"
    "Some rules to follow:\n"
    "1. Never directly reference the given context in your answer.\n"
    "2. Avoid statements like 'Based on the context, ...' or 'The context information ...' or "
    "anything along those lines."
)
_LLAMA_INDEX_QA_USER = (
    "Context information is below.\n"
    "---------------------\n"
    "The Eiffel Tower in Paris is 330 metres tall.\n"
    "---------------------\n"
    "Given the context information and not prior knowledge, answer the query.\n"
    "Query: How tall is the Eiffel Tower?\n"
    "Answer: "
)
_LLAMA_INDEX_JOKE_TOOL = {
    "type": "function",
    "function": {
        "name": "Joke",
        "description": "Joke(*args: Any, **kwargs: Any) -> ~Model\nModel function.",
        "parameters": {
            "properties": {
                "setup": {"title": "Setup", "type": "string"},
                "punchline": {"title": "Punchline", "type": "string"},
            },
            "required": ["setup", "punchline"],
            "type": "object",
        },
    },
}
_CAT_JOKE = {
    "setup": "Why was the cat sitting on the computer?",
    "punchline": "To keep an eye on the mouse!",
}


def _llama_index() -> tuple[Script, ...]:
    """What LlamaIndex sends that no other script covers, recorded from the LlamaIndex VLLM:
    the cookbook query engine's text-QA prompt over its retrieved note, and structured_predict
    in FUNCTION program mode (a forced call of a tool LlamaIndex makes from the output class)."""
    return (
        Script(
            "llama_index_query_engine",
            (
                {"role": "system", "content": _LLAMA_INDEX_QA_SYSTEM},
                {"role": "user", "content": _LLAMA_INDEX_QA_USER},
            ),
            content="The Eiffel Tower is 330 metres tall.",
            reasoning="The context gives the height of the Eiffel Tower.",
            tags=frozenset({"llama_index"}),
        ),
        Script(
            "llama_index_function_program",
            _user("Tell me a joke about cats."),
            reasoning=_TOOL_REASONING,
            tool_calls=(ToolCall("Joke", _CAT_JOKE),),
            tags=frozenset({"llama_index", "tools"}),
            raw_tools=(_LLAMA_INDEX_JOKE_TOOL,),
        ),
    )


RAG_CONTEXT_PROMPT = "Answer the question using only the context below.\n\nContext:\n{context}"
"""The system prompt of the LangChain RAG cookbook: its retrieved note goes in ``{context}``."""

_DEMOS = (
    Script(
        "langchain_rag",
        (
            {
                "role": "system",
                "content": RAG_CONTEXT_PROMPT.format(
                    context="Mount Fuji, the highest mountain in Japan, rises 3,776 metres "
                    "above the sea."
                ),
            },
            *_user("Which is the highest mountain in Japan?"),
        ),
        content="Mount Fuji is the highest mountain in Japan, at 3,776 metres.",
        reasoning="The context names the highest mountain in Japan.",
        tags=frozenset({"rag"}),
    ),
    Script(
        "html_reply",
        _user("Show me an HTML image tag."),
        content='Here is one: <img src=x onerror="alert(1)"> and nothing more.',
        reasoning="The user wants an example of an image tag.",
        tags=frozenset({"markup"}),
    ),
)
"""Replies the cookbooks and the chat page show: a RAG answer from a retrieved note, and markup
that a page must show as text."""

SCRIPTS: tuple[Script, ...] = (
    *_PLAIN,
    *_TOOLS,
    _with_reasoning_in_history(_TOOLS[2], _TOOLS[0].reasoning or ""),
    *(_no_thinking(s) for s in _PLAIN),
    *_fallbacks(),
    *_langchain_suite(),
    *_llama_index(),
    *_DEMOS,
)
"""Every scripted conversation, by design reproduced exactly at temperature 0."""


def script(name: str) -> Script:
    """The script called ``name``."""
    for candidate in SCRIPTS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no script named {name!r}")


def fingerprint_data(
    scripts: Sequence[Script] = SCRIPTS, completion: Callable[[Script], str] = Script.completion
) -> list[Any]:
    """Everything about the scripts that changes the trained model, as plain JSON data."""
    return [
        [s.name, s.messages, completion(s), [s.openai_tools(sp) for sp in s.spellings]]
        for s in scripts
    ]
