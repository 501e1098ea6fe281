"""The openai SDK clients of one server: one sync client, and one async client per event loop.

Why per loop: an asyncio client's connections belong to the loop that opened them; a model
object used from ``asyncio.run`` again and again, or from threads with loops of their own, gets
a client of its own loop each time, and the clients of loops that closed are dropped (their
sockets cannot be closed from another loop; dropping them lets them go). The SDK's own retries
are off: ``transports.retries`` decides (it never retries a timed-out call). Replies are bounded
(``limits``), and TLS is verified against the given roots or the system's.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from typing import Any

import httpx
import openai

from vllm_integrations.settings import Timeouts
from vllm_integrations.transports.http.limits import AsyncBoundedTransport, BoundedTransport

# The openai SDK's own pool: httpx's default (100 connections) made the 101st concurrent stream
# wait for a free connection, and fail when that wait outlasted connect_timeout.
POOL_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


def http_timeout(timeouts: Timeouts) -> httpx.Timeout:
    """httpx's limits for one call: ``read`` for every wait on the server (and for a free
    connection of the pool, which frees when another call ends), cut to the total."""
    wait = timeouts.first_wait()
    return httpx.Timeout(connect=timeouts.connect, read=wait, write=wait, pool=wait)


class SdkClients:
    """Made on first use; ``close`` / ``aclose`` close what this thread's loop may close."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeouts: Timeouts,
        headers: dict[str, str],
        ca_certificates: bytes | None,
        max_message_size: int,
    ) -> None:
        self._settings: dict[str, Any] = {
            "base_url": base_url,
            "api_key": api_key,
            "max_retries": 0,
            "default_headers": headers,
        }
        self._timeout = http_timeout(timeouts)  # the SDK takes it from the httpx client
        self._verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cadata=ca_certificates.decode()) if ca_certificates else True
        )
        self._limit = max_message_size
        self._sync: openai.OpenAI | None = None
        self._async: dict[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = {}
        self._lock = threading.Lock()

    @property
    def sync(self) -> openai.OpenAI:
        with self._lock:
            if self._sync is None:
                transport = BoundedTransport(
                    httpx.HTTPTransport(verify=self._verify, limits=POOL_LIMITS), self._limit
                )
                http = httpx.Client(transport=transport, timeout=self._timeout)
                self._sync = openai.OpenAI(**self._settings, http_client=_sdk_client(http))
            return self._sync

    @property
    def async_(self) -> openai.AsyncOpenAI:
        """The client of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            for old in [old for old in self._async if old.is_closed()]:
                del self._async[old]
            client = self._async.get(loop)
            if client is None:
                inner = httpx.AsyncHTTPTransport(verify=self._verify, limits=POOL_LIMITS)
                http = httpx.AsyncClient(
                    transport=AsyncBoundedTransport(inner, self._limit), timeout=self._timeout
                )
                client = openai.AsyncOpenAI(**self._settings, http_client=_sdk_client(http))
                self._async[loop] = client
            return client

    def close(self) -> None:
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the sync client and the running loop's (other loops' clients are theirs)."""
        self.close()
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.pop(loop, None)
        if client is not None:
            await client.close()


def _sdk_client(client: httpx.Client | httpx.AsyncClient) -> Any:
    """An httpx client as the SDK's ``http_client``: every supported SDK takes httpx's clients
    (openai 3 types the argument with its vendored httpx2, yet accepts httpx's)."""
    return client
