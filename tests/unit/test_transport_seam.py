"""Every adapter runs on any ``Transport``: driven here by a scripted fake, for what a real
server cannot be made to do (a failure after the first chunk, one call's parts spread over many
steps or packed into one)."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk
from llama_index.core.llms import ChatMessage

from tests.unit.fake_transport import INFO, FakeTransport, Step
from vllm_integrations.errors import APIConnectionError
from vllm_integrations.langchain import VLLM as LangChainVLLM
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.llama_index import VLLM as LlamaIndexVLLM
from vllm_integrations.transports import Transport
from vllm_integrations.types import ChatDelta, CompletionDelta, ToolCallDelta

ARGUMENTS = '{"city": "Paris", "days": 3}'
BROKEN = APIConnectionError("the connection to the server closed mid-call")


def split_call(index: int = 0, name: str = "get_weather") -> list[ChatDelta]:
    """One call over many steps: its id and name, then its arguments a few characters a time."""
    first = ChatDelta(tool_calls=(ToolCallDelta(index, f"call_{index}", name),), info=INFO)
    pieces = [ARGUMENTS[i : i + 4] for i in range(0, len(ARGUMENTS), 4)]
    rest = [ChatDelta(tool_calls=(ToolCallDelta(index, arguments=p),), info=INFO) for p in pieces]
    return [first, *rest]


def packed_call() -> ChatDelta:
    """One call's id, name and arguments as several deltas of one step (the stream's first)."""
    parts = (
        ToolCallDelta(0, "call_0", "get_weather"),
        ToolCallDelta(0, arguments=ARGUMENTS[:10]),
        ToolCallDelta(0, arguments=ARGUMENTS[10:]),
    )
    return ChatDelta(tool_calls=parts, info=INFO)


END = ChatDelta(finish_reason="tool_calls", info=INFO)


def test_the_fake_is_a_transport() -> None:
    assert isinstance(FakeTransport(), Transport)


@pytest.mark.parametrize(
    "steps", [[*split_call(), END], [packed_call(), END]], ids=["split", "packed"]
)
def test_chatvllm_streams_one_whole_call(steps: list[ChatDelta]) -> None:
    chat = ChatVLLM(model="fake").use_transport(FakeTransport(steps))
    chunks = list(chat.stream("weather?"))
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert isinstance(whole, AIMessageChunk)
    assert whole.tool_calls == [
        {
            "name": "get_weather",
            "args": {"city": "Paris", "days": 3},
            "id": "call_0",
            "type": "tool_call",
        }
    ]
    assert whole.response_metadata["finish_reason"] == "tool_calls"


async def test_chatvllm_astream_failure_after_the_first_chunk_is_raised_not_swallowed() -> None:
    steps: list[Step] = [ChatDelta(content="Par", info=INFO), BROKEN]
    chat = ChatVLLM(model="fake").use_transport(FakeTransport(steps))
    chunks = chat.astream("capital?")
    assert (await anext(chunks)).text == "Par"
    with pytest.raises(APIConnectionError):
        await anext(chunks)


def test_chatvllm_invoke_assembles_a_split_call() -> None:
    chat = ChatVLLM(model="fake").use_transport(FakeTransport([*split_call(), END]))
    message = chat.invoke("weather?")
    assert message.tool_calls[0]["args"] == {"city": "Paris", "days": 3}


def test_langchain_vllm_stream_failure_after_the_first_chunk_is_raised() -> None:
    steps: list[Step] = [CompletionDelta(text="Once", info=INFO), BROKEN]
    llm = LangChainVLLM(model="fake").use_transport(FakeTransport(steps))
    texts = llm.stream("A story:")
    assert next(texts) == "Once"
    with pytest.raises(APIConnectionError):
        next(texts)


@pytest.mark.parametrize(
    "steps", [[*split_call(), END], [packed_call(), END]], ids=["split", "packed"]
)
def test_llama_index_streams_one_whole_call(steps: list[ChatDelta]) -> None:
    llm = LlamaIndexVLLM(model="fake").use_transport(FakeTransport(steps))
    responses = list(llm.stream_chat([ChatMessage(role="user", content="weather?")]))
    selections = llm.get_tool_calls_from_response(responses[-1])
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        ("call_0", "get_weather", {"city": "Paris", "days": 3})
    ]


async def test_llama_index_astream_failure_after_the_first_chunk_is_raised() -> None:
    steps: list[Step] = [ChatDelta(content="Par", info=INFO), BROKEN]
    llm = LlamaIndexVLLM(model="fake").use_transport(FakeTransport(steps))
    responses = await llm.astream_chat([ChatMessage(role="user", content="?")])
    assert (await anext(responses)).delta == "Par"
    with pytest.raises(APIConnectionError):
        await anext(responses)


async def test_adapters_close_their_transport() -> None:
    fake = FakeTransport()
    with ChatVLLM(model="fake").use_transport(fake):
        pass
    async with LlamaIndexVLLM(model="fake").use_transport(fake):
        pass
    assert fake.closed == 2
