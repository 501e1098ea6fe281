"""Transports turn neutral requests into neutral replies and deltas, one per vLLM front door."""
