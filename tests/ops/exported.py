"""What a running stack really exports: every sample name on every service's /metrics."""
from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.stack import Stack



async def exported_metric_names(stack: Stack) -> dict[str, set[str]]:
    """Sample names (`x_total`, `x_bucket`, ...) by process name."""
    found = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for name, process in stack.processes.items():
            if name.startswith("mock_"):  # mock upstreams beside the stack export nothing
                continue
            response = await http.get(f"{process.url}/metrics")
            response.raise_for_status()
            found[name] = {sample.name for family in text_string_to_metric_families(response.text)
                           for sample in family.samples}
    return found
