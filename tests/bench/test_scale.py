"""`python -m bench scale` keeps working: every hot-path query is timed at each size and finds what
the live set holds (scale checks each answer), and the scratch database is dropped. Structure
only: whether the queries stay flat is the benchmark's to show at 100,000 stored."""
from __future__ import annotations

from types import SimpleNamespace

from pymongo import AsyncMongoClient

from bench import scale
from bench.common import Results


async def test_scale_benchmark_times_every_hot_path_query_at_each_size(infra):
    results = Results()
    await scale.run(SimpleNamespace(infra=infra), results, sizes=[100, 300], repeats=1)
    figures = {row.figure for row in results.rows if row.scenario == "scale"}
    client = AsyncMongoClient(infra.mongodb_url)
    try:
        for name in scale.queries(client["unused"]):  # building the queries touches no database
            assert {f"{name}, 100 stored", f"{name}, 300 stored", f"{name}: growth 100 -> 300 stored"} <= figures
        assert not [db for db in await client.list_database_names() if db.startswith("bench_scale_")]
    finally:
        await client.close()
