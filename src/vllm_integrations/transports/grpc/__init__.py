"""vLLM's native gRPC API as a transport: the server deals in token IDs only, so this package
renders the chat template, tokenizes, decodes, trims stop strings and parses reasoning and tool
calls on the client. Importing this package imports nothing optional; its modules need the
``grpc`` extra."""
