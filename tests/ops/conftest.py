# The async flow's fixtures (a channel on the mock upstream, users with keys) drive traffic here too.
from tests.async_flow.conftest import async_channel, make_client  # noqa: F401
# A RunningHub channel on its mock: an empty upstream wallet and a result file that cannot be kept.
from tests.runninghub.conftest import runninghub_channel, runninghub_process  # noqa: F401,E402
