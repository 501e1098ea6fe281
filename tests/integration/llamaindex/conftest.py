"""Fixtures of the LlamaIndex VLLM tests: a greedy VLLM on each transport, and a log of the
events LlamaIndex's instrumentation dispatches during a test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.bridge.pydantic import Field
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index_instrumentation import get_dispatcher

from vllm_integrations.llama_index import VLLM
from vllm_integrations.testing import SERVED_MODEL_NAME
from vllm_integrations.testing.servers import MAX_MODEL_LEN


@pytest.fixture
def unreported(transport: str) -> dict[str, Any]:
    """What VLLM must be told because the server does not report it: smg's OpenAI API gives no
    context window (vLLM's gives ``max_model_len``)."""
    return {"context_window": MAX_MODEL_LEN} if transport == "gateway" else {}


@pytest.fixture
def llm(base_url: str, unreported: dict[str, Any]) -> VLLM:
    """Greedy VLLM on the scripted tiny model."""
    return VLLM(
        model=SERVED_MODEL_NAME, base_url=base_url, temperature=0, max_tokens=512, **unreported
    )


class EventLog(BaseEventHandler):
    """Keeps every event it is handed."""

    events: list[BaseEvent] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "EventLog"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)

    def names(self, prefix: str) -> list[str]:
        """The class names of the events so far whose name starts with ``prefix``."""
        return [type(e).__name__ for e in self.events if type(e).__name__.startswith(prefix)]


@pytest.fixture
def events() -> Iterator[EventLog]:
    """The events dispatched while the test runs."""
    log = EventLog()
    root = get_dispatcher()
    root.add_event_handler(log)
    yield log
    root.event_handlers.remove(log)
