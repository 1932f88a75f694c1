"""The bad-input table against the real intake: each row refused naming its field, and the
real topic holds no event carrying any row's marker."""

import uuid

import httpx
import pytest

from contracts import topics
from tests.auth import as_needed
from tests.intake_cases import BAD_INPUTS, refused_fields, request_of
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import end_offsets, read_between

pytestmark = pytest.mark.integration


async def test_every_bad_input_is_refused_and_nothing_is_published(stack: Stack) -> None:
    marker = f"BAD{uuid.uuid4().hex[:12]}"
    start = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    wrong: list[str] = []
    async with httpx.AsyncClient(
        auth=as_needed, base_url=stack.urls["intake"], timeout=30
    ) as client:
        for row in BAD_INPUTS:
            response = await client.post(row.path, **request_of(row, marker))
            fields = refused_fields(response.json()) if response.status_code < 500 else []
            if response.status_code != row.status or row.field not in fields:
                wrong.append(f"{row.name}: {response.status_code} {response.text[:200]}")
    assert wrong == []
    end = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    records = await read_between(stack.infra.kafka, start, end)
    assert [r.value[:200] for r in records if marker.encode() in r.value] == []
