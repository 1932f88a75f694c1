"""`python -m tests.chaos`: the full fault-injection run (`make chaos`) on the servers at
KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI, restarted through the devstack of the same ports."""

import argparse
import asyncio
import os
import sys

from contracts import topics
from tests.chaos.harness import Plan, chaos
from tests.chaos.servers import RESTART_SERVERS_VAR, may_restart_servers
from tests.integration.conftest import delete_topics


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=80.0, help="reports started per second")
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--broker-restarts", type=int, default=2)
    parser.add_argument("--database-restarts", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if (args.broker_restarts or args.database_restarts) and not may_restart_servers():
        print(
            f"chaos: restarting Kafka and the database needs {RESTART_SERVERS_VAR}=1, which says "
            "the servers at KAFKA_BOOTSTRAP_SERVERS/MONGODB_URI are this run's to restart",
            file=sys.stderr,
        )
        return 2
    plan = Plan(
        reports=args.reports,
        rate=args.rate,
        kills=args.kills,
        broker_restarts=args.broker_restarts,
        database_restarts=args.database_restarts,
        seed=args.seed,
    )
    kafka = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    verdict = asyncio.run(chaos(plan, kafka, os.environ["MONGODB_URI"]))
    asyncio.run(delete_topics(kafka, prefix=f"{topics.NAMESPACE}."))
    print(verdict.report())
    print("chaos: PASSED" if not verdict.failures else "chaos: FAILED")
    return 1 if verdict.failures else 0


if __name__ == "__main__":
    sys.exit(main())
