"""Start a real vLLM server as a child process, wait until it serves, and stop its whole tree.

Used by the test fixtures, the demo, and by anyone who wants a throwaway vLLM next to their code.
The server may run from another Python environment (``python=``), because vLLM pins many packages.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import httpx

from vllm_integrations.errors import ServerStartError
from vllm_integrations.extras import require_extra

Protocol = Literal["http", "grpc"]

_MODULES: dict[Protocol, str] = {
    "http": "vllm.entrypoints.openai.api_server",
    "grpc": "vllm.entrypoints.launchers.grpc_server",
}
_POLL_INTERVAL_S = 0.5
_LOG_TAIL_BYTES = 6000

_running: weakref.WeakSet[LocalVLLMServer] = weakref.WeakSet()


class LocalVLLMServer:
    """A vLLM server (OpenAI-compatible HTTP or native gRPC) owned by this process.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. ``base_url`` is
    ``http://HOST:PORT/v1`` or ``grpc://HOST:PORT``. The server log goes to ``log_path``.
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        protocol: Protocol = "http",
        served_model_name: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        reasoning_parser: str | None = None,
        tool_call_parser: str | None = None,
        max_model_len: int | None = None,
        dtype: str | None = None,
        api_key: str | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        python: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        startup_timeout: float = 300.0,
        stop_timeout: float = 20.0,
    ) -> None:
        if protocol not in _MODULES:
            raise ValueError(f"protocol must be 'http' or 'grpc', not {protocol!r}")
        if protocol == "grpc" and (tool_call_parser or api_key):
            raise ValueError(
                "vLLM's gRPC server neither parses tool calls nor checks API keys; "
                "give tool_call_parser to the gRPC client instead and drop api_key"
            )
        self.model = os.fspath(model)
        self.protocol: Protocol = protocol
        self.served_model_name = served_model_name
        self.host = host
        self.port = port
        self.reasoning_parser = reasoning_parser
        self.tool_call_parser = tool_call_parser
        self.max_model_len = max_model_len
        self.dtype = dtype
        self.api_key = api_key
        self.extra_args = tuple(extra_args)
        self.env = dict(env or {})
        self.python = os.fspath(python or os.environ.get("VLLM_SERVER_PYTHON") or sys.executable)
        self.log_path = Path(log_path) if log_path else None
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalVLLMServer(model={self.model!r}, protocol={self.protocol!r}, {state})"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server has no port yet: call start() first")
        address = f"{_connect_host(self.host)}:{self.port}"
        return f"http://{address}/v1" if self.protocol == "http" else f"grpc://{address}"

    def command(self) -> list[str]:
        """The exact command line that starts the server (the port must be known)."""
        args = [self.python, "-m", _MODULES[self.protocol], "--model", self.model]
        args += ["--host", self.host, "--port", str(self.port)]
        options: list[tuple[str, object]] = [
            ("--served-model-name", self.served_model_name),
            ("--reasoning-parser", self.reasoning_parser),
            ("--tool-call-parser", self.tool_call_parser),
            ("--max-model-len", self.max_model_len),
            ("--dtype", self.dtype),
            ("--api-key", self.api_key),
        ]
        for flag, value in options:
            if value is not None:
                args += [flag, str(value)]
        if self.tool_call_parser:
            args.append("--enable-auto-tool-choice")
        return args + list(self.extra_args)

    def start(self) -> LocalVLLMServer:
        """Launch the server and block until it answers; on any failure nothing is left running."""
        if self._process is not None:
            raise RuntimeError("this server was already started")
        _check_model_path(self.model)
        if self.port is None:
            self.port = _free_port(self.host)
        else:
            _check_port_free(self.host, self.port)
        if self.log_path is None:
            log_dir = Path(tempfile.mkdtemp(prefix="vllm-server-"))
            self.log_path = log_dir / f"{self.protocol}-{self.port}.log"
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            # Its own process group, so stop() reaches every worker, but the caller's session:
            # a new session is a new scheduler autogroup on Linux, and on a 2-CPU machine the
            # engine's busy loop then kept a client in the other group off the CPU for seconds.
            process_group=0,
        )
        _running.add(self)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and every process it started; safe to call more than once."""
        process, self._process = self._process, None
        if process is not None:
            _terminate_group(process, self.stop_timeout)
            _running.discard(self)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self) -> str:
        """The last lines the server wrote, for error messages."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - _LOG_TAIL_BYTES))
            return log.read().decode("utf-8", "replace").strip()

    def __enter__(self) -> LocalVLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        probe = _HttpProbe(self) if self.protocol == "http" else _GrpcProbe(self)
        deadline = time.monotonic() + self.startup_timeout
        try:
            while time.monotonic() < deadline:
                code = self._process.poll()
                if code is not None:
                    raise ServerStartError(
                        f"vLLM {self.protocol} server for {self.model!r} exited with code {code} "
                        f"before it was ready (log: {self.log_path})",
                        log_tail=self.log_tail(),
                    )
                if probe.ready():
                    return
                time.sleep(_POLL_INTERVAL_S)
        finally:
            probe.close()
        raise ServerStartError(
            f"vLLM {self.protocol} server for {self.model!r} was not ready after "
            f"{self.startup_timeout:.0f} s (log: {self.log_path})",
            log_tail=self.log_tail(),
        )


