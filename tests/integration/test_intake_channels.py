"""Every channel on the real servers: one event per report, none extra for retries, even when
the retry reaches another intake process, and the status follows the case downstream."""

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.events import DisputeReported
from tests.auth import as_needed
from tests.factories import (
    JIANGHE,
    grid_body,
    hotline_body,
    open311_form,
    petition_body,
    wechat_body,
)
from tests.intake_cases import GRID, HOTLINE, OPEN311, PETITION, WECHAT
from tests.integration.conftest import Stack, extra_service
from tests.integration.kafka_tools import end_offsets, read_between
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def dispute_id_of(client: httpx.AsyncClient, response: httpx.Response) -> str:
    body = response.json()
    if isinstance(body, list):  # Open311 answers with the tracking number
        status = await client.get(f"/v1/disputes/{body[0]['service_request_id']}")
        return str(status.json()["dispute_id"])
    return str(body["dispute_id"])


async def published_between(stack: Stack, start: Any) -> Counter[str]:
    """How many DisputeReported events each dispute id got on the real topic."""
    end = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    records = await read_between(stack.infra.kafka, start, end)
    return Counter(DisputeReported.model_validate_json(r.value).dispute.dispute_id for r in records)


def channel_requests(marker: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (HOTLINE, {"json": hotline_body(description=f"{marker} 两户因排水沟吵架")}),
        (WECHAT, {"json": wechat_body(text=f"{marker} 隔壁又吵架了")}),
        (GRID, {"json": grid_body(description=f"{marker} 宅基地边界争议")}),
        (PETITION, {"json": petition_body(description=f"{marker} 征地补偿不公")}),
        (OPEN311, {"data": open311_form(description=f"{marker} 拖欠工资")}),
    ]


async def test_each_channel_publishes_exactly_one_event_per_report(stack: Stack) -> None:
    marker = f"once-{uuid.uuid4().hex[:8]}"
    start = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    notice = wechat_body(text=f"@所有人 {marker} 明天开会")
    async with httpx.AsyncClient(
        auth=as_needed, base_url=stack.urls["intake"], timeout=30
    ) as client:
        answers = [await client.post(path, **kw) for path, kw in channel_requests(marker)]
        assert [a.status_code for a in answers] == [202, 202, 202, 202, 201], [
            a.text for a in answers
        ]
        ids = [await dispute_id_of(client, answer) for answer in answers]
        not_a_dispute = await client.post(WECHAT, json=notice)
    assert not_a_dispute.status_code == 200
    assert not_a_dispute.json()["status"] == "not_a_dispute"
    published = await published_between(stack, start)
    assert {dispute_id: published[dispute_id] for dispute_id in ids} == dict.fromkeys(ids, 1)


@pytest.fixture
def second_intake(stack: Stack) -> Iterator[str]:
    """Another intake process over the same database: a restart, or a second replica."""
    env = {**stack.env, "INTAKE_GROUP_ID": f"intake-second-{uuid.uuid4().hex[:8]}"}
    with extra_service("intake", env, "intake-2") as url:
        yield url


async def test_retries_with_the_same_key_publish_nothing_more(
    stack: Stack, second_intake: str
) -> None:
    marker = f"retry-{uuid.uuid4().hex[:8]}"
    start = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    first_answers, ids = [], []
    async with (
        httpx.AsyncClient(auth=as_needed, base_url=stack.urls["intake"], timeout=30) as first,
        httpx.AsyncClient(auth=as_needed, base_url=second_intake, timeout=30) as second,
    ):
        for n, (path, kwargs) in enumerate(channel_requests(marker)):
            headers = {"Idempotency-Key": f"{marker}-{n}"}
            answers = [
                await client.post(path, headers=headers, **kwargs)
                for client in (first, first, second)
            ]
            assert len({a.status_code for a in answers}) == 1, [a.text for a in answers]
            assert answers[0].status_code in (201, 202), answers[0].text
            assert answers[0].json() == answers[1].json() == answers[2].json()
            first_answers.append(answers[0])
            ids.append(await dispute_id_of(first, answers[0]))
    published = await published_between(stack, start)
    assert {dispute_id: published[dispute_id] for dispute_id in ids} == dict.fromkeys(ids, 1)


async def test_status_follows_the_case_to_the_village_queue(stack: Stack) -> None:
    async with httpx.AsyncClient(
        auth=as_needed, base_url=stack.urls["intake"], timeout=30
    ) as client:
        accepted = (await client.post(HOTLINE, json=hotline_body())).json()
        # A small neighbour matter, so the policy keeps it in the village.
        village_matter = {
            "attribute[village_id]": JIANGHE,
            "service_code": "neighbour",
            "attribute[people_involved]": "2",
        }
        form = await client.post(OPEN311, data=open311_form(**village_matter))
        request_id = form.json()[0]["service_request_id"]

        async def assigned(reference: str) -> dict[str, Any] | None:
            """Assigned, with the routing step beside it: the two come from two topics, read
            by two consumers, so either may be recorded first."""
            status = (await client.get(f"/v1/disputes/{reference}")).json()
            steps = {step["status"] for step in status["history"]}
            return status if status["status"] == "assigned" and "routed" in steps else None

        status = await eventually(
            lambda: assigned(accepted["tracking_number"]), what="the report to be assigned"
        )
        await eventually(lambda: assigned(request_id), what="the Open311 request to be assigned")
        followed = (await client.get(f"/open311/v2/requests/{request_id}.json")).json()[0]
    assert [step["status"] for step in status["history"]] == ["received", "routed", "assigned"]
    assert (status["dispute_id"], status["unit_id"], status["tier"]) == (
        accepted["dispute_id"],
        JIANGHE,
        "village",
    )
    assert (followed["status"], followed["agency_responsible"]) == ("open", JIANGHE)
