"""Fault injection: `make chaos` (full size) and the reduced run at the end of `make test`."""

import os
import uuid

# Topics of the run's own (set before anything loads `contracts.topics`; under pytest the
# suite's namespace is already set): the run reads back only its own events, and the
# services it starts do not replay the broker's older history.
os.environ.setdefault("TIAOJIE_TOPIC_NAMESPACE", f"chaos-{uuid.uuid4().hex[:10]}")
