"""Worker dispatch (seed 003): tasks for self-hosted workers connected over WebSocket.

The queue is the task documents themselves in MongoDB (`queue`), so every gateway instance
shares it: a worker on one instance takes a task submitted on another. `hub` is one process's
share of the work: its open sockets, a dispatcher per group, and the sync callers waiting.
"""
