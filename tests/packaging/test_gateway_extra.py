"""The ``gateway`` extra alone, from the wheel in a fresh environment: smg launches from it in
front of the session's gRPC worker and serves the OpenAI API (its README example would load a
worker of its own, a minute more, which the integration suite already runs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.packaging.conftest import Env
from vllm_integrations.testing import SERVED_MODEL_NAME, script

ROUTE = """
import os

import openai

from vllm_integrations.server import LocalGateway

worker, model = os.environ["WORKER"], os.environ["MODEL"]
with LocalGateway(worker, model=model, reasoning_parser="qwen3", tool_call_parser="qwen") as gw:
    client = openai.OpenAI(base_url=gw.base_url, api_key="EMPTY")
    messages = [{"role": "user", "content": os.environ["QUESTION"]}]
    reply = client.chat.completions.create(
        model=os.environ["NAME"], messages=messages, temperature=0
    )
    print(reply.choices[0].message.content)
"""


def test_the_gateway_extra_alone_runs_smg_in_front_of_a_worker(
    fresh_env: Callable[[str], Env], vllm_grpc_base_url: str, vllm_tiny_model: Path
) -> None:
    capital = script("capital")
    variables = {
        "WORKER": vllm_grpc_base_url,
        "MODEL": str(vllm_tiny_model),
        "NAME": SERVED_MODEL_NAME,
        "QUESTION": capital.messages[0]["content"],
    }
    printed = fresh_env("gateway").run("-c", ROUTE, env=variables)
    assert printed == f"{capital.content}\n"
