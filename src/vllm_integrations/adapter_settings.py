"""What every framework adapter shares: where the server is, every vLLM sampling parameter, the
transport the base URL selects, the served model's card, and the request options both
frameworks spell alike.

Each sampling parameter is a real field and may also be given per call; per-call values win.
Anything else given per call is an error, never silently dropped. The base URL is checked when
the adapter is built (scheme, port, the extra its transport needs), not at the first request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from vllm_integrations.errors import model_not_served
from vllm_integrations.extras import missing_modules
from vllm_integrations.settings import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_READ_TIMEOUT,
    GrpcReader,
    Timeouts,
    check_base_url,
    check_headers,
    default_api_key,
    default_base_url,
    default_grpc_reader,
    read_ca_certificates,
)
from vllm_integrations.transports import Transport, TransportOptions, open_transport
from vllm_integrations.types import ModelCard, deep_merge

SHARED_SAMPLING_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "min_p",
    "presence_penalty",
    "frequency_penalty",
    "repetition_penalty",
    "seed",
    "stop_token_ids",
    "min_tokens",
    "ignore_eos",
    "logit_bias",
    "include_stop_str_in_output",
    "skip_special_tokens",
)


STRICT_CONFIG = ConfigDict(populate_by_name=True, extra="forbid", protected_namespaces=())
"""Unknown constructor arguments are errors (the frameworks' base classes would ignore them)."""


class ConnectionSettings(BaseModel):
    """Where a vLLM server is and how to reach it (mixed into every adapter class: chat and
    completion models, embeddings, rerankers).

    The adapter owns its transport's connections: ``close()`` / ``aclose()`` or a ``with`` /
    ``async with`` block closes them (a later call opens new ones)."""

    model_config = STRICT_CONFIG

    model_name: str | None = Field(default=None, alias="model")
    """Served model name; read from the server's /v1/models when omitted."""
    base_url: str = Field(default_factory=default_base_url)
    """``http(s)://HOST:PORT/v1`` or ``grpc(s)://HOST:PORT``; default ``$VLLM_BASE_URL``, else
    http://localhost:8000/v1."""
    api_key: SecretStr = Field(default_factory=lambda: SecretStr(default_api_key()), exclude=True)
    """Default ``$VLLM_API_KEY``, else "EMPTY" (vLLM checks keys only with --api-key). Never
    dumped: a model restored from its dump reads the key from the environment again."""
    timeout: float | None = Field(default=DEFAULT_READ_TIMEOUT, gt=0)
    """Seconds to wait for the next message of a stream or for a whole unary reply (the same
    meaning over HTTP and gRPC); None: no limit."""
    connect_timeout: float = Field(default=DEFAULT_CONNECT_TIMEOUT, gt=0)
    total_timeout: float | None = Field(default=None, gt=0)
    """A deadline in seconds for a whole call, retries included; None: none."""
    max_retries: int = Field(default=2, ge=0)
    """Retries, with backoff, of a call that failed before any reply: connection errors, and
    over HTTP 408, 409, 429 and 5xx (never a timed-out call, never after a stream began)."""
    default_headers: dict[str, SecretStr] | None = Field(default=None, exclude=True)
    """Headers (gRPC metadata) sent with every call, e.g. a gateway's key; kept secret like
    ``api_key``: never printed or dumped."""
    ca_certificates: bytes | None = Field(default=None, exclude=True)
    """PEM roots (bytes, or a file's path) to verify ``https://`` / ``grpcs://`` servers."""
    max_message_size: int = Field(default=DEFAULT_MAX_MESSAGE_SIZE, gt=0)
    """The largest gRPC message, SSE event or whole HTTP reply taken from the server, in bytes."""
    grpc_reader: GrpcReader = Field(default_factory=default_grpc_reader)
    """gRPC only: who reads Generate streams: "h2" (this package's reader, the default) or
    "grpcio"; default ``$VLLM_GRPC_READER``."""
    tokenizer: str | None = None
    """gRPC only: tokenizer path or hub id; default: the server's own tokenizer files."""

    _transport: Transport | None = PrivateAttr(default=None)
    _served: list[ModelCard] | None = PrivateAttr(default=None)

    @field_validator("ca_certificates", mode="before")
    @classmethod
    def _read_ca_certificates(cls, value: Any) -> bytes | None:
        return read_ca_certificates(value)

    @model_validator(mode="after")
    def _check_connection(self) -> Self:
        transport = check_base_url(self.base_url)
        check_headers(self.plain_headers(), transport)
        return self

    def plain_headers(self) -> dict[str, str]:
        """``default_headers`` in the clear, for the transport."""
        return {k: v.get_secret_value() for k, v in (self.default_headers or {}).items()}

    def transport_options(self) -> TransportOptions:
        """What the transports need to know of these settings."""
        return TransportOptions(
            api_key=self.api_key.get_secret_value(),
            timeouts=Timeouts(self.timeout, self.connect_timeout, self.total_timeout),
            max_retries=self.max_retries,
            headers=self.plain_headers(),
            ca_certificates=self.ca_certificates,
            max_message_size=self.max_message_size,
            grpc_reader=self.grpc_reader,
            tokenizer=self.tokenizer,
        )

    @property
    def transport(self) -> Transport:
        """The transport the base URL's scheme names, made on first use."""
        if self._transport is None:
            self._transport = open_transport(self.base_url, self.transport_options())
        return self._transport

    def use_transport(self, transport: Transport) -> Self:
        """Serve this adapter's calls through ``transport`` instead of the one its base URL
        names: a transport of your own, or a fake in tests. Returns the adapter."""
        self._transport = transport
        self._served = None
        return self

    def close(self) -> None:
        """Close the transport's sync connections."""
        if self._transport is not None:
            self._transport.close()

    async def aclose(self) -> None:
        """Close every connection of the transport."""
        if self._transport is not None:
            await self._transport.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def served_models(self) -> list[ModelCard]:
        """The server's models (asked once, then remembered)."""
        if self._served is None:
            self._served = self.transport.list_models()
        return self._served

    async def aserved_models(self) -> list[ModelCard]:
        if self._served is None:
            self._served = await self.transport.alist_models()
        return self._served

    def resolved_model(self) -> str:
        """The model to ask for: the configured one, else the server's first served model."""
        return self.model_name or _first_model(self.served_models(), self.base_url)

    async def aresolved_model(self) -> str:
        return self.model_name or _first_model(await self.aserved_models(), self.base_url)

    def model_card(self) -> ModelCard:
        """The served card of the model this client asks for (its context window)."""
        name = self.resolved_model()
        served = self.served_models()
        for card in served:
            if card.id == name:
                return card
        raise model_not_served(name, [card.id for card in served], address=self.base_url)


class AdapterSettings(ConnectionSettings):
    """Connection and sampling settings of a vLLM chat or completion model."""

    model_config = STRICT_CONFIG

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    stop: list[str] | None = None
    stop_token_ids: list[int] | None = None
    min_tokens: int | None = None
    ignore_eos: bool | None = None
    logit_bias: dict[int, float] | None = None
    include_stop_str_in_output: bool | None = None
    skip_special_tokens: bool | None = None

    reasoning_parser: str | None = None
    """gRPC only: vLLM's name of the reasoning parser (qwen3, deepseek_r1); default: the
    parser the server's engine runs."""
    tool_call_parser: str | None = "hermes"
    """gRPC only: vLLM's name of the tool-call parser the client runs."""

    @model_validator(mode="after")
    def _check_parser_names(self) -> Self:
        """An unknown parser name fails here, listing the known ones, not at the first call.
        The parsers are the grpc extra's: without it they cannot run (and a grpc:// URL fails
        for the missing extra), so there is nothing to check."""
        if self.reasoning_parser is None and self.tool_call_parser is None:
            return self
        if not missing_modules("grpc"):
            from vllm_integrations.transports.grpc.parsers import check_parser_names

            check_parser_names(self.reasoning_parser, self.tool_call_parser)
        return self

    extra_body: dict[str, Any] | None = None
    """Raw keys for the request body, deep-merged with per-call ``extra_body`` (per call wins)."""
    stream_usage: bool = True
    """Ask for token usage when streaming (``stream_options.include_usage``)."""

    def transport_options(self) -> TransportOptions:
        return dataclasses.replace(
            super().transport_options(),
            reasoning_parser=self.reasoning_parser,
            tool_call_parser=self.tool_call_parser,
        )

    def sampling(self, fields: tuple[str, ...], overrides: dict[str, Any]) -> dict[str, Any]:
        """Sampling parameters that are set, per-call ``overrides`` first (consumed from it)."""
        chosen = {}
        for name in fields:
            value = overrides.pop(name) if name in overrides else getattr(self, name)
            if value is not None:
                chosen[name] = value
        return chosen

    def merged_extra_body(self, per_call: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not per_call:
            return self.extra_body
        return deep_merge(self.extra_body or {}, per_call)


def _first_model(models: list[ModelCard], base_url: str) -> str:
    if not models:
        raise ValueError(f"the vLLM server at {base_url} serves no model")
    return models[0].id


def reject_unknown(kwargs: Mapping[str, Any], owner: str) -> None:
    """Fail at once on keyword arguments nobody consumed."""
    if kwargs:
        names = ", ".join(sorted(kwargs))
        raise TypeError(
            f"{owner} got unexpected keyword argument(s): {names}. "
            "Raw vLLM request keys go in extra_body={...}."
        )


def chat_template_kwargs(
    configured: Mapping[str, Any] | None,
    per_call: Mapping[str, Any] | None,
    reasoning: bool | None,
) -> dict[str, Any] | None:
    """The chat template's keyword arguments: per call over configured, and the thinking
    switch (``enable_thinking``, which Qwen3-style templates read) when ``reasoning`` is set."""
    merged = {**(configured or {}), **(per_call or {})}
    if reasoning is not None:
        merged["enable_thinking"] = reasoning
    return merged or None
