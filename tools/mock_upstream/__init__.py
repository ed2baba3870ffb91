"""Mock CustomPass upstream for tests and local demos (see `create_app` and `Scenario`)."""
from tools.mock_upstream.app import create_app
from tools.mock_upstream.scenario import Scenario, UsageSpec

__all__ = ["Scenario", "UsageSpec", "create_app"]
