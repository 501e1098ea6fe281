"""Defaults read from the environment, shared by every adapter."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "http://localhost:8000/v1"
DEFAULT_API_KEY = "EMPTY"  # vLLM accepts any key unless started with --api-key

Transport = Literal["http", "grpc"]
_SCHEMES: dict[str, Transport] = {"http": "http", "https": "http", "grpc": "grpc", "grpcs": "grpc"}


def default_base_url() -> str:
    """``$VLLM_BASE_URL``, else a local server on vLLM's default port."""
    return os.environ.get("VLLM_BASE_URL") or DEFAULT_BASE_URL


def default_api_key() -> str:
    """``$VLLM_API_KEY``, else the placeholder vLLM accepts when it checks no key."""
    return os.environ.get("VLLM_API_KEY") or DEFAULT_API_KEY


def transport_for(base_url: str) -> Transport:
    """Which of vLLM's front doors a base URL names, by its scheme."""
    scheme = urlsplit(base_url).scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(
            f"base_url must start with http://, https://, grpc:// or grpcs://, not {base_url!r}"
        )
    return _SCHEMES[scheme]


def cache_root() -> Path:
    """``$VLLM_INTEGRATIONS_CACHE``, else ``$XDG_CACHE_HOME/vllm-integrations``, else ~/.cache."""
    explicit = os.environ.get("VLLM_INTEGRATIONS_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "vllm-integrations"
