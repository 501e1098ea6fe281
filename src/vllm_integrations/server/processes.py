"""What every launcher here shares: free ports, a child process in its own process group with its
output in a log file, waiting for it to serve, and stopping its whole tree.

A vLLM server forks engine processes and smg starts its own threads and helpers, so a launcher
stops a process group, not a pid; and nothing is left behind when the interpreter exits.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol

from vllm_integrations.errors import ServerStartError

POLL_INTERVAL_S = 0.5
_LOG_TAIL_BYTES = 6000

_running: weakref.WeakSet[ChildProcess] = weakref.WeakSet()


class ReadinessProbe(Protocol):
    """Asks a starting server whether it serves yet."""

    def ready(self) -> bool: ...

    def close(self) -> None: ...


class ChildProcess:
    """One command run in its own process group, its output appended to ``log_path``."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str],
        stop_timeout: float,
    ) -> None:
        self.command = list(command)
        self.log_path = log_path
        self.stop_timeout = stop_timeout
        self._env = dict(env)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self._env,
            # Its own process group, so stop() reaches every child, but the caller's session:
            # a new session is a new scheduler autogroup on Linux, and on a 2-CPU machine the
            # engine's busy loop then kept a client in the other group off the CPU for seconds.
            process_group=0,
        )
        _running.add(self)

    def wait_until_ready(self, probe: ReadinessProbe, *, timeout: float, what: str) -> None:
        """Poll ``probe`` until it says ready; ``ServerStartError`` (with the log tail) when the
        process exits first or ``timeout`` seconds pass. ``what`` names it in the message."""
        assert self._process is not None, "start() first"
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                code = self._process.poll()
                if code is not None:
                    raise ServerStartError(
                        f"{what} exited with code {code} before it was ready "
                        f"(log: {self.log_path})",
                        log_tail=self.log_tail(),
                    )
                if probe.ready():
                    return
                time.sleep(POLL_INTERVAL_S)
        finally:
            probe.close()
        raise ServerStartError(
            f"{what} was not ready after {timeout:.0f} s (log: {self.log_path})",
            log_tail=self.log_tail(),
        )

    def stop(self) -> None:
        """Stop the process and its whole group; safe to call more than once."""
        process, self._process = self._process, None
        if process is not None:
            _terminate_group(process, self.stop_timeout)
            _running.discard(self)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self) -> str:
        """The last lines the process wrote, for error messages."""
        return log_tail(self.log_path)


def log_tail(path: Path | None) -> str:
    """The last few kilobytes of a log file, or "" when there is none."""
    if path is None or not path.exists():
        return ""
    with path.open("rb") as log:
        log.seek(0, os.SEEK_END)
        log.seek(max(0, log.tell() - _LOG_TAIL_BYTES))
        return log.read().decode("utf-8", "replace").strip()


def child_env(env: Mapping[str, str], *, drop: Sequence[str] = ()) -> dict[str, str]:
    """This process's environment without ``drop``, then ``env`` on top."""
    inherited = {key: value for key, value in os.environ.items() if key not in drop}
    return {**inherited, **env}


def connect_host(host: str) -> str:
    """The address a client uses for a server bound to ``host``."""
    return "127.0.0.1" if host in ("", "0.0.0.0") else host


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((connect_host(host), 0))
        port: int = sock.getsockname()[1]
        return port


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do, so a port left in TIME_WAIT does not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((connect_host(host), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServerStartError(f"port {port} on {host} is already in use") from exc
            raise


def port_for(host: str, port: int | None) -> int:
    """``port`` once checked to be free, or a free port when it is None."""
    if port is None:
        return free_port(host)
    check_port_free(host, port)
    return port


def check_model_path(model: str) -> None:
    """A model given as a path must exist; a hub id is left for the server to resolve."""
    looks_like_path = model.startswith(("/", "./", "../", "~")) or os.path.exists(model)
    if looks_like_path and not Path(model).expanduser().is_dir():
        raise ServerStartError(f"model directory {model!r} does not exist")


def _terminate_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process group, then SIGKILL whatever is still alive after ``timeout``."""
    group = process.pid  # process_group=0 made the child its group leader
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
    for child in list(_running):
        child.stop()
