"""Serving the chat page with uvicorn: in the foreground (``serve``, what ``vllm-integrations
chat-ui`` runs) or from a background thread beside other work (``ChatPageServer``).

Both bind the listening socket before uvicorn starts, so the page's URL (with the port the
system picked for port 0) is known, and a port in use is a clear error, at once.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn

from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.ui.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
_START_TIMEOUT = 30.0
_GRACEFUL_SHUTDOWN = 2
"""Seconds a stopping ChatPageServer lets replies still streaming finish before cancelling
them (cancelling aborts them on vLLM)."""


def serve(
    chat: ChatVLLM | str | None = None, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> None:
    """Serve the chat page until interrupted, after printing its URL. ``chat`` is the ChatVLLM
    the page talks through, or a base URL for one (default ``$VLLM_BASE_URL``)."""
    chat = as_chat(chat)
    listener = _listen(host, port)
    server = uvicorn.Server(uvicorn.Config(create_app(chat), log_level="warning"))
    print(f"Chat page: {page_url(listener)} (vLLM at {chat.base_url}; Ctrl-C stops)", flush=True)
    server.run(sockets=[listener])


def as_chat(chat: ChatVLLM | str | None) -> ChatVLLM:
    """``chat`` itself, or a ChatVLLM for the base URL it names (the environment's default)."""
    if isinstance(chat, ChatVLLM):
        return chat
    return ChatVLLM() if chat is None else ChatVLLM(base_url=chat)


class ChatPageServer:
    """The chat page served by uvicorn on a background thread with its own event loop, for
    ``chat`` (a ChatVLLM or a base URL, as for ``serve``); port 0 picks a free port.

    ```python
    with ChatPageServer("grpc://127.0.0.1:50051") as page:
        print(page.url)  # http://127.0.0.1:PORT/
    ```
    """

    def __init__(
        self, chat: ChatVLLM | str | None = None, *, host: str = DEFAULT_HOST, port: int = 0
    ) -> None:
        self.chat = as_chat(chat)
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        """Start serving; returns the page's URL once it answers."""
        listener = _listen(self._host, self._port)
        config = uvicorn.Config(
            create_app(self.chat),
            log_level="warning",
            timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN,
        )
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [listener]}, name="chat-page", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                listener.close()
                raise RuntimeError(f"the chat page did not start on {page_url(listener)}")
            time.sleep(0.01)
        self.url = page_url(listener)
        return self.url

    def stop(self) -> None:
        """Stop serving (replies still streaming are cancelled after a short grace period)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        raise OSError(
            error.errno, f"cannot serve the chat page on {host}:{port}: {error}"
        ) from None


def page_url(listener: socket.socket) -> str:
    """The page's address for a browser on this machine."""
    host, port = listener.getsockname()[:2]
    if host in ("0.0.0.0", "::"):  # every interface: this machine's own one answers too
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
