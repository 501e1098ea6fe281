"""The chat page's ASGI app: one static page, the served models, and ``POST /chat`` streaming a
reply as Server-Sent Events (sse-starlette does the framing, the keep-alive pings and the
cancellation of the reply when the browser goes away).

The page only ever talks to this app: the vLLM server's address and key stay in the ChatVLLM
held here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from pydantic import ValidationError
from sse_starlette import EventSourceResponse, JSONServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vllm_integrations.errors import VLLMError
from vllm_integrations.langchain import ChatVLLM
from vllm_integrations.ui.events import (
    ChatTurnRequest,
    error_data,
    reply_events,
    validation_message,
)

_PAGE_HEADERS = {
    # Nothing but this app's own files runs or loads, so even markup that slipped into the
    # page as HTML could not run a script (the page inserts model output as text anyway).
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(chat: ChatVLLM) -> Starlette:
    """The chat page for ``chat``'s server. The page's settings (model, temperature, max
    tokens, thinking) apply per call; every other setting is ``chat``'s own. The app closes
    ``chat``'s connections when it shuts down."""
    page = resources.files(__package__).joinpath("static", "index.html").read_text("utf-8")

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers=_PAGE_HEADERS)

    async def models(request: Request) -> Response:
        try:
            served = [card.id for card in await chat.aserved_models()]
        except VLLMError as error:
            return JSONResponse({"error": error_data(error)["message"]}, status_code=502)
        if not served:
            return JSONResponse({"error": "the vLLM server serves no model"}, status_code=502)
        return JSONResponse({"models": served, "default": chat.model_name or served[0]})

    async def reply(request: Request) -> Response:
        try:
            turn = ChatTurnRequest.model_validate_json(await request.body())
        except ValidationError as error:
            message = f"bad chat request: {validation_message(error)}"
            return JSONResponse({"error": message}, status_code=422)
        events = (
            JSONServerSentEvent(event.data, event=event.name)
            async for event in reply_events(chat, turn)
        )
        return EventSourceResponse(events)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await chat.aclose()

    return Starlette(
        routes=[
            Route("/", index),
            Route("/models", models),
            Route("/chat", reply, methods=["POST"]),
            Mount("/static", StaticFiles(packages=[(__package__, "static")])),
        ],
        lifespan=lifespan,
    )
