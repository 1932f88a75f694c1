"""Runs after every other integration test (files run in name order): everything the stack's
services logged and everything published on the topics during the run holds no phone or
identity-card number in clear."""

import pytest
from aiokafka import TopicPartition

from contracts import topics
from services.launcher import SERVICES
from services.privacy import identifiers_in
from tests.factories import VALID_ID_NUMBER, hotline_body
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import end_offsets, read_between
from tests.pii_corpus import MACHINE_TOKENS, NOT_IDENTIFIERS, SPELLINGS

pytestmark = pytest.mark.integration


def in_clear(text: str) -> list[str]:
    """Phone and ID numbers however written (the corpus of tests/pii_corpus.py). Logs and
    events are machine text: a hash or an envelope may hold a digit run glued to letters."""
    return identifiers_in(text, machine_text=True)


def test_the_patterns_find_what_they_look_for() -> None:
    phone = hotline_body()["parties"][0]["phone"]
    assert in_clear(f'{{"phone": "{phone}", "id": "{VALID_ID_NUMBER}"}}') == [
        phone,
        VALID_ID_NUMBER,
    ]
    assert [found for written, _ in SPELLINGS for found in in_clear(f'"{written}"')] == [
        written for written, _ in SPELLINGS
    ]
    assert in_clear(" ".join([*MACHINE_TOKENS, *NOT_IDENTIFIERS])) == []


def test_no_identifier_in_clear_in_the_service_logs(stack: Stack) -> None:
    assert stack.log_dir is not None
    logs = {path.name: path.read_text(errors="replace") for path in stack.log_dir.glob("*.log")}
    # The four services, and any extra replica a test started beside them.
    assert {f"{name}.log" for name in SERVICES} <= set(logs)
    assert all(logs.values())
    found = {name: in_clear(text)[:5] for name, text in logs.items() if in_clear(text)}
    assert found == {}


async def test_no_identifier_in_clear_on_the_topics(stack: Stack) -> None:
    starts = {
        TopicPartition(topic, partition): offset
        for topic, partitions in stack.start_offsets.items()
        for partition, offset in partitions.items()
    }
    ends: dict[TopicPartition, int] = {}
    for topic in topics.ALL:
        ends.update(await end_offsets(stack.infra.kafka, topic))
    records = await read_between(stack.infra.kafka, starts, ends, timeout_s=120)
    assert records, "the run published events"
    leaks = [
        (record.topic, record.offset, in_clear(text)[:3])
        for record in records
        if in_clear(text := (record.value or b"").decode(errors="replace"))
    ]
    assert leaks == []
