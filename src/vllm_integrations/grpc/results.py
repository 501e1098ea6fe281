"""What the gRPC client returns: the openai SDK's own result classes, extended with vLLM's fields.

Why subclass the SDK's models rather than mirror them: a ``ChatCompletion`` from this client *is*
an ``openai.types.chat.ChatCompletion`` (``isinstance`` holds, code typed for the SDK accepts it),
its ``model_dump()`` has the very keys the SDK gives for vLLM's HTTP API whatever SDK version is
installed, and vLLM's additions are typed fields instead of untyped extras: ``reasoning`` on
messages and deltas (vLLM's current name; ``reasoning_content`` reads it under its older one)
and ``token_ids`` on choices (vLLM's ``return_token_ids``). ``finish_reason`` is typed with the
reasons vLLM gives, which include ``"abort"`` (after ``client.health.abort``), ``"error"`` and
``"repetition"``; like the SDK, the client builds results without validation.
"""

from __future__ import annotations

from typing import Literal

from openai.types import Completion as _Completion
from openai.types import CompletionChoice as _CompletionChoice
from openai.types import Model as _Model
from openai.types.chat import ChatCompletion as _ChatCompletion
from openai.types.chat import ChatCompletionChunk as _ChatCompletionChunk
from openai.types.chat import ChatCompletionMessage as _ChatCompletionMessage
from openai.types.chat import chat_completion, chat_completion_chunk
from pydantic import BaseModel, ConfigDict, Field

from vllm_integrations.types import StopReason

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "Choice",
    "ChoiceDelta",
    "ChunkChoice",
    "Completion",
    "CompletionChoice",
    "FinishReason",
    "Model",
    "ServerInfo",
]

FinishReason = Literal["stop", "length", "tool_calls", "abort", "error", "repetition"]

# Two overrides below are flagged by mypy on purpose. The choices lists are narrowed to the
# subclasses (lists are invariant; sound because this client builds every choice), and
# finish_reason is given vLLM's reasons in place of OpenAI's (what the server really says).


class ChatCompletionMessage(_ChatCompletionMessage):
    reasoning: str | None = None
    """The model's thinking, split off by the reasoning parser (vLLM's field name)."""

    @property
    def reasoning_content(self) -> str | None:
        """``reasoning`` under its pre-0.2x vLLM name."""
        return self.reasoning


class Choice(chat_completion.Choice):
    finish_reason: FinishReason  # type: ignore[assignment]
    message: ChatCompletionMessage
    stop_reason: StopReason = None
    """The stop string or stop token ID that ended the choice; None when EOS, the length
    limit or an abort ended it (vLLM's field)."""
    token_ids: list[int] = Field(default_factory=list)
    """Every generated token ID, EOS or stop token included (vLLM's ``return_token_ids``)."""


class ChatCompletion(_ChatCompletion):
    choices: list[Choice]  # type: ignore[assignment]


class ChoiceDelta(chat_completion_chunk.ChoiceDelta):
    reasoning: str | None = None

    @property
    def reasoning_content(self) -> str | None:
        return self.reasoning


class ChunkChoice(chat_completion_chunk.Choice):
    finish_reason: FinishReason | None = None  # type: ignore[assignment]
    delta: ChoiceDelta
    stop_reason: StopReason = None
    """Set with ``finish_reason``, as on ``Choice``."""
    token_ids: list[int] = Field(default_factory=list)
    """The token IDs since this choice's previous chunk; a token that adds no text yet (part of
    a character, a parser's tag) comes with a later chunk."""


class ChatCompletionChunk(_ChatCompletionChunk):
    choices: list[ChunkChoice]  # type: ignore[assignment]


class CompletionChoice(_CompletionChoice):
    finish_reason: FinishReason  # type: ignore[assignment]
    stop_reason: StopReason = None
    """The stop string or stop token ID that ended the choice (vLLM's field)."""
    token_ids: list[int] = Field(default_factory=list)
    """The choice's generated token IDs; in a streamed chunk, those since its previous chunk."""


class Completion(_Completion):
    """A text completion, and also each streamed chunk of one (as in the openai SDK)."""

    choices: list[CompletionChoice]  # type: ignore[assignment]


class Model(_Model):
    max_model_len: int | None = None
    root: str | None = None
    """Where the server loaded the model from (a path or hub id)."""


class ServerInfo(BaseModel):
    """The server's GetServerInfo answer. vLLM's own servicer leaves the first five fields at
    zero; most others describe prefill/decode disaggregation and multimodal processing."""

    model_config = ConfigDict(extra="allow", frozen=True)  # newer servers may say more

    active_requests: int = 0
    is_paused: bool = False
    last_receive_timestamp: float = 0.0
    uptime_seconds: float = 0.0
    server_type: str = ""
    kv_connector: str = ""
    kv_role: str = ""
    kv_engine_id: str = ""
    data_parallel_size: int = 0
    shm_namespace_id: str = ""
    kv_cache_dtype: str = ""
    block_size: int = 0
    attention_backend: str = ""
    model_dtype: str = ""
    pairing_protocol: str = ""
    mm_processor: str = ""
    mm_media_ref_schemes: str = ""
    mm_processor_source: str = ""
    mm_device_do_normalize: bool = False
    max_num_seqs: int = 0
    mm_item_limits: str = ""
    multimodal_encoder_dtype: str = ""
    engine_reasoning_parser: str = ""
    """The ``--reasoning-parser`` the engine runs ("" for none): the client's default parser."""
    constrained_decoding_start: str = ""
    mm_encoder_budget: int = 0