class _HttpProbe:
    """Ready when GET /v1/models answers 200: the model is loaded and the API is up."""

    def __init__(self, server: LocalVLLMServer) -> None:
        headers = {"Authorization": f"Bearer {server.api_key}"} if server.api_key else {}
        self._url = f"{server.base_url}/models"
        self._client = httpx.Client(headers=headers, timeout=5.0)

    def ready(self) -> bool:
        try:
            return self._client.get(self._url).status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self._client.close()


class _GrpcProbe:
    """Ready when grpc.health.v1 reports the VllmEngine service SERVING (not just listening)."""

    def __init__(self, server: LocalVLLMServer) -> None:
        require_extra("grpc", purpose="waiting for a vLLM gRPC server")
        import grpc
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from vllm_integrations.transports.grpc.wire import health_request

        self._grpc = grpc
        self._request = health_request()
        self._serving = health_pb2.HealthCheckResponse.SERVING
        self._channel = grpc.insecure_channel(f"{_connect_host(server.host)}:{server.port}")
        self._stub = health_pb2_grpc.HealthStub(self._channel)

    def ready(self) -> bool:
        try:
            reply = self._stub.Check(self._request, timeout=5.0)
        except self._grpc.RpcError:
            return False
        return bool(reply.status == self._serving)

    def close(self) -> None:
        self._channel.close()


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0") else host


def _check_model_path(model: str) -> None:
    """A model given as a path must exist; a hub id is left for vLLM to resolve."""
    looks_like_path = model.startswith(("/", "./", "../", "~")) or os.path.exists(model)
    if looks_like_path and not Path(model).expanduser().is_dir():
        raise ServerStartError(f"model directory {model!r} does not exist")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_connect_host(host), 0))
        port: int = sock.getsockname()[1]
        return port


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do, so a port left in TIME_WAIT does not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_connect_host(host), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServerStartError(f"port {port} on {host} is already in use") from exc
            raise


def _terminate_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process group, then SIGKILL whatever is still alive after ``timeout``."""
    group = process.pid  # process_group=0 made the server its group leader
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    while _group_members(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    if process.poll() is None or _group_members(group):
        _signal_group(group, signal.SIGKILL)
        process.wait()


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def _group_members(group: int) -> list[int]:
    """Live (non-zombie) processes in a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, pgrp, ...
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == group and state != "Z":
            members.append(int(entry.name))
    return members


@atexit.register
def _stop_all() -> None:
    """Never leave a server behind when the interpreter exits without calling stop()."""
    for server in list(_running):
        server.stop()
