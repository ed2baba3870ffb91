"""Gateway: the public HTTP + WebSocket API; owns users, API keys, channels and tasks."""
