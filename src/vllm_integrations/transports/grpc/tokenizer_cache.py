"""The server's own tokenizer on the client: fetched once (GetTokenizer, a zip in chunks),
checked against the server's sha256, unpacked atomically into the cache, loaded once per
process and shared by every client of that tokenizer.

Why by hand: the archive is the gRPC server's own format; transformers loads the folder.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vllm_integrations.errors import APIError
from vllm_integrations.settings import cache_root

_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


def unpack_tokenizer(chunks: Iterable[Any], *, address: str) -> str:
    """The folder the server's tokenizer archive unpacks to, unpacked once into the cache.

    Concurrent first uses (threads or processes) each unpack into a temporary folder and
    rename it into place; a reader never sees a half-written file."""
    parts: list[bytes] = []
    expected = ""
    for chunk in chunks:
        parts.append(chunk.data)
        expected = chunk.sha256 or expected
    data = b"".join(parts)
    digest = hashlib.sha256(data).hexdigest()
    if expected and expected.lower() != digest:
        raise APIError(
            f"the tokenizer archive from the server is corrupt (sha256 {digest}, the server "
            f"says {expected})",
            address=address,
        )
    target = cache_root() / "tokenizers" / digest[:16]
    if target.is_dir():
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            archive.extractall(staging)
        try:
            os.rename(staging, target)
        except OSError:  # another process put the same folder in place first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)


class _NoTorchAdvice(logging.Filter):
    """Drops transformers' import-time advice that PyTorch is missing: only its tokenizers are
    used here, which need no PyTorch, so the line on the user's stderr would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("PyTorch was not found")


def load_tokenizer(source: str) -> Any:
    """The transformers tokenizer at ``source`` (a folder or hub id), loaded once per process;
    the lock also keeps concurrent first uses off transformers' lazy imports."""
    with _LOCK:
        tokenizer = _LOADED.get(source)
        if tokenizer is None:
            quiet = _NoTorchAdvice()
            logging.getLogger("transformers").addFilter(quiet)
            try:
                from transformers import AutoTokenizer
            finally:
                logging.getLogger("transformers").removeFilter(quiet)

            tokenizer = _LOADED[source] = AutoTokenizer.from_pretrained(source)
        return tokenizer
