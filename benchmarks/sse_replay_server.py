"""A loopback HTTP server replaying one long vLLM-shaped chat stream at line rate.

Why: client-side streaming cost must be measured without a model or a real vLLM in the way.
The stream (``replay.recorded_generation``: one delta per token) is rendered once, in vLLM's
exact chunk JSON and uvicorn's framing (one HTTP chunk per SSE event), and written as fast as
the socket takes it, so the client is the bottleneck.

Run it alone with ``python benchmarks/sse_replay_server.py --tokens 2000``: it prints its base
URL (``http://127.0.0.1:PORT/v1``) on one line, then serves until killed.
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from replay import (
    MODEL,
    PROMPT_TOKENS,
    Generation,
    model_dir,
    recorded_generation,
    replay_server_arguments,
)

MODELS_BODY = json.dumps(
    {"object": "list", "data": [{"id": MODEL, "object": "model", "max_model_len": 32768}]}
).encode()


def sse_events(generation: Generation, *, usage: bool = True) -> list[bytes]:
    """The stream's SSE events: role chunk, reasoning deltas, content deltas, stop, usage."""
    head = {
        "id": "chatcmpl-b3f1c0a5d2e84e6f9a7c1d2e3f405162",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {
            "index": 0,
            "delta": delta,
            "logprobs": None,
            "finish_reason": finish,
        }
        if finish is not None:
            choice["stop_reason"] = None  # vLLM sets it (None for EOS) on the last choice
        return {**head, "choices": [choice]}

    payloads = [chunk({"role": "assistant", "content": ""})]
    payloads += [chunk({kind: text}) for kind, text in generation.deltas]
    payloads.append(chunk({"content": ""}, "stop"))
    if usage:
        generated = len(generation.token_ids)
        tokens = {
            "prompt_tokens": PROMPT_TOKENS,
            "total_tokens": PROMPT_TOKENS + generated,
            "completion_tokens": generated,
        }
        payloads.append({**head, "choices": [], "usage": tokens})
    lines = [f"data: {json.dumps(p, separators=(',', ':'))}\n\n" for p in payloads]
    lines.append("data: [DONE]\n\n")
    return [line.encode() for line in lines]


def chunk_frames(events: list[bytes]) -> list[bytes]:
    """HTTP/1.1 chunked framing, one chunk per event, as uvicorn writes vLLM's stream."""
    return [b"%x\r\n%b\r\n" % (len(e), e) for e in events] + [b"0\r\n\r\n"]


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # hundreds of clients may connect at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that left: not news
            super().handle_error(request, client_address)


def make_server(generation: Generation, port: int = 0, pace_us: int = 0) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 (port 0: a free one); call ``serve_forever`` to run it.

    ``pace_us`` 0 writes each stream at once; otherwise one event every ``pace_us`` us.
    """
    frames = {usage: chunk_frames(sse_events(generation, usage=usage)) for usage in (False, True)}
    bodies = {usage: b"".join(f) for usage, f in frames.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _plain(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._plain(200, MODELS_BODY)
            else:
                self._plain(404, b'{"error":{"message":"not found","code":404}}')

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            request = json.loads(raw or b"{}")
            if self.path != "/v1/chat/completions" or not request.get("stream"):
                self._plain(400, b'{"error":{"message":"only streamed chat","code":400}}')
                return
            usage = bool((request.get("stream_options") or {}).get("include_usage"))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream; charset=utf-8")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            if not pace_us:
                self.wfile.write(bodies[usage])
                return
            for frame in frames[usage]:
                self.wfile.write(frame)
                time.sleep(pace_us / 1e6)

    return _Server(("127.0.0.1", port), Handler)


def main() -> None:
    args = replay_server_arguments(__doc__.splitlines()[0] if __doc__ else None)
    generation = recorded_generation(model_dir(args.model_dir), args.tokens)
    server = make_server(generation, args.port, args.pace_us)
    print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
