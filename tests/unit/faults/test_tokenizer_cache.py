"""The server's tokenizer in the client's cache: concurrent first uses (many threads, and two
processes) each unpack aside and rename into place, so no reader ever sees a half-written file;
an archive whose sha256 is not the server's is an error, and nothing of it is cached."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.unit.faults import callers
from tests.unit.faults.grpc_fake import FakeVllmGrpc, Tokenizer
from vllm_integrations.errors import APIError
from vllm_integrations.transports.grpc import tokenizer_cache, wire

READERS = 16


def chunks(archive: bytes, sha256: str, size: int = 4096) -> list[Any]:
    chunk = wire.pb().common__pb2.GetTokenizerChunk
    pieces = [archive[i : i + size] for i in range(0, len(archive), size)]
    return [
        chunk(data=p, sha256=sha256 if i == len(pieces) - 1 else "") for i, p in enumerate(pieces)
    ]


def unpack_and_read(archive: bytes, sha256: str) -> list[str]:
    """What a first use does: unpack (or find) the folder, then read every file in it."""
    folder = Path(tokenizer_cache.unpack_tokenizer(chunks(archive, sha256), address="test"))
    names = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".json":
            json.loads(path.read_text("utf-8"))  # a half-written file would not parse
        names.append(path.name)
    return names


def test_many_threads_unpack_at_once(
    tokenizer: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VLLM_INTEGRATIONS_CACHE", str(tmp_path))
    start = threading.Barrier(READERS)
    results: list[Any] = [None] * READERS

    def first_use(index: int) -> None:
        start.wait()
        try:
            results[index] = unpack_and_read(tokenizer.archive, tokenizer.sha256)
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=first_use, args=(i,)) for i in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    expected = ["chat_template.jinja", "tokenizer.json", "tokenizer_config.json"]
    assert results == [expected] * READERS
    # One folder, named by the archive's digest; no temporary folder left behind.
    assert [p.name for p in (tmp_path / "tokenizers").iterdir()] == [tokenizer.sha256[:16]]


# A process of its own imports only the cache (not this test module's heavy neighbours), so
# that both start, and race, at about the same time.
TWO_PROCESSES = """
import json, sys, threading
from pathlib import Path
from types import SimpleNamespace
from vllm_integrations.transports.grpc.tokenizer_cache import unpack_tokenizer

archive, sha = Path(sys.argv[1]).read_bytes(), sys.argv[2]
chunks = [SimpleNamespace(data=archive, sha256=sha)]  # what GetTokenizer's chunks carry
start = threading.Barrier(8)
results = [None] * 8

def first_use(index):
    start.wait()
    try:
        folder = Path(unpack_tokenizer(chunks, address="test"))
        for path in folder.glob("*.json"):
            json.loads(path.read_text("utf-8"))
        results[index] = sorted(p.name for p in folder.iterdir())
    except Exception as error:
        results[index] = repr(error)

threads = [threading.Thread(target=first_use, args=(i,)) for i in range(8)]
[t.start() for t in threads]
[t.join(60) for t in threads]
print(json.dumps(results))
"""


def test_two_processes_unpack_at_once(tokenizer: Tokenizer, tmp_path: Path) -> None:
    archive = tmp_path / "tokenizer.zip"
    archive.write_bytes(tokenizer.archive)
    cache = tmp_path / "cache"
    env = {"VLLM_INTEGRATIONS_CACHE": str(cache), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-c", TWO_PROCESSES, str(archive), tokenizer.sha256]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    expected = ["chat_template.jinja", "tokenizer.json", "tokenizer_config.json"]
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()[-2000:]
        assert json.loads(out) == [expected] * 8
    assert [p.name for p in (cache / "tokenizers").iterdir()] == [tokenizer.sha256[:16]]


def test_an_archive_not_matching_the_servers_sha256(
    tokenizer: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VLLM_INTEGRATIONS_CACHE", str(tmp_path))
    with pytest.raises(APIError, match="corrupt"):
        unpack_and_read(tokenizer.archive, "0" * 64)
    cut = tokenizer.archive[: len(tokenizer.archive) // 2]
    with pytest.raises(APIError, match="corrupt"):
        unpack_and_read(cut, tokenizer.sha256)  # half the archive, the server's fingerprint
    assert not (tmp_path / "tokenizers").exists() or not any((tmp_path / "tokenizers").iterdir())


def test_a_server_whose_sha256_does_not_match_fails_the_call(
    grpc_server: FakeVllmGrpc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VLLM_INTEGRATIONS_CACHE", str(tmp_path))
    grpc_server.sha256 = "f" * 64
    outcome = callers.chat_invoke(grpc_server.base_url)
    assert isinstance(outcome.error, APIError), repr(outcome.error)
    assert "sha256" in str(outcome.error)
    assert grpc_server.calls["Generate"] == 0
