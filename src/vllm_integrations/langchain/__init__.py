"""LangChain models for vLLM: ``ChatVLLM`` (chat) and ``VLLM`` (text completion)."""

from vllm_integrations.langchain.chat_models import ChatVLLM
from vllm_integrations.langchain.llms import VLLM

__all__ = ["VLLM", "ChatVLLM"]
