"""One daemon thread per process that answers the server for sync connections nobody is
reading: idle in a pool, or lent to a caller who is busy between two messages.

Why: a sync connection is read in its caller's thread, so while the caller does something else
the server's PINGs would go unanswered and a server with keepalive enforcement would drop the
connection (or a pooled one would be found dead only at its next use). Once a second the keeper
takes in what such connections received: PINGs are answered, a goodbye is noted, messages wait
for their call within the stream's flow-control window.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Protocol

INTERVAL = 1.0


class Serviced(Protocol):
    lock: threading.Lock

    def service(self) -> None: ...


_watched: weakref.WeakSet[Serviced] = weakref.WeakSet()
_guard = threading.Lock()
_thread: threading.Thread | None = None


def watch(connection: Serviced) -> None:
    """Service ``connection`` whenever its lock is free, until it is forgotten or collected."""
    global _thread
    with _guard:
        _watched.add(connection)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="vllm-h2-keeper", daemon=True)
            _thread.start()


def forget(connection: Serviced) -> None:
    with _guard:
        _watched.discard(connection)


def _run() -> None:
    while True:
        time.sleep(INTERVAL)
        with _guard:
            connections = list(_watched)
        for connection in connections:
            if connection.lock.acquire(blocking=False):
                try:
                    connection.service()
                except OSError:
                    pass  # the caller meets the broken socket at its next read
                finally:
                    connection.lock.release()
