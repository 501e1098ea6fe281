"""vLLM's gRPC messages (smg ``vllm.grpc.engine``) from neutral requests, and gRPC errors as
this package's exception family. Pure functions over the generated protobuf classes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from vllm_integrations.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    MessageTooLargeError,
    status_error,
)
from vllm_integrations.structured import StructuredOutputs

HEALTH_SERVICE = "vllm.grpc.engine.VllmEngine"
"""The name vLLM's server registers with the ``grpc.health.v1`` service."""
_INT32_MAX = 2**31 - 1
_PASSED_AS_IS = (
    "top_p",
    "top_k",
    "min_p",
    "frequency_penalty",
    "presence_penalty",
    "repetition_penalty",
    "max_tokens",
    "min_tokens",
    "ignore_eos",
    "n",
    "include_stop_str_in_output",
)
# gRPC status names and the HTTP status each stands for, as vLLM's servicer maps them.
_HTTP_EQUIVALENT = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "ABORTED": 500,
}


def pb() -> Any:
    """The generated message module (imported late: grpc is an optional extra)."""
    from smg_grpc_proto import vllm_engine_pb2

    return vllm_engine_pb2


def sampling_params(
    sampling: Mapping[str, Any],
    structured: StructuredOutputs | None,
    *,
    default_temperature: float,
) -> Any:
    """SamplingParams with every field the caller set; temperature always explicit (the
    servicer would take an unset one as 1.0, not as the model's default)."""
    params = pb().SamplingParams(
        temperature=sampling.get("temperature", default_temperature),
        skip_special_tokens=sampling.get("skip_special_tokens", True),
        spaces_between_special_tokens=True,
    )
    if sampling.get("top_k") == -1:  # vLLM's HTTP spelling of "no top-k"; the wire's is 0
        sampling = {**sampling, "top_k": 0}
    for name in _PASSED_AS_IS:
        if sampling.get(name) is not None:
            with _naming(name, sampling[name]):
                setattr(params, name, sampling[name])
    with _naming("stop", sampling.get("stop")):
        params.stop.extend(sampling.get("stop") or ())
    with _naming("stop_token_ids", sampling.get("stop_token_ids")):
        params.stop_token_ids.extend(sampling.get("stop_token_ids") or ())
    with _naming("logit_bias", sampling.get("logit_bias")):
        for token, bias in (sampling.get("logit_bias") or {}).items():
            params.logit_bias[int(token)] = float(bias)
    seed = sampling.get("seed")
    if seed is not None:
        if not -_INT32_MAX - 1 <= seed <= _INT32_MAX:
            raise ValueError(f"seed must fit in 32 bits over gRPC, got {seed}")
        params.seed = seed
    logprobs = sampling.get("logprobs")
    if logprobs is True:  # chat: a flag, and how many alternatives
        params.logprobs = int(sampling.get("top_logprobs") or 0)
    elif logprobs is not None and logprobs is not False:  # completions: how many alternatives
        params.logprobs = int(logprobs)
    if structured is not None:
        _constrain(params, structured)
    return params


@contextlib.contextmanager
def _naming(name: str, value: Any) -> Iterator[None]:
    """A value protobuf refuses (out of range, wrong type) as an error naming the parameter."""
    try:
        yield
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name}={value!r} is not valid over vLLM's gRPC API: {error}") from None


def _constrain(params: Any, structured: StructuredOutputs) -> None:
    kind = structured.kind
    if kind == "choice":
        params.choice.choices.extend(structured.choice or ())
    elif kind == "json_object":
        params.json_object = True
    else:
        value = getattr(structured, kind)
        setattr(params, kind, value if isinstance(value, str) else json.dumps(value))


def tokenizer_request() -> Any:
    return pb().common__pb2.GetTokenizerRequest()


def health_request() -> Any:
    """The ``grpc.health.v1`` check of the engine's service."""
    from grpc_health.v1 import health_pb2

    return health_pb2.HealthCheckRequest(service=HEALTH_SERVICE)


def is_serving(status: Any, engine: Any) -> bool:
    """The health service says SERVING and the engine's own HealthCheck says healthy."""
    from grpc_health.v1 import health_pb2

    return bool(status.status == health_pb2.HealthCheckResponse.SERVING and engine.healthy)


def generate_request(
    prompt: str, prompt_ids: list[int], params: Any, request_id: str, *, stream: bool
) -> Any:
    return pb().GenerateRequest(
        request_id=request_id,
        tokenized=pb().TokenizedInput(original_text=prompt, input_ids=prompt_ids),
        sampling_params=params,
        stream=stream,
    )


def translate_error(error: Any, address: str) -> APIError:
    """A ``grpc.RpcError`` as this package's error, with the server's own message."""
    code = error.code() if hasattr(error, "code") else None
    name = getattr(code, "name", "UNKNOWN")
    message = (error.details() if hasattr(error, "details") else None) or str(error)
    reason = getattr(error, "reason", "")
    if reason == "too_large" or (
        name == "RESOURCE_EXHAUSTED" and "larger than max" in message.lower()
    ):
        return MessageTooLargeError(
            f"{message} (raise max_message_size to take it)", address=address
        )
    if name == "DEADLINE_EXCEEDED":
        return APITimeoutError(f"the request timed out: {message}", address=address)
    if name in ("UNAVAILABLE", "CANCELLED"):
        return APIConnectionError(f"could not reach vLLM over gRPC: {message}", address=address)
    return status_error(_HTTP_EQUIVALENT.get(name, 500), message, address=address, body=name)
