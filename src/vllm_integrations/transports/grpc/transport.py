"""vLLM's native gRPC API (``vllm serve --grpc``) as a transport: the same neutral requests,
deltas and replies as the HTTP transport, with the template, tokenizer, decoding and parsers
run here because the server deals in token IDs only. Generate streams go over
``Connection.generate`` / ``agenerate`` (our HTTP/2 reader), the rest over ``grpc`` and
``grpc.aio``; leaving a stream early cancels the call, which aborts the request on the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncGenerator, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from vllm_integrations.errors import model_not_served
from vllm_integrations.structured import StructuredOutputs
from vllm_integrations.transports.grpc import wire
from vllm_integrations.transports.grpc.completions import CompletionDeltas, completion_reply
from vllm_integrations.transports.grpc.connection import Connection
from vllm_integrations.transports.grpc.parsers import RequestFacts, check_parser_names
from vllm_integrations.transports.grpc.session import GenerationSession, ModelSetup, ToolPolicy
from vllm_integrations.transports.grpc.templates import render_chat
from vllm_integrations.transports.grpc.tokenizer_cache import load_tokenizer, unpack_tokenizer
from vllm_integrations.transports.grpc.tool_constraint import request_constraint
from vllm_integrations.transports.replies import ReplyCollector
from vllm_integrations.types import (
    ChatDelta,
    ChatReply,
    ChatRequest,
    CompletionDelta,
    CompletionReply,
    CompletionRequest,
    ModelCard,
    ResponseInfo,
)

if TYPE_CHECKING:
    from vllm_integrations.transports.base import TransportOptions


class GrpcTransport:
    """One vLLM gRPC server. ``tokenizer`` is a local path or hub id; by default the server's
    own tokenizer files are fetched once (GetTokenizer) and cached. ``reasoning_parser``
    defaults to the one the server's engine runs."""

    def __init__(self, base_url: str, options: TransportOptions) -> None:
        check_parser_names(options.reasoning_parser, options.tool_call_parser)  # before connecting
        self.connection = Connection(base_url, options)
        self.base_url = base_url
        self._tokenizer_source = options.tokenizer
        self._reasoning_parser = options.reasoning_parser
        self._tool_call_parser = options.tool_call_parser
        self._setup: ModelSetup | None = None

    def close(self) -> None:
        self.connection.close()

    async def aclose(self) -> None:
        await self.connection.aclose()

    # -- model facts -----------------------------------------------------------------------

    def setup(self) -> ModelSetup:
        """Model facts and tokenizer, fetched on first use."""
        if self._setup is None:
            info = self.model_info()
            server = self.server_info()
            tokenizer = self._tokenizer_source or unpack_tokenizer(
                self.connection.stream_call("GetTokenizer", wire.tokenizer_request()),
                address=self.base_url,
            )
            self._setup = self._make_setup(info, server, tokenizer)
        return self._setup

    async def asetup(self) -> ModelSetup:
        if self._setup is None:
            info = await self.amodel_info()
            server = await self.aserver_info()
            tokenizer = self._tokenizer_source or unpack_tokenizer(
                await self.connection.astream_call("GetTokenizer", wire.tokenizer_request()),
                address=self.base_url,
            )
            self._setup = self._make_setup(info, server, tokenizer)
        return self._setup

    def _make_setup(self, info: Any, server: Any, tokenizer_source: str) -> ModelSetup:
        defaults = json.loads(info.default_sampling_params_json or "{}")
        return ModelSetup(
            tokenizer=load_tokenizer(tokenizer_source),
            served_model_name=info.served_model_name,
            max_context_length=info.max_context_length,
            eos_token_ids=tuple(info.eos_token_ids),
            default_temperature=float(defaults.get("temperature", 1.0)),
            reasoning_parser=self._reasoning_parser or server.engine_reasoning_parser or None,
            tool_call_parser=self._tool_call_parser,
        )

    # -- management --------------------------------------------------------------------------

    def model_info(self) -> Any:
        """The server's GetModelInfo answer."""
        return self.connection.call("GetModelInfo", wire.pb().GetModelInfoRequest())

    async def amodel_info(self) -> Any:
        return await self.connection.acall("GetModelInfo", wire.pb().GetModelInfoRequest())

    def server_info(self) -> Any:
        """The server's GetServerInfo answer."""
        return self.connection.call("GetServerInfo", wire.pb().GetServerInfoRequest())

    async def aserver_info(self) -> Any:
        return await self.connection.acall("GetServerInfo", wire.pb().GetServerInfoRequest())

    def healthy(self) -> bool:
        """Whether the server takes requests: its ``grpc.health.v1`` service reports the engine
        SERVING (not while warming up or shutting down) and the engine has not failed."""
        status = self.connection.call("Check", wire.health_request(), health=True)
        engine = self.connection.call("HealthCheck", wire.pb().HealthCheckRequest())
        return wire.is_serving(status, engine)

    async def ahealthy(self) -> bool:
        status = await self.connection.acall("Check", wire.health_request(), health=True)
        engine = await self.connection.acall("HealthCheck", wire.pb().HealthCheckRequest())
        return wire.is_serving(status, engine)

    def abort(self, request_ids: Iterable[str]) -> None:
        """Stop generating for these requests (unknown ids are ignored)."""
        self.connection.call("Abort", wire.pb().AbortRequest(request_ids=list(request_ids)))

    async def aabort(self, request_ids: Iterable[str]) -> None:
        await self.connection.acall("Abort", wire.pb().AbortRequest(request_ids=list(request_ids)))

    def list_models(self) -> list[ModelCard]:
        setup = self.setup()
        return [ModelCard(setup.served_model_name, setup.max_context_length)]

    async def alist_models(self) -> list[ModelCard]:
        setup = await self.asetup()
        return [ModelCard(setup.served_model_name, setup.max_context_length)]

    # -- chat ------------------------------------------------------------------------------

    def _check_model(self, setup: ModelSetup, model: str) -> None:
        """The gRPC API has no model name: a name other than the served one is an error, as
        over HTTP, rather than silently answered by another model."""
        if model != setup.served_model_name:
            raise model_not_served(model, [setup.served_model_name], address=self.base_url)

    def _chat_session(
        self, setup: ModelSetup, request: ChatRequest, *, stream: bool
    ) -> tuple[GenerationSession, Any]:
        if request.extra_body:
            raise ValueError("extra_body has no gRPC equivalent; use the typed fields")
        self._check_model(setup, request.model)
        template_kwargs = request.chat_template_kwargs or {}
        prompt, prompt_ids = render_chat(
            setup.tokenizer,
            request.messages,
            tools=request.tools,
            chat_template_kwargs=template_kwargs,
        )
        params = wire.sampling_params(
            request.sampling,
            self._tool_call_constraint(setup, request),
            default_temperature=setup.default_temperature,
        )
        request_id = f"chatcmpl-{uuid.uuid4().hex}"  # also the response id: Abort takes it
        grpc_request = wire.generate_request(prompt, prompt_ids, params, request_id, stream=stream)
        info = ResponseInfo(id=request_id, model=setup.served_model_name)
        session = GenerationSession(
            setup,
            request.sampling,
            info,
            prompt_ids=prompt_ids,
            tools=ToolPolicy(
                request=RequestFacts(
                    tools=request.tools or (),
                    tool_choice=request.tool_choice,
                    chat_template_kwargs=template_kwargs,
                    parallel_tool_calls=request.parallel_tool_calls,
                ),
                single_call=request.parallel_tool_calls is False,
                named=isinstance(request.tool_choice, Mapping),
            ),
            stream=stream,
        )
        return session, grpc_request

    @staticmethod
    def _tool_call_constraint(setup: ModelSetup, request: ChatRequest) -> StructuredOutputs | None:
        """The request's structured outputs, or the structural tag vLLM's server would use in
        their place to enforce tool_choice and parallel_tool_calls (or gpt-oss's channels)."""
        return request_constraint(
            setup.reasoning_parser,
            setup.tool_call_parser,
            request.tools or (),
            request.tool_choice,
            parallel_tool_calls=request.parallel_tool_calls,
            structured=request.structured_outputs,
        )

    def chat(self, request: ChatRequest) -> list[ChatReply]:
        session, grpc_request = self._chat_session(self.setup(), request, stream=False)
        deltas = list(self._generate(session, grpc_request))
        return session.replies(deltas)

    async def achat(self, request: ChatRequest) -> list[ChatReply]:
        session, grpc_request = self._chat_session(await self.asetup(), request, stream=False)
        deltas = [delta async for delta in self._agenerate(session, grpc_request)]
        return session.replies(deltas)

    def stream_chat(self, request: ChatRequest) -> Generator[ChatDelta, None, None]:
        session, grpc_request = self._chat_session(self.setup(), request, stream=True)
        yield from self._generate(session, grpc_request)
        if request.stream_usage:
            yield session.usage_delta()

    async def astream_chat(self, request: ChatRequest) -> AsyncGenerator[ChatDelta, None]:
        session, grpc_request = self._chat_session(await self.asetup(), request, stream=True)
        async with contextlib.aclosing(self._agenerate(session, grpc_request)) as deltas:
            async for delta in deltas:
                yield delta
        if request.stream_usage:
            yield session.usage_delta()

    def _generate(
        self, session: GenerationSession, grpc_request: Any, *, completion: bool = False
    ) -> Generator[ChatDelta, None, None]:
        """The session's deltas; a reply that ends unfinished raises with what arrived."""
        collector = self._collector(grpc_request, completion)
        with (
            collector.watching(session.flush_unfinished),
            self.connection.errors(),
            contextlib.closing(self.connection.generate(grpc_request)) as responses,
        ):  # closed early (a caller that stops reading): the request is aborted
            for response in responses:
                for delta in session.on_response(response):
                    collector.add(delta)
                    yield delta

    async def _agenerate(
        self, session: GenerationSession, grpc_request: Any, *, completion: bool = False
    ) -> AsyncGenerator[ChatDelta, None]:
        collector = self._collector(grpc_request, completion)
        with collector.watching(session.flush_unfinished), self.connection.errors():
            async with contextlib.aclosing(self.connection.agenerate(grpc_request)) as responses:
                async for response in responses:
                    for delta in session.on_response(response):
                        collector.add(delta)
                        yield delta

    def _collector(self, grpc_request: Any, completion: bool) -> ReplyCollector:
        choices = grpc_request.sampling_params.n or 1
        return ReplyCollector(choices=choices, completion=completion, address=self.base_url)

    # -- completions -----------------------------------------------------------------------

    def _completion_session(
        self, setup: ModelSetup, request: CompletionRequest, *, stream: bool
    ) -> tuple[GenerationSession, Any]:
        if request.extra_body:
            raise ValueError("extra_body has no gRPC equivalent; use the typed fields")
        self._check_model(setup, request.model)
        text_only = dataclasses.replace(setup, reasoning_parser=None, tool_call_parser=None)
        if isinstance(request.prompt, str):
            prompt, prompt_ids = request.prompt, list(setup.tokenizer.encode(request.prompt))
        else:
            prompt, prompt_ids = "", list(request.prompt)
        params = wire.sampling_params(
            request.sampling,
            request.structured_outputs,
            default_temperature=setup.default_temperature,
        )
        request_id = f"cmpl-{uuid.uuid4().hex}"
        info = ResponseInfo(id=request_id, model=setup.served_model_name)
        session = GenerationSession(
            text_only,
            request.sampling,
            info,
            prompt_ids=prompt_ids,
            tools=ToolPolicy(),
            stream=stream,
        )
        return session, wire.generate_request(prompt, prompt_ids, params, request_id, stream=stream)

    def complete(self, request: CompletionRequest) -> list[CompletionReply]:
        session, grpc_request = self._completion_session(self.setup(), request, stream=False)
        deltas = list(self._generate(session, grpc_request, completion=True))
        return [completion_reply(r) for r in session.replies(deltas)]

    async def acomplete(self, request: CompletionRequest) -> list[CompletionReply]:
        session, grpc_request = self._completion_session(await self.asetup(), request, stream=False)
        deltas = [d async for d in self._agenerate(session, grpc_request, completion=True)]
        return [completion_reply(r) for r in session.replies(deltas)]

    def stream_complete(self, request: CompletionRequest) -> Generator[CompletionDelta, None, None]:
        session, grpc_request = self._completion_session(self.setup(), request, stream=True)
        convert = CompletionDeltas()
        with contextlib.closing(self._generate(session, grpc_request, completion=True)) as deltas:
            for delta in deltas:
                yield convert(delta)
        if request.stream_usage:
            yield convert(session.usage_delta())

    async def astream_complete(
        self, request: CompletionRequest
    ) -> AsyncGenerator[CompletionDelta, None]:
        session, grpc_request = self._completion_session(await self.asetup(), request, stream=True)
        convert = CompletionDeltas()
        generated = self._agenerate(session, grpc_request, completion=True)
        async with contextlib.aclosing(generated) as deltas:
            async for delta in deltas:
                yield convert(delta)
        if request.stream_usage:
            yield convert(session.usage_delta())
