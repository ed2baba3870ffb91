"""Benchmarks of a whole CustomPass system on the local stand-ins (`python -m bench`).

Scenarios (each selectable, default all):
- `holds`: the Kafka request/reply floor (raw aiokafka) and holds through billing's request/reply;
- `async`: async submissions end to end through the gateway's HTTP API for 2 minutes, then
  settlement: submit latency, upstream completion -> client-visible status, settlement lag, peak RSS
  of every process;
- `sweep`: one poller sweeping 1,000 and 10,000 in-flight tasks;
- `sync`: the sync pass-through next to calling the mock upstream directly, nginx (`proxy_pass`,
  the floor for a relay hop) and the LiteLLM proxy (a pass-through endpoint with key auth), at c=1
  and c=32: p50/p99, calls/s, and each relay's added latency as a ratio to nginx's and LiteLLM's
  (`make bench` installs nginx with apt and LiteLLM into .tools/litellm);
- `limits`: what API key policies add to a sync pass-through call (added p50);
- `workers`: sync worker-dispatch tasks (`POST /api/openai`) through one gateway to 8 echo
  WebSocket workers: tasks/s, call latency and dispatch latency (submitted -> claimed);
- `cost`: per task of each path (async, sync, worker), the MongoDB commands and documents written
  by each service, Kafka messages and CPU ms per process, idle rate subtracted; the idle rates
  themselves (bench/cost.py);
- `scale`: the hot-path queries (claims, sweeps, queue depth, the console overview) with 1,000,
  10,000 and 100,000 ended tasks stored beside a constant live set: each as a ratio to an `_id`
  lookup, and its growth from the smallest size to the largest (bench/scale.py).

Every run starts its own Kafka and MongoDB stand-ins (tools/devinfra) and its own service
processes (tests/harness/stack.py), prints one table and writes it to `bench/results/<date>.md`
(`<date>-<HHMM>.md` when the day already has one).
Nothing here asserts on timings: the figures are reported, never judged.
"""
