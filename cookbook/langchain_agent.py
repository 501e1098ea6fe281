"""A LangChain agent on vLLM: ChatVLLM calls a tool, reads its result, and answers.

Run with a vLLM server started with --enable-auto-tool-choice --tool-call-parser hermes (and a
reasoning parser for thinking models): VLLM_BASE_URL=http://HOST:PORT/v1 python langchain_agent.py
"""

from __future__ import annotations

from langchain.agents import create_agent

from vllm_integrations.langchain import ChatVLLM


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return "Sunny, 22 °C"


def get_time(city: str) -> str:
    """Get the local time in a city."""
    return "09:00"


def main() -> None:
    agent = create_agent(ChatVLLM(temperature=0), tools=[get_weather, get_time])
    state = agent.invoke(
        {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]}
    )
    for message in state["messages"]:
        calls = getattr(message, "tool_calls", None)
        print(f"{message.type}: {message.text or calls}")


if __name__ == "__main__":
    main()
