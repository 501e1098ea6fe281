"""Defaults read from the environment, shared by every adapter."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from vllm_integrations.extras import require_extra

DEFAULT_BASE_URL = "http://localhost:8000/v1"
DEFAULT_API_KEY = "EMPTY"  # vLLM accepts any key unless started with --api-key
DEFAULT_GRPC_HOST = "localhost"
DEFAULT_GRPC_PORT = 50051  # vLLM's gRPC launcher's default (`vllm serve --grpc` uses --port)

DEFAULT_READ_TIMEOUT = 600.0
"""Seconds to wait for the next message of a stream, or for a whole unary reply (vLLM may
prefill a long prompt, or generate a whole non-streamed reply, before it sends anything)."""
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024
"""Bytes: grpcio's default for a received message; also the bound of one SSE event."""

Transport = Literal["http", "grpc"]
GrpcReader = Literal["h2", "grpcio"]
"""Who reads gRPC Generate streams: this package's HTTP/2 reader, or grpcio's own client."""
_SCHEMES: dict[str, Transport] = {"http": "http", "https": "http", "grpc": "grpc", "grpcs": "grpc"}


def default_base_url() -> str:
    """``$VLLM_BASE_URL``, else a local server on vLLM's default port."""
    return os.environ.get("VLLM_BASE_URL") or DEFAULT_BASE_URL


def default_api_key() -> str:
    """``$VLLM_API_KEY``, else the placeholder vLLM accepts when it checks no key."""
    return os.environ.get("VLLM_API_KEY") or DEFAULT_API_KEY


def default_grpc_host() -> str:
    """``$VLLM_GRPC_HOST``, else localhost."""
    return os.environ.get("VLLM_GRPC_HOST") or DEFAULT_GRPC_HOST


def default_grpc_port() -> int:
    """``$VLLM_GRPC_PORT``, else 50051."""
    value = os.environ.get("VLLM_GRPC_PORT")
    if not value:
        return DEFAULT_GRPC_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"VLLM_GRPC_PORT must be a port number, not {value!r}")
    return int(value)


def default_grpc_timeout() -> float:
    """``$VLLM_GRPC_TIMEOUT`` in seconds, else the default read timeout."""
    value = os.environ.get("VLLM_GRPC_TIMEOUT")
    if not value:
        return DEFAULT_READ_TIMEOUT
    with contextlib.suppress(ValueError):
        if (seconds := float(value)) > 0:
            return seconds
    raise ValueError(f"VLLM_GRPC_TIMEOUT must be a positive number of seconds, not {value!r}")


def default_grpc_reader() -> GrpcReader:
    """``$VLLM_GRPC_READER`` (``h2`` or ``grpcio``), else ``h2``."""
    value = os.environ.get("VLLM_GRPC_READER") or "h2"
    if value not in ("h2", "grpcio"):
        raise ValueError(f"VLLM_GRPC_READER must be 'h2' or 'grpcio', not {value!r}")
    return "h2" if value == "h2" else "grpcio"


@dataclass(frozen=True)
class Timeouts:
    """The limits of one call, with one meaning on both transports.

    ``read``: the longest wait, in seconds, for the next message of a stream or for a whole
    unary reply (None: no limit). ``connect``: the longest wait for a connection. ``total``: a
    deadline for the whole call, retries included (None: none)."""

    read: float | None = DEFAULT_READ_TIMEOUT
    connect: float = DEFAULT_CONNECT_TIMEOUT
    total: float | None = None

    def __post_init__(self) -> None:
        for name in ("read", "connect", "total"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"the {name} timeout must be a positive number of seconds")

    def first_wait(self) -> float | None:
        """The longest single wait: the read timeout, cut to the total deadline."""
        if self.total is None:
            return self.read
        return self.total if self.read is None else min(self.read, self.total)


def read_ca_certificates(value: str | bytes | os.PathLike[str] | None) -> bytes | None:
    """PEM certificates given as bytes or as a file's path, read now (a bad path fails here)."""
    if value is None or isinstance(value, bytes):
        return value
    try:
        return Path(value).read_bytes()
    except OSError as error:
        raise ValueError(f"ca_certificates: cannot read {os.fspath(value)!r}: {error}") from None


def transport_for(base_url: str) -> Transport:
    """Which of vLLM's front doors a base URL names, by its scheme."""
    scheme = urlsplit(base_url).scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(
            f"base_url must start with http://, https://, grpc:// or grpcs://, not {base_url!r}"
        )
    return _SCHEMES[scheme]


def check_base_url(base_url: str) -> Transport:
    """The transport a base URL names, after checking it can be used: a known scheme, a host,
    a port for ``grpc(s)://`` (gRPC has no default port), and the extra that transport needs."""
    transport = transport_for(base_url)
    parts = urlsplit(base_url)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"base_url has an invalid port: {base_url!r}") from None
    if not parts.hostname:
        raise ValueError(f"base_url names no host: {base_url!r}")
    if transport == "grpc":
        if port is None:
            raise ValueError(f"a gRPC base_url needs a port (grpc://HOST:PORT), not {base_url!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"a gRPC base_url is grpc(s)://HOST:PORT only, not {base_url!r}")
        require_extra("grpc", purpose=f"base_url {base_url!r}")
    return transport


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_GRPC_KEY = re.compile(r"[0-9a-z_.-]+")


def check_headers(headers: Mapping[str, str], transport: Transport) -> None:
    """Headers (gRPC metadata) a server can take, checked before anything is sent: over gRPC,
    lowercase keys of ``0-9 a-z _ . -`` not starting with ``grpc-``, and printable ASCII values
    (keys ending in ``-bin`` are binary and exempt)."""
    for key, value in headers.items():
        if transport == "http":
            if not _TOKEN.fullmatch(key) or any(c in value for c in "\r\n\0"):
                raise ValueError(f"default_headers: {key!r} is not a valid HTTP header")
            continue
        if not _GRPC_KEY.fullmatch(key.lower()) or key.lower().startswith("grpc-"):
            raise ValueError(
                f"default_headers: {key!r} is not a valid gRPC metadata key (0-9 a-z _ . -, "
                "not starting with grpc-)"
            )
        if not key.lower().endswith("-bin") and not all(" " <= c <= "~" for c in value):
            raise ValueError(f"default_headers: the value of {key!r} must be printable ASCII")


def cache_root() -> Path:
    """``$VLLM_INTEGRATIONS_CACHE``, else ``$XDG_CACHE_HOME/vllm-integrations``, else ~/.cache."""
    explicit = os.environ.get("VLLM_INTEGRATIONS_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "vllm-integrations"
