"""Native gRPC backend for vLLM's token-ID-only server (smg ``vllm.grpc.engine`` API)."""
