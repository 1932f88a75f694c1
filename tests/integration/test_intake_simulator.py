"""The simulator for a minute on the real servers: every report intake acknowledged is on the
topic. Runs in `make test`; deselect with `-m "not simulation"` for a quicker loop."""

import asyncio
import json
import sys
import tempfile
from pathlib import Path

import pytest

from contracts import topics
from contracts.events import DisputeReported
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import end_offsets, read_between

pytestmark = [pytest.mark.integration, pytest.mark.simulation]

RATE_PER_S = 20
DURATION_S = 60


async def test_simulator_minute_every_acknowledged_report_is_on_the_topic(stack: Stack) -> None:
    ids_file = Path(tempfile.mkdtemp(prefix="tiaojie-sim-")) / "acknowledged.txt"
    start = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "intake.simulate",
        f"--rate={RATE_PER_S}",
        f"--duration={DURATION_S}",
        f"--base-url={stack.urls['intake']}",
        f"--ids-file={ids_file}",
        "--seed=20261122",
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await process.communicate()
    summary = json.loads(output.decode().strip().splitlines()[-1])
    print("simulator:", json.dumps(summary, ensure_ascii=False))
    assert process.returncode == 0, summary
    assert summary["sent"] == RATE_PER_S * DURATION_S
    assert summary["failed"] == 0
    assert summary["refused"] > 0  # the bad inputs mixed in
    channels = {key.split(":")[0] for key in summary["per_channel"]}
    assert channels == {"hotline", "wechat", "grid", "petition", "open311"}
    acknowledged = ids_file.read_text().split()
    assert len(acknowledged) == summary["accepted"]
    end = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    records = await read_between(stack.infra.kafka, start, end, timeout_s=120)
    on_topic = {DisputeReported.model_validate_json(r.value).dispute.dispute_id for r in records}
    assert set(acknowledged) - on_topic == set()
