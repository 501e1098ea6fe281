"""A chat page on ChatVLLM, over any base URL the package speaks (``http://``, ``grpc://``, the
gateway): ``create_app`` for an ASGI server of your own, ``serve`` in the foreground,
``ChatPageServer`` on a background thread. ``vllm-integrations chat-ui`` runs ``serve``."""

from vllm_integrations.extras import require_extra

require_extra("ui", purpose="vllm_integrations.ui")

from vllm_integrations.ui.app import create_app  # noqa: E402
from vllm_integrations.ui.launch import ChatPageServer, serve  # noqa: E402

__all__ = ["ChatPageServer", "create_app", "serve"]
