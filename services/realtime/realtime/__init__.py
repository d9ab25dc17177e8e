"""The realtime service: WebSocket (and SSE) fanout of the events a client may see."""
