"""vLLM as a first-class model in LangChain and LlamaIndex, over HTTP and native gRPC."""

from vllm_integrations.errors import ServerStartError, VLLMError

__version__ = "0.1.0"

__all__ = ["ServerStartError", "VLLMError", "__version__"]
