"""The tiny model through vLLM's native gRPC server, streamed token by token, no client library."""

from __future__ import annotations

from pathlib import Path

import pytest

from vllm_integrations.testing import script
from vllm_integrations.testing.raw_grpc import RawDelta, stream_chat


def collect(base_url: str, model: Path, name: str) -> list[RawDelta]:
    s = script(name)
    return list(
        stream_chat(
            base_url, model, s.chat_messages(), chat_template_kwargs=s.chat_template_kwargs()
        )
    )


@pytest.mark.parametrize("name", ["capital", "unicode", "long_story", "stop_word_no_thinking"])
def test_streamed_tokens_decode_to_the_script(
    vllm_grpc_base_url: str, vllm_tiny_model: Path, name: str
) -> None:
    deltas = collect(vllm_grpc_base_url, vllm_tiny_model, name)
    text = "".join(d.text for d in deltas)
    assert text == script(name).completion()
    assert "\ufffd" not in text
    assert deltas[-1].finish_reason == "stop"
    assert sum(1 for d in deltas if d.token_ids) > 5  # really streamed, not one block


def test_long_answer_streams_over_200_tokens(
    vllm_grpc_base_url: str, vllm_tiny_model: Path
) -> None:
    deltas = collect(vllm_grpc_base_url, vllm_tiny_model, "long_story_no_thinking")
    assert sum(len(d.token_ids) for d in deltas) >= 200
