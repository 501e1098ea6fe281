"""Defaults read from the environment, shared by every adapter."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from vllm_integrations.extras import require_extra

DEFAULT_BASE_URL = "http://localhost:8000/v1"
DEFAULT_API_KEY = "EMPTY"  # vLLM accepts any key unless started with --api-key
DEFAULT_GRPC_HOST = "localhost"
DEFAULT_GRPC_PORT = 50051  # vLLM's gRPC launcher's default (`vllm serve --grpc` uses --port)

Transport = Literal["http", "grpc"]
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


def default_grpc_timeout() -> float | None:
    """``$VLLM_GRPC_TIMEOUT`` in seconds, else no deadline."""
    value = os.environ.get("VLLM_GRPC_TIMEOUT")
    if not value:
        return None
    with contextlib.suppress(ValueError):
        if (seconds := float(value)) > 0:
            return seconds
    raise ValueError(f"VLLM_GRPC_TIMEOUT must be a positive number of seconds, not {value!r}")


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


def cache_root() -> Path:
    """``$VLLM_INTEGRATIONS_CACHE``, else ``$XDG_CACHE_HOME/vllm-integrations``, else ~/.cache."""
    explicit = os.environ.get("VLLM_INTEGRATIONS_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "vllm-integrations"
