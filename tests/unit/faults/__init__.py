"""Fault injection: fake vLLM servers on loopback that misbehave on purpose (cut replies short,
stall, freeze, send too much, break the wire), and what every client makes of it."""
