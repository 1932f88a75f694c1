"""The reduced fault-injection run, last in `make test` (it restarts the broker, so it runs in
a pytest invocation of its own after every other test): 2,000 reports, 3 kills -9 of random
services, one broker restart where the servers are the run's own, and a poison event."""

import os

import pytest

from tests.chaos.harness import Plan, chaos
from tests.chaos.servers import RESTART_SERVERS_VAR, may_restart_servers
from tests.integration.conftest import Infra

pytestmark = pytest.mark.integration


async def test_no_report_is_lost_or_doubled_through_kills_and_restarts(infra: Infra) -> None:
    restarts = 1 if may_restart_servers() else 0
    if not restarts:
        print(f"chaos: broker not restarted: {RESTART_SERVERS_VAR} is not set (shared servers)")
    plan = Plan(
        reports=int(os.environ.get("CHAOS_REPORTS", "2000")),
        rate=40,
        kills=3,
        broker_restarts=restarts,
        database_restarts=0,
    )
    verdict = await chaos(plan, infra.kafka, infra.mongodb_uri)
    print(verdict.report())
    assert not verdict.failures, verdict.report()
