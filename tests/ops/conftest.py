# The async flow's fixtures (a channel on the mock upstream, users with keys) drive traffic here too.
from tests.async_flow.conftest import async_channel, make_client  # noqa: F401
