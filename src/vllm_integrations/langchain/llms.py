"""VLLM: a LangChain text-completion model over vLLM's /v1/completions (no chat template).

Structured outputs bind per call: ``llm.bind(structured_outputs=StructuredOutputs(regex=...))``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM, LangSmithParams
from langchain_core.outputs import Generation, GenerationChunk, LLMResult

from vllm_integrations.adapter_settings import SHARED_SAMPLING_FIELDS, STRICT_CONFIG, reject_unknown
from vllm_integrations.langchain._base import VLLMClientSettings
from vllm_integrations.langchain._messages import usage_metadata
from vllm_integrations.structured import as_structured_outputs
from vllm_integrations.types import CompletionDelta, CompletionReply, CompletionRequest, Usage

_COMPLETION_SAMPLING_FIELDS = (*SHARED_SAMPLING_FIELDS, "logprobs", "n")


class VLLM(VLLMClientSettings, BaseLLM):
    """A vLLM server as a LangChain text-completion model (``/v1/completions``).

    ```python
    llm = VLLM(model="Qwen/Qwen3-8B", base_url="http://127.0.0.1:8000/v1", max_tokens=64)
    llm.invoke("The capital of France is")
    ```
    """

    model_config = STRICT_CONFIG

    logprobs: int | None = None
    """Return the logprobs of this many most likely tokens at each position."""
    n: int | None = None

    @property
    def _llm_type(self) -> str:
        return "vllm-completion"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "vllm"
        params["ls_model_name"] = kwargs.get("model") or self.model_name or ""
        return params

    def _request(
        self, prompt: str, stop: list[str] | None, model: str, options: dict[str, Any]
    ) -> CompletionRequest:
        options = dict(options)
        options.pop("model", None)
        sampling = self.sampling(_COMPLETION_SAMPLING_FIELDS, options)
        if stop or self.stop:
            sampling["stop"] = stop or self.stop
        structured = as_structured_outputs(options.pop("structured_outputs", None))
        request = CompletionRequest(
            model=model,
            prompt=prompt,
            sampling=sampling,
            structured_outputs=structured,
            extra_body=self.merged_extra_body(options.pop("extra_body", None)),
            stream_usage=options.pop("stream_usage", self.stream_usage),
        )
        reject_unknown(options, type(self).__name__)
        return request

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        model = kwargs.get("model") or self.resolved_model()
        replies = [self.transport.complete(self._request(p, stop, model, kwargs)) for p in prompts]
        return _llm_result(replies)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        model = kwargs.get("model") or await self.aresolved_model()
        replies = [
            await self.transport.acomplete(self._request(p, stop, model, kwargs)) for p in prompts
        ]
        return _llm_result(replies)

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        request = self._request(prompt, stop, kwargs.get("model") or self.resolved_model(), kwargs)
        terminal = _Terminal()
        for delta in self.transport.stream_complete(request):
            chunk = terminal.chunk(delta)
            if chunk is not None:
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        yield terminal.final()

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        model = kwargs.get("model") or await self.aresolved_model()
        request = self._request(prompt, stop, model, kwargs)
        terminal = _Terminal()
        async for delta in self.transport.astream_complete(request):
            chunk = terminal.chunk(delta)
            if chunk is not None:
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        yield terminal.final()


class _Terminal:
    """Holds the finish reason, model and usage of a stream for one final chunk."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.usage: Usage | None = None

    def chunk(self, delta: CompletionDelta) -> GenerationChunk | None:
        if delta.usage is not None:
            self.usage = delta.usage
        if delta.finish_reason is not None:
            self.info["finish_reason"] = delta.finish_reason
            if delta.stop_reason is not None:
                self.info["stop_reason"] = delta.stop_reason
        if delta.info is not None:
            self.info["model_name"] = delta.info.model
            self.info["id"] = delta.info.id
        if not delta.text and delta.logprobs is None:
            return None
        info = {"logprobs": delta.logprobs} if delta.logprobs is not None else None
        return GenerationChunk(text=delta.text, generation_info=info)

    def final(self) -> GenerationChunk:
        info = dict(self.info)
        if self.usage is not None:
            info["usage_metadata"] = usage_metadata(self.usage)
        return GenerationChunk(text="", generation_info=info)


def _generation(reply: CompletionReply) -> Generation:
    info: dict[str, Any] = {
        "finish_reason": reply.finish_reason,
        "model_name": reply.info.model,
        "id": reply.info.id,
    }
    if reply.stop_reason is not None:
        info["stop_reason"] = reply.stop_reason
    if reply.logprobs is not None:
        info["logprobs"] = reply.logprobs
    if reply.usage is not None:
        info["usage_metadata"] = usage_metadata(reply.usage)
    return Generation(text=reply.text, generation_info=info)


def _llm_result(per_prompt: list[list[CompletionReply]]) -> LLMResult:
    prompt_tokens = completion_tokens = 0
    for replies in per_prompt:
        if replies and replies[0].usage is not None:
            prompt_tokens += replies[0].usage.prompt_tokens
            completion_tokens += replies[0].usage.completion_tokens
    token_usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    return LLMResult(
        generations=[[_generation(r) for r in replies] for replies in per_prompt],
        llm_output={"token_usage": token_usage},
    )
