"""The side-by-side benchmark, `make bench`."""

import os
import uuid

# Topics of the run's own (set before anything loads `contracts.topics`), so the services it
# starts do not replay the broker's older history while they are measured.
os.environ.setdefault("TIAOJIE_TOPIC_NAMESPACE", f"bench-{uuid.uuid4().hex[:10]}")
