"""Benchmarks of a whole CustomPass system on the local stand-ins (`python -m bench`).

Scenarios (each selectable, default all):
- `holds`: the Kafka request/reply floor (raw aiokafka) and holds through billing's request/reply;
- `async`: async submissions end to end through the gateway's HTTP API, then settlement;
- `sweep`: one poller sweeping 1,000 and 10,000 in-flight tasks;
- `sync`: the sync pass-through against calling the mock upstream directly (p50/p99, as a ratio);
- `limits`: what API key policies add to a sync pass-through call (added p50);
- `workers`: sync worker-dispatch tasks (`POST /api/openai`) through one gateway to 8 echo
  WebSocket workers: tasks/s, call latency and dispatch latency (queued -> claimed).

Every run starts its own Kafka and MongoDB stand-ins (tools/devinfra) and its own service
processes (tests/harness/stack.py), prints one table and writes it to `bench/results/<date>.md`.
Nothing here asserts on timings: the figures are reported, never judged.
"""
