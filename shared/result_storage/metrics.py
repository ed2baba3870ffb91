"""Result storage metrics, exported by whichever process copies results (poller, gateway)."""
from prometheus_client import Counter

# outcome: stored (copied now), reused (already stored by an earlier delivery), failed (the result
# keeps the upstream's URL, which expires): alert on failures.
RESULT_FILES = Counter("custompass_result_files_total", "Result files copied to our own storage",
                       ["channel", "outcome"])
