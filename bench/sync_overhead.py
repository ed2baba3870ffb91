"""The sync pass-through next to its peers, all in front of the same mock upstream: the call made
directly, through nginx (the floor for one relay hop), through the LiteLLM proxy (the Python peer),
and through CustomPass (`POST /pass/{model}`: key check, channel choice, a hold over Kafka, the
task document, settlement). Each relay's added latency is reported as a ratio to nginx's and to
LiteLLM's. Routes alternate within every repeat, so drift on the machine affects all alike."""
from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from bench import relays
from bench.common import CpuMeter, Results, closed_loop, load_client, median, ms, percentile
from bench.env import BenchEnv
from tests.harness.api import AdminApi

BODY = {"prompt": "bench", "mock": {"usage": {"prompt_tokens": 10, "completion_tokens": 10}}}
UPSTREAM_KEY = "upstream-secret"


@dataclass
class Route:
    name: str
    client: httpx.AsyncClient
    path: str


@dataclass
class Figures:
    latencies: list[list[float]]  # one list per repeat
    walls: list[float]

    def pct(self, pct: float) -> float:
        return median([percentile(lat, pct) for lat in self.latencies])

    def throughput(self) -> float:
        return median([len(lat) / wall for lat, wall in zip(self.latencies, self.walls)])


async def run(env: BenchEnv, results: Results, *, concurrency: int, count: int, repeats: int) -> None:
    if gaps := relays.missing():
        results.add("sync relays", "skipped relays", ", ".join(gaps), "run `make bench` to install them")
    with env.stack(["billing", "gateway", "settlement", "mock_upstream"],
                   MOCK_UPSTREAM_KEY=UPSTREAM_KEY) as stack:
        admin = AdminApi(stack.gateway_url, stack.admin_token)
        model = f"bench-sync-{secrets.token_hex(3)}"
        await admin.create_channel(name=model, kind="custompass_sync", base_url=stack.upstream_url,
                                   api_key=UPSTREAM_KEY, models=[model], billing={"mode": "per_call", "price": 1})
        _, key = await admin.user_with_key(quota=10**9)
        await admin.close()
        target = f"{stack.upstream_url}/{model}"
        with _started_relays(env, target) as found:
            connections = concurrency * 2
            routes = [Route("direct", _client(stack.upstream_url, UPSTREAM_KEY, connections), f"/{model}")]
            routes += [Route(r.name, _client(r.url.removesuffix(relays.RELAY_PATH), r.key, connections),
                             relays.RELAY_PATH) for r in found]
            routes.append(Route("custompass", _client(stack.gateway_url, key, connections), f"/pass/{model}"))
            pids = {**env.pids(stack), **{r.name: r.pid for r in found}}
            try:
                figures, failures, meter = await _measure(routes, pids, concurrency, count, repeats)
            finally:
                for route in routes:
                    await route.client.aclose()
    _report(results, figures, failures, [r.name for r in routes], concurrency, repeats)
    results.detail("sync relays: " + meter.summary())
    results.contention("sync relays", "", meter)


def _client(base_url: str, key: str, connections: int) -> httpx.AsyncClient:
    return load_client(base_url, connections, timeout=30, headers={"Authorization": f"Bearer {key}"})


@contextlib.contextmanager
def _started_relays(env: BenchEnv, target: str) -> Iterator[list[relays.Relay]]:
    """Whichever relays are installed, running for the run."""
    if relays.missing():
        yield []
        return
    with (relays.nginx(target, UPSTREAM_KEY, env.log_dir / "nginx") as nginx,
          relays.litellm(target, UPSTREAM_KEY, env.log_dir / "litellm") as litellm):
        yield [nginx, litellm]


async def _measure(routes: list[Route], pids: dict[str, int], concurrency: int, count: int, repeats: int):
    def caller(route: Route):
        async def call(_: int) -> None:
            (await route.client.post(route.path, json=BODY)).raise_for_status()
        return call

    figures: dict[tuple[str, int], Figures] = {}
    failures: dict[str, list[BaseException]] = {}
    for route in routes:  # warm connections, caches and the consumers
        _, _, errors = await closed_loop(4, 50, caller(route))
        if errors:
            raise RuntimeError(f"{route.name} fails before measuring: {errors[0]!r}")
    meter = CpuMeter(pids).start()
    for _ in range(repeats):
        for c, n in ((1, max(count // 5, 50)), (concurrency, count)):
            for route in routes:
                lat, wall, errors = await closed_loop(c, n, caller(route))
                entry = figures.setdefault((route.name, c), Figures([], []))
                entry.latencies.append(lat)
                entry.walls.append(wall)
                failures.setdefault(route.name, []).extend(errors)
    meter.stop()
    return figures, failures, meter


def _report(results: Results, figures: dict[tuple[str, int], Figures], failures: dict[str, list[BaseException]],
            names: list[str], concurrency: int, repeats: int) -> None:
    for c in (1, concurrency):
        direct = figures[("direct", c)]
        for name in names:
            f = figures[(name, c)]
            p50, p99 = f.pct(50), f.pct(99)
            value = f"{ms(p50)} / {ms(p99)}"
            note = f"{f.throughput():,.0f} calls/s"
            if name != "direct":
                added = p50 - direct.pct(50)
                note += f"; adds {ms(added)} p50, {ms(p99 - direct.pct(99))} p99"
                note += "".join(f"; {_compared(added, figures[(peer, c)].pct(50) - direct.pct(50), peer)}"
                                for peer in ("nginx", "litellm") if peer != name and (peer, c) in figures)
            results.add("sync relays", f"{name} p50 / p99, c={c}", value, note + f"; median of {repeats} repeats")
    for name, errors in failures.items():
        if errors:
            results.add("sync relays", f"{name}: failed calls", str(len(errors)), repr(errors[0])[:200])


# Below this an added p50 is the noise of the measurement: no ratio to it means anything.
NOISE_S = 0.0005


def _compared(added: float, peer_added: float, peer: str) -> str:
    if peer_added < NOISE_S:
        return f"{peer} adds under {ms(NOISE_S)} p50: no ratio"
    ratio = added / peer_added
    return f"{ratio:.1f}x {peer}'s added p50" if ratio >= 1 else f"{ratio:.2f}x {peer}'s added p50"
