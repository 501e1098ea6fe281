"""vLLM as a first-class model in LangChain and LlamaIndex, over HTTP and native gRPC."""

import logging

from vllm_integrations.errors import ServerStartError, VLLMError

__version__ = "0.1.0"

# A library logs, the application decides where to: nothing reaches stderr unless it configures
# logging (Python's "last resort" handler would print warnings to every user's terminal).
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["ServerStartError", "VLLMError", "__version__"]
