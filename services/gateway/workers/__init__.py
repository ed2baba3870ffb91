"""Worker dispatch (seed 003): tasks for self-hosted workers connected over WebSocket.

The queue is a small MongoDB collection of the tasks waiting for a worker (`queue`), so every
gateway instance shares it: a worker on one takes a task submitted on another, woken by a Kafka
signal (`signals`). `hub` is one process's share of the work: its open
sockets, a dispatcher per group, and the sync callers waiting; `admission` decides 503s cheaply.
"""
