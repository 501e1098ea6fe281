"""Network misbehaviour on loopback: an address that never accepts a connection (a black hole),
a TCP proxy that can freeze (a half-open connection: bytes go in, nothing comes back), and a
count of this process's open sockets to a server (to see that none leak).

Why by hand: these are a few lines of sockets; no library fakes a black hole on loopback.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psutil

HOST = "127.0.0.1"


@contextmanager
def black_hole() -> Iterator[int]:
    """A port where a TCP connect hangs: a listening socket whose accept queue is full (it
    never accepts), so the kernel drops further SYNs instead of refusing them."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):  # the queue holds one; more in flight only make sure it is full
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((HOST, port))
            fillers.append(filler)
        time.sleep(0.05)
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect((HOST, port))
            raise RuntimeError("the black hole accepted a connection")
        except TimeoutError:
            pass
        finally:
            probe.close()
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


class FreezingProxy:
    """Forwards TCP connections to ``upstream``; ``freeze()`` stops moving bytes both ways
    (nothing is read, nothing closed), as a dead peer or a silent middlebox would."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = upstream_port
        self._listener = socket.socket()
        self._listener.bind((HOST, 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self.frozen = threading.Event()
        self._stopped = threading.Event()
        self._sockets: list[socket.socket] = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.frozen.set()

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((HOST, self._upstream))
            self._sockets += [client, upstream]
            self.connections += 1
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        source.settimeout(0.05)
        while not self._stopped.is_set():
            if self.frozen.is_set():
                time.sleep(0.05)
                continue
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                with suppress(OSError):
                    target.shutdown(socket.SHUT_WR)
                return
            with suppress(OSError):
                target.sendall(data)


@contextmanager
def freezing_proxy(upstream_port: int) -> Iterator[FreezingProxy]:
    proxy = FreezingProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()


def sockets_to(port: int) -> int:
    """This process's open sockets connected to ``port`` on loopback: a client's side of its
    connections to a server, whatever the server (in this process too) keeps open."""
    connections = psutil.Process().net_connections(kind="tcp")
    return sum(1 for c in connections if c.raddr and c.raddr.port == port)
