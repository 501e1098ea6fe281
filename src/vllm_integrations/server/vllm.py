"""Start a real vLLM server as a child process, wait until it serves, and stop its whole tree.

Used by the test fixtures, the demo, the gateway's workers, and by anyone who wants a throwaway
vLLM next to their code. The server may run from another Python environment (``python=``),
because vLLM pins many packages.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx

from vllm_integrations.errors import ServerStartError
from vllm_integrations.extras import require_extra
from vllm_integrations.server.processes import (
    ChildProcess,
    ReadinessProbe,
    check_model_path,
    child_env,
    connect_host,
    log_tail,
    port_for,
)

Protocol = Literal["http", "grpc"]

_MODULES: dict[Protocol, str] = {
    "http": "vllm.entrypoints.openai.api_server",
    "grpc": "vllm.entrypoints.launchers.grpc_server",
}
_PORT_TAKEN = "address already in use"
"""What vLLM's HTTP (uvicorn) and gRPC servers log when their port is taken."""
_PORT_ATTEMPTS = 3
_API_KEY_VARIABLE = "VLLM_API_KEY"
"""vLLM's HTTP server checks this key when set: the key goes here, never on the command line
(where ``ps`` shows it to every user of the machine)."""


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
        self._child: ChildProcess | None = None
        self._picks_port = port is None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalVLLMServer(model={self.model!r}, protocol={self.protocol!r}, {state})"

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.running

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child else None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server has no port yet: call start() first")
        address = f"{connect_host(self.host)}:{self.port}"
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
        ]
        for flag, value in options:
            if value is not None:
                args += [flag, str(value)]
        if self.tool_call_parser:
            args.append("--enable-auto-tool-choice")
        return args + list(self.extra_args)

    def environment(self) -> dict[str, str]:
        """The server's environment: this one, with ``env`` on top and ``VLLM_API_KEY`` set to
        ``api_key`` (or removed: a key the caller set for its clients must not lock the server)."""
        key = {_API_KEY_VARIABLE: self.api_key} if self.api_key else {}
        return child_env({**key, **self.env}, drop=(_API_KEY_VARIABLE,))

    def start(self) -> LocalVLLMServer:
        """Launch the server and block until it answers; on any failure nothing is left running."""
        self.launch()
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self) -> LocalVLLMServer:
        """Start the process without waiting for it to serve (then :meth:`wait_until_ready`):
        several servers launched first, then awaited, load side by side."""
        if self._child is not None:
            raise RuntimeError("this server was already started")
        check_model_path(self.model)
        self.port = port_for(self.host, self.port)
        if self.log_path is None:
            log_dir = Path(tempfile.mkdtemp(prefix="vllm-server-"))
            self.log_path = log_dir / f"{self.protocol}-{self.port}.log"
        self._child = ChildProcess(
            self.command(),
            log_path=self.log_path,
            env=self.environment(),
            stop_timeout=self.stop_timeout,
        )
        self._child.start()
        return self

    def wait_until_ready(self) -> None:
        """Block until the launched server answers (HTTP: ``/v1/models``; gRPC: the health
        service says SERVING); ``ServerStartError`` with the log tail if it exits or times out."""
        what = f"vLLM {self.protocol} server for {self.model!r}"
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            if self._child is None:
                raise RuntimeError("launch() the server first")
            try:
                self._child.wait_until_ready(self._probe(), timeout=self.startup_timeout, what=what)
                return
            except ServerStartError as error:
                lost_port = _PORT_TAKEN in error.log_tail.lower()
                if not (self._picks_port and lost_port and attempt < _PORT_ATTEMPTS):
                    raise
            self._relaunch_on_another_port()

    def _probe(self) -> ReadinessProbe:
        return _HttpProbe(self) if self.protocol == "http" else _GrpcProbe(self)

    def _relaunch_on_another_port(self) -> None:
        """The free port this server was given was taken before vLLM bound it (vLLM binds it
        only once the model is loaded, and its own processes take free ports meanwhile): start
        again on another one."""
        self.stop()
        self.port = None
        self.launch()

    def stop(self) -> None:
        """Stop the server and every process it started; safe to call more than once."""
        child, self._child = self._child, None
        if child is not None:
            child.stop()

    def log_tail(self) -> str:
        """The last lines the server wrote, for error messages."""
        return log_tail(self.log_path)

    def __enter__(self) -> LocalVLLMServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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
        self._channel = grpc.insecure_channel(f"{connect_host(server.host)}:{server.port}")
        self._stub = health_pb2_grpc.HealthStub(self._channel)

    def ready(self) -> bool:
        try:
            reply = self._stub.Check(self._request, timeout=5.0)
        except self._grpc.RpcError:
            return False
        return bool(reply.status == self._serving)

    def close(self) -> None:
        self._channel.close()
