"""The scripted tiny model on a vLLM gRPC worker behind smg: the OpenAI API with SSE for any client,
and the chat page on that gateway to try it in a browser.

`make serve` runs it: it builds the tiny model (cached), starts the worker and the router, then
the chat page (ChatVLLM over the gateway), prints the gateway's URL, a curl example and the page's
URL, and runs until interrupted (Ctrl-C stops every process). Give --worker-url to route to a gRPC
worker that runs already instead of starting one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import signal
import time
from types import FrameType

from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.testing import SERVED_MODEL_NAME, ensure_model, script, tiny_model_server
from vllm_integrations.testing.servers import tiny_model_gateway
from vllm_integrations.ui import ChatPageServer

DEFAULT_PORT = 30000  # smg's own default: the README's examples use it
PAGE_PORT = 8501  # the chat page's, as `vllm-integrations chat-ui`


def curl_example(base_url: str) -> str:
    """A streamed chat request as a shell command: the raw SSE, `data:` events and `[DONE]`."""
    body = {
        "model": SERVED_MODEL_NAME,
        "messages": script("capital").chat_messages(),
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    return (
        f"curl -N {base_url}/chat/completions -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(json.dumps(body))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the gateway's port")
    parser.add_argument("--page-port", type=int, default=PAGE_PORT, help="the chat page's port")
    parser.add_argument("--worker-url", help="a running vLLM gRPC worker (grpc://HOST:PORT)")
    args = parser.parse_args()
    # SIGTERM (a service manager, a test) stops as Ctrl-C does: every process is stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.ExitStack() as stack:
        print("Starting the tiny model on a vLLM gRPC worker behind smg...", flush=True)
        model = ensure_model()
        worker = args.worker_url or tiny_model_server("grpc", model)
        gateway = stack.enter_context(tiny_model_gateway(worker, model=model, port=args.port))
        print(f"Gateway (OpenAI API, SSE): {gateway.base_url}", flush=True)
        chat = ChatVLLM(model=SERVED_MODEL_NAME, base_url=gateway.base_url)
        page = stack.enter_context(ChatPageServer(chat, port=args.page_port))
        print(f"Chat page (ChatVLLM over the gateway): {page.url}", flush=True)
        print(f"Try:\n{curl_example(gateway.base_url)}", flush=True)
        print("Ctrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:  # short sleeps: Ctrl-C taken by another thread runs once this one wakes
                time.sleep(0.2)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
