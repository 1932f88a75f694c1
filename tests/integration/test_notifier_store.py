"""One behaviour test of the notifier's alert log, run on the in-memory fake and on the real
server (a database of its own), so the fake cannot drift from MongoDB's change streams."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from contracts.events import AlertRaised
from contracts.vocabulary import AlertKind, Priority
from notifier.store import AlertFeed, AlertLog, CannotResumeError, MongoAlertLog
from services.mongo import Document
from tests.fakes import InMemoryAlertLog
from tests.integration.conftest import Infra

pytestmark = pytest.mark.integration

WAIT_S = 0.3


@pytest.fixture(params=["fake", "mongodb"])
async def log(request: pytest.FixtureRequest) -> AsyncIterator[AlertLog]:
    if request.param == "fake":
        yield InMemoryAlertLog()
        return
    infra: Infra = request.getfixturevalue("infra")
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_uri, tz_aware=True)
    name = f"test_notifier_store_{uuid.uuid4().hex[:12]}"
    try:
        yield MongoAlertLog(client[name])
    finally:
        await client.drop_database(name)
        await client.close()


def alert(n: int) -> AlertRaised:
    return AlertRaised(
        alert_id=f"escalation:case-{n}:1",
        kind=AlertKind.ESCALATION,
        priority=Priority.HIGH,
        unit_id="hanyin-chaling",
        case_id=f"case-{n}",
        title=f"纠纷 {n} 升级",
        occurred_at=datetime.now(UTC),
        correlation_id=f"dispute-{n}",
    )


async def drain(feed: AlertFeed) -> list[tuple[str, str]]:
    """(position, alert id) of everything the feed holds, until it goes quiet."""
    read = []
    while (logged := await feed.next()) is not None:
        read.append((logged.position, str(logged.alert["alert_id"])))
    await feed.close()
    return read


class TestAlertLog:
    async def test_an_alert_is_logged_once(self, log: AlertLog) -> None:
        start = datetime.now(UTC) - timedelta(seconds=1)
        assert await log.append([alert(1), alert(2), alert(1)], datetime.now(UTC)) == 2
        assert await log.append([alert(2), alert(3)], datetime.now(UTC)) == 1
        read = await drain(await log.follow(start, WAIT_S))
        assert [alert_id for _, alert_id in read] == [alert(n).alert_id for n in (1, 2, 3)]

    async def test_a_reader_resumes_right_after_the_position_it_had(self, log: AlertLog) -> None:
        start = datetime.now(UTC) - timedelta(seconds=1)
        await log.append([alert(1), alert(2)], datetime.now(UTC))
        first = await drain(await log.follow(start, WAIT_S))
        await log.append([alert(3), alert(4)], datetime.now(UTC))  # while no one reads
        resumed = await drain(await log.follow(first[0][0], WAIT_S))
        assert [alert_id for _, alert_id in resumed] == [alert(n).alert_id for n in (2, 3, 4)]
        assert first[1] == resumed[0]  # an alert's position is the same on every read
        assert len({position for position, _ in first + resumed}) == 4

    async def test_a_reader_gets_alerts_as_they_are_logged(self, log: AlertLog) -> None:
        feed = await log.follow(datetime.now(UTC), WAIT_S)
        assert await feed.next() is None  # quiet: answers after its wait, with nothing
        writer = asyncio.create_task(log.append([alert(7)], datetime.now(UTC)))
        logged = await feed.next()
        while logged is None:  # the write may land after one more quiet wait
            logged = await feed.next()
        await writer
        await feed.close()
        assert logged.alert["alert_id"] == alert(7).alert_id
        assert logged.alert["title"] == "纠纷 7 升级"

    async def test_a_position_the_log_does_not_hold_is_refused(self, log: AlertLog) -> None:
        with pytest.raises(CannotResumeError):
            await log.follow("00", WAIT_S)
