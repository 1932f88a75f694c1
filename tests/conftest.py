"""Suite-wide guard: when TIAOJIE_REQUIRE_INFRA is set (CI), a skipped test fails the run."""

import os
import uuid
from collections.abc import Iterator

# Before anything imports contracts.topics: this run's topics are its own, so runs sharing a
# broker (several people, or a developer beside CI) never consume each other's events.
os.environ.setdefault("TIAOJIE_TOPIC_NAMESPACE", f"test-{uuid.uuid4().hex[:10]}")

import pytest

from contracts.registry import deployment_registry, put_in_force
from tests.auth import TEST_AUTH_KEYS

# The in-process apps and the stack's services verify the tokens tests/auth.py issues.
os.environ["AUTH_KEYS"] = TEST_AUTH_KEYS
# The suite's services are a development stack (short per-run salts, the development sealing
# key), said here rather than left to the shell; tests/integration/test_security_deployment.py
# starts services in production on purpose.
os.environ["TIAOJIE_ENV"] = "development"

REQUIRE_INFRA = os.environ.get("TIAOJIE_REQUIRE_INFRA", "") not in ("", "0", "false")
SERVERS_USED: list[str] = []
"""Filled by the integration fixtures: which real servers the integration tests talked to."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    outcomes = {"passed": 0, "failed": 0, "skipped": 0}
    for outcome in outcomes:
        for report in terminalreporter.stats.get(outcome, []):
            if "tests/integration/" in report.nodeid and report.when in ("call", "setup"):
                outcomes[outcome] += 1
    if not any(outcomes.values()):
        return
    servers = "; ".join(SERVERS_USED) or "no servers"
    counts = ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items())
    terminalreporter.write_line(f"integration tests: {counts} — against {servers}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if REQUIRE_INFRA and skipped and exitstatus == 0:
        if reporter:
            reporter.write_line(
                f"TIAOJIE_REQUIRE_INFRA is set and {skipped} test(s) were skipped: failing the run",
                red=True,
            )
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _deployment_registry_in_force() -> Iterator[None]:
    """Each test starts from the deployment's registry: one that imported a jurisdiction or
    changed mediators in this process leaves nothing behind for the next."""
    yield
    put_in_force(deployment_registry())
