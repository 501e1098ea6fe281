"""HTTP/2 for the Generate streams: a sans-I/O connection and its sync and asyncio drivers."""
