"""The shared client settings with LangChain's serialization hooks, for ChatVLLM and VLLM."""

from __future__ import annotations

from typing import Any

from vllm_integrations.adapter_settings import AdapterSettings


class VLLMClientSettings(AdapterSettings):
    """Connection and sampling settings of a vLLM model (mixed into the LangChain classes)."""

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serializable, namespaced by module; the API key is stored as a secret reference."""
        return True

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Stored as secret references, never as values: the key and the headers (which may
        carry a gateway's key); a restored model reads them from the environment, if set."""
        return {"api_key": "VLLM_API_KEY", "default_headers": "VLLM_DEFAULT_HEADERS"}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "base_url": self.base_url}
