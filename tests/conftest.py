"""Suite-wide guard: when TIAOJIE_REQUIRE_INFRA is set (CI), a skipped test fails the run."""

import os

import pytest

REQUIRE_INFRA = os.environ.get("TIAOJIE_REQUIRE_INFRA", "") not in ("", "0", "false")


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
