"""Every structured-output mode of ChatVLLM, each enforced by vLLM's grammar engine.

VLLM_BASE_URL=http://HOST:PORT/v1 python langchain_structured_outputs.py
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from vllm_integrations.langchain import ChatVLLM


class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


def main() -> None:
    chat = ChatVLLM(temperature=0)
    print("json_schema:", chat.with_structured_output(Joke).invoke("Tell me a joke about cats."))
    print("json_mode:", chat.with_structured_output(method="json_mode").invoke("Tell me a joke."))
    code = chat.with_structured_output(r"[A-Z]{3}-\d{2}", method="regex")
    print("regex:", code.invoke("Give me a code."))
    yes_no = chat.with_structured_output(["yes", "no"], method="choice")
    print("choice:", yes_no.invoke("Is it sunny?"))
    ebnf = chat.with_structured_output('root ::= "hello" | "goodbye"', method="grammar")
    print("grammar (EBNF):", ebnf.invoke("Say hi."))
    lark = chat.with_structured_output('start: "red" | "green" | "blue"', method="grammar")
    print("grammar (Lark):", lark.invoke("Pick one."))
    forced = chat.with_structured_output(Joke, method="function_calling", include_raw=True)
    print("function_calling:", forced.invoke("Tell me a joke about cats.")["parsed"])


if __name__ == "__main__":
    main()
