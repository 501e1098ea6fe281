"""A loopback HTTP server replaying one long vLLM-shaped chat stream at line rate.

Why: client-side streaming cost must be measured without a model or a real vLLM in the way.
The stream is rendered once, in vLLM's exact chunk JSON and uvicorn's framing (one HTTP chunk
per SSE event), and written as fast as the socket takes it, so the client is the bottleneck.

Run it alone with ``python benchmarks/sse_replay_server.py --chunks 2000``: it prints its base
URL (``http://127.0.0.1:PORT/v1``) on one line, then serves until killed.
"""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "m"
MODELS_BODY = json.dumps(
    {"object": "list", "data": [{"id": MODEL, "object": "model", "max_model_len": 4096}]}
).encode()


def _token(kind: str, i: int) -> str:
    return f"{kind}{i} "


def expected_texts(chunks: int) -> tuple[str, str]:
    """The reasoning and the content a client must reassemble from the stream."""
    half = chunks // 2
    reasoning = "".join(_token("r", i) for i in range(half))
    content = "".join(_token("c", i) for i in range(chunks - half))
    return reasoning, content


def event_count(chunks: int, *, usage: bool = True) -> int:
    """Data events in the stream (``[DONE]`` aside): role, tokens, finish, then usage."""
    return chunks + 2 + usage


def sse_events(chunks: int, *, usage: bool = True) -> list[bytes]:
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

    half = chunks // 2
    payloads = [chunk({"role": "assistant", "content": ""})]
    payloads += [chunk({"reasoning": _token("r", i)}) for i in range(half)]
    payloads += [chunk({"content": _token("c", i)}) for i in range(chunks - half)]
    payloads.append(chunk({"content": ""}, "stop"))
    if usage:
        tokens = {"prompt_tokens": 9, "total_tokens": 9 + chunks, "completion_tokens": chunks}
        payloads.append({**head, "choices": [], "usage": tokens})
    lines = [f"data: {json.dumps(p, separators=(',', ':'))}\n\n" for p in payloads]
    lines.append("data: [DONE]\n\n")
    return [line.encode() for line in lines]


def chunked_body(events: list[bytes]) -> bytes:
    """HTTP/1.1 chunked framing, one chunk per event, as uvicorn writes vLLM's stream."""
    return b"".join(b"%x\r\n%b\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"


def make_server(chunks: int, port: int = 0) -> ThreadingHTTPServer:
    """A server on 127.0.0.1 (port 0: a free one); call ``serve_forever`` to run it."""
    bodies = {usage: chunked_body(sse_events(chunks, usage=usage)) for usage in (False, True)}

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
            self.wfile.write(bodies[usage])

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=2000, help="token chunks in the stream")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    server = make_server(args.chunks, args.port)
    print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
