"""What smg (the ``gateway`` transport: the OpenAI API over vLLM's gRPC worker) forces where vLLM
forces something else, for the tests that run on every transport and name the difference.

smg forces ``tool_choice="required"`` as a JSON list of ``{"name", "parameters"}`` objects and a
named tool as a JSON arguments object; vLLM uses its structural tag around the model's own
(hermes) calls. The tiny test model was trained on the hermes form only, so under smg's form it
writes schema-valid nonsense, and for a list, no call the parser completes. What holds for any
model is checked instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def assert_forced_as_a_json_list(content: str, tool_names: Sequence[str]) -> None:
    """The reply opens smg's JSON list of calls, with one of the given tools."""
    names = "|".join(re.escape(name) for name in tool_names)
    assert re.match(r'\s*\[\s*\{\s*"name"\s*:\s*"(' + names + ')"', content), content
