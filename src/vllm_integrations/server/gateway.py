"""vLLM gRPC workers behind smg, the Shepherd Model Gateway: the OpenAI API with SSE for every
client, over workers that speak token IDs only.

smg (``pip install 'vllm-integrations[gateway]'``) is an existing Rust router: it renders the chat
template, tokenizes, parses reasoning and tool calls, and routes across workers with health
checks, retries and Prometheus metrics. This module only launches it next to its workers, waits
until it routes, and stops everything it started.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from vllm_integrations.extras import require_extra
from vllm_integrations.server.processes import (
    ChildProcess,
    child_env,
    connect_host,
    log_tail,
    port_for,
)
from vllm_integrations.server.vllm import LocalVLLMServer

Worker = LocalVLLMServer | str
"""A gRPC :class:`LocalVLLMServer`, or the ``grpc://HOST:PORT`` of a worker running elsewhere."""


class LocalGateway:
    """An smg router in front of one or more vLLM gRPC workers, owned by this process.

    ``workers``: :class:`LocalVLLMServer` objects with ``protocol="grpc"``, all on one model, or
    ``grpc://`` URLs of workers running elsewhere. Servers not running yet are started here
    (side by side) and stopped by :meth:`stop`; the others are routed to and left running.
    ``model`` is what smg reads the tokenizer and chat template from (default: the servers'
    model). ``base_url`` is the router's ``http://HOST:PORT/v1``. Parser names are smg's own
    (``qwen`` is its hermes-style tool parser); the reasoning parser defaults to the servers'.
    smg's Prometheus metrics go to ``metrics_port``, a free port unless given (smg's default,
    29000, would clash between two gateways). ``extra_args`` go to ``smg launch`` as they are.
    """

    def __init__(
        self,
        workers: Worker | Sequence[Worker],
        *,
        model: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        metrics_port: int | None = None,
        reasoning_parser: str | None = None,
        tool_call_parser: str | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        startup_timeout: float = 120.0,
        stop_timeout: float = 20.0,
    ) -> None:
        require_extra("gateway", purpose="LocalGateway (the smg router)")
        self.workers = [workers] if isinstance(workers, LocalVLLMServer | str) else list(workers)
        servers = _check_workers(self.workers)
        if model is None and not servers:
            raise ValueError("give model= (smg reads its tokenizer there) for workers given by URL")
        self.model = os.fspath(model) if model is not None else servers[0].model
        # What /v1/models lists (vLLM names an unnamed model by its path); unknown for URLs.
        self.served_model_name = (servers[0].served_model_name or self.model) if servers else None
        self.host = host
        self.port = port
        self.metrics_port = metrics_port
        self.reasoning_parser = reasoning_parser or next(
            (server.reasoning_parser for server in servers), None
        )
        self.tool_call_parser = tool_call_parser
        self.extra_args = tuple(extra_args)
        self.env = dict(env or {})
        self.log_dir = Path(log_dir) if log_dir else None
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._router: ChildProcess | None = None
        self._started: list[LocalVLLMServer] = []

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalGateway(model={self.model!r}, workers={len(self.workers)}, {state})"

    @property
    def worker_urls(self) -> list[str]:
        """The ``grpc://HOST:PORT`` of each worker (a server's port is known once started)."""
        return [w if isinstance(w, str) else w.base_url for w in self.workers]

    @property
    def running(self) -> bool:
        return self._router is not None and self._router.running

    @property
    def pid(self) -> int | None:
        """The router's process id."""
        return self._router.pid if self._router else None

    @property
    def log_path(self) -> Path | None:
        """The router's log (each worker has its own ``log_path``)."""
        return self.log_dir / "smg.log" if self.log_dir else None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the gateway has no port yet: call start() first")
        return f"http://{connect_host(self.host)}:{self.port}/v1"

    def command(self) -> list[str]:
        """The ``smg launch`` command line (the ports and the workers' ports must be known)."""
        args = [sys.executable, "-m", "smg", "launch", "--backend", "vllm"]
        args += ["--worker-urls", *self.worker_urls]
        args += ["--model-path", self.model, "--host", self.host, "--port", str(self.port)]
        args += ["--prometheus-host", connect_host(self.host)]
        args += ["--prometheus-port", str(self.metrics_port)]
        if self.reasoning_parser:
            args += ["--reasoning-parser", self.reasoning_parser]
        if self.tool_call_parser:
            args += ["--tool-call-parser", self.tool_call_parser]
        return args + list(self.extra_args)

    def start(self) -> LocalGateway:
        """Start the workers not yet running, then the router; block until the router lists the
        model and routes to every worker. On any failure nothing it started is left running."""
        if self._router is not None:
            raise RuntimeError("this gateway was already started")
        try:
            self._start_workers()
            self._start_router()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the router, then the workers it started; safe to call more than once."""
        router, self._router = self._router, None
        if router is not None:
            router.stop()
        started, self._started = self._started, []
        for worker in started:
            worker.stop()

    def log_tail(self) -> str:
        """The last lines the router wrote, for error messages."""
        return log_tail(self.log_path)

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _start_workers(self) -> None:
        servers = [w for w in self.workers if isinstance(w, LocalVLLMServer)]
        pending = [server for server in servers if not server.running]
        for worker in pending:  # launched together, they load side by side
            self._started.append(worker.launch())
        for worker in pending:
            worker.wait_until_ready()

    def _start_router(self) -> None:
        self.port = port_for(self.host, self.port)
        self.metrics_port = port_for(self.host, self.metrics_port)
        if self.log_dir is None:
            self.log_dir = Path(tempfile.mkdtemp(prefix="vllm-gateway-"))
        assert self.log_path is not None
        self._router = ChildProcess(
            self.command(),
            log_path=self.log_path,
            env=child_env(self.env),
            stop_timeout=self.stop_timeout,
        )
        self._router.start()
        what = f"smg router for {self.model!r}"
        probe = _RouterProbe(self)
        self._router.wait_until_ready(probe, timeout=self.startup_timeout, what=what)


def _check_workers(workers: Sequence[Worker]) -> list[LocalVLLMServer]:
    """The workers that are servers, once the list is known to be one a router can serve."""
    if not workers:
        raise ValueError("a gateway needs at least one worker")
    servers = [worker for worker in workers if isinstance(worker, LocalVLLMServer)]
    urls = [worker for worker in workers if isinstance(worker, str)]
    if any(server.protocol != "grpc" for server in servers) or any(
        not url.startswith("grpc://") for url in urls
    ):
        raise ValueError("smg routes to vLLM's gRPC servers: give protocol='grpc' or grpc:// URLs")
    served = {(server.model, server.served_model_name) for server in servers}
    if len(served) > 1:
        raise ValueError(f"the workers of one gateway serve one model, not {sorted(served)}")
    return servers


class _RouterProbe:
    """Ready when ``/v1/models`` lists the model (any model, for workers given by URL) and
    ``/workers`` shows every worker healthy: before that, the router refuses requests or sends
    them all to one worker."""

    def __init__(self, gateway: LocalGateway) -> None:
        root = gateway.base_url.removesuffix("/v1")
        self._models_url = f"{root}/v1/models"
        self._workers_url = f"{root}/workers"
        self._model = gateway.served_model_name
        self._workers = set(gateway.worker_urls)
        self._client = httpx.Client(timeout=5.0)

    def ready(self) -> bool:
        try:
            models = self._client.get(self._models_url)
            workers = self._client.get(self._workers_url)
        except httpx.HTTPError:
            return False
        if models.status_code != 200 or workers.status_code != 200:
            return False
        listed = {model.get("id") for model in models.json().get("data") or []}
        model_listed = self._model in listed if self._model else bool(listed)
        return model_listed and self._workers <= _healthy_workers(workers.json())

    def close(self) -> None:
        self._client.close()


def _healthy_workers(listing: Any) -> set[str]:
    """The URLs of the healthy workers in smg's ``GET /workers`` reply."""
    entries = listing.get("workers", []) if isinstance(listing, dict) else listing
    return {entry["url"] for entry in entries if entry.get("is_healthy")}
