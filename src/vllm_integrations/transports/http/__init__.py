"""vLLM's OpenAI-compatible HTTP API as a transport (the openai SDK underneath)."""
