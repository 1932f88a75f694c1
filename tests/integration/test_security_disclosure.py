"""What intake and the router disclose, on the real servers: sealed contacts only for their
filer (role, subject and unit), phone and ID numbers gone from every channel's free text on
the topic and in the database, Open311's `api_key` form field, and no small leaks (the
policy file's path, another filer's dispute id, which tracking numbers exist)."""

import json
import random
import uuid
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.events import DisputeReported
from services.auth import Role
from tests.auth import as_needed, headers, token
from tests.factories import (
    JIANGHE,
    grid_body,
    hotline_body,
    open311_form,
    petition_body,
    wechat_body,
)
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import end_offsets, read_until
from tests.pii_corpus import NOT_IDENTIFIERS, SPELLINGS
from tests.waiting import eventually

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, Any]]
PLACEHOLDER = {"mobile": "[电话]", "landline": "[电话]", "id_number": "[身份证号]"}
UNKNOWN_TRACKING_NUMBER = "HY-20000101-999999"


def a_mobile() -> str:
    """A number no other test of the run uses, so duplicate links are this test's own."""
    return f"137{random.randrange(10**8):08d}"


async def file_hotline(stack: Stack, who: dict[str, str], **overrides: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(
            f"{stack.urls['intake']}/v1/disputes", json=hotline_body(**overrides), headers=who
        )
    assert answer.status_code == 202, answer.text
    body: dict[str, Any] = answer.json()
    return body


# --- sealed contacts: the filer is role + subject + unit ---------------------------------

FILER = headers(Role.OPERATOR, "hanyin", "operator-1")
# Same subject as the filer, every other role or unit; each may or may not follow the dispute.
NAMESAKES = {
    "grid worker": (headers(Role.GRID_WORKER, "hanyin", "operator-1"), 404),
    "petition agent": (headers(Role.PETITION_AGENT, "hanyin", "operator-1"), 404),
    "mediator": (headers(Role.MEDIATOR, JIANGHE, "operator-1"), 404),
    # Operators of the county follow its disputes, but only the filer opens the contacts.
    "operator of another unit": (headers(Role.OPERATOR, "hanyin-chengguan", "operator-1"), 403),
    "county supervisor": (headers(Role.SUPERVISOR, "hanyin", "operator-1"), 403),
    "admin": (headers(Role.ADMIN, "hanyin", "operator-1"), 403),
}


async def test_only_the_filer_opens_sealed_contacts_and_every_refusal_is_audited(
    stack: Stack, mongo: Mongo
) -> None:
    phone = a_mobile()
    filed = await file_hotline(
        stack, FILER, parties=[{"name": "李四", "phone": phone, "village_id": JIANGHE}]
    )
    dispute_id = filed["dispute_id"]
    url = f"{stack.urls['intake']}/v1/disputes/{dispute_id}/contacts"
    async with httpx.AsyncClient(timeout=10) as client:
        refused = {
            name: (await client.get(url, headers=who)).status_code
            for name, (who, _) in NAMESAKES.items()
        }
        by_filer = await client.get(url, headers=FILER)
    assert refused == {name: status for name, (_, status) in NAMESAKES.items()}
    assert by_filer.status_code == 200, by_filer.text
    assert by_filer.json()["parties"][0] == {"phone": phone}
    trail = mongo[stack.database]["audit"]
    records = [
        (record["role"], record["actor_unit_id"], record["outcome"])
        async for record in trail.find({"case_id": dispute_id, "action": "sealed.read"})
    ]
    denied = sorted((role, unit) for role, unit, outcome in records if outcome == "denied")
    assert denied == sorted(
        [
            ("admin", "hanyin"),
            ("grid_worker", "hanyin"),
            ("mediator", JIANGHE),
            ("operator", "hanyin-chengguan"),
            ("petition_agent", "hanyin"),
            ("supervisor", "hanyin"),
        ]
    )
    assert [(r, u) for r, u, outcome in records if outcome == "allowed"] == [("operator", "hanyin")]


# --- phone and ID numbers in free text, every channel -----------------------------------

WRITTEN = "；".join(f"号码{written}" for written, _ in SPELLINGS)
REDACTED = "；".join(f"号码{PLACEHOLDER[kind]}" for _, kind in SPELLINGS)
LOOK_ALIKES = "；".join(NOT_IDENTIFIERS)


def reports_with_numbers(marker: str) -> list[tuple[str, dict[str, Any]]]:
    """One report per channel, each number of the corpus in its free text."""
    text = f"{marker} 两户吵架，{WRITTEN}；{LOOK_ALIKES}"
    # Not one of the corpus: the petitioner's own numbers are redacted as "[信访人]".
    petitioner = {**petition_body()["petitioner"], "id_number": "610921197503150040"}
    return [
        (
            "/v1/disputes",
            {
                "json": hotline_body(
                    description=text,
                    address_text="江河村 0916-2345678 旁",
                    parties=[{"name": "王师傅 139-8765-4321", "phone": a_mobile()}],
                    caller={"name": "来电人 +86 139 8765 4321", "phone": a_mobile()},
                ),
                "headers": {"Idempotency-Key": f"pii-{marker}"},
            },
        ),
        (
            "/v1/channels/wechat/messages",
            {"json": wechat_body(text=text, sender={"nickname": "老王 139 8765 4321"})},
        ),
        ("/v1/channels/grid/reports", {"json": grid_body(description=text)}),
        (
            "/v1/channels/petitions",
            {
                "json": petition_body(
                    description=text, demands=[f"退还押金，{WRITTEN}"], petitioner=petitioner
                )
            },
        ),
        (
            "/open311/v2/requests.json",
            {"data": open311_form(description=text, address_string="江河村 0916 234 5678")},
        ),
    ]


def leftovers(text: str) -> list[str]:
    """The spellings still there (a look-alike such as a twelve-digit number may hold one)."""
    rest = text.replace(LOOK_ALIKES, "")
    return [written for written, _ in SPELLINGS if written in rest]


async def test_no_spelling_of_a_number_survives_on_the_topic_or_in_the_database(
    stack: Stack, mongo: Mongo
) -> None:
    marker = f"pii-{uuid.uuid4().hex[:8]}"
    start = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    async with httpx.AsyncClient(
        auth=as_needed, base_url=stack.urls["intake"], timeout=30
    ) as client:
        answers = [await client.post(path, **kw) for path, kw in reports_with_numbers(marker)]
    assert [a.status_code for a in answers] == [202, 202, 202, 202, 201], [a.text for a in answers]
    records = await read_until(
        stack.infra.kafka,
        start,
        lambda got: sum(marker.encode() in r.value for r in got) >= len(answers),
        timeout_s=30,
    )
    events = [r.value.decode() for r in records if marker.encode() in r.value]
    disputes = [DisputeReported.model_validate_json(text).dispute for text in events]
    assert sorted(d.channel for d in disputes) == sorted(
        ["hotline", "wechat", "grid", "petition", "open311"]
    )
    assert {text: leftovers(text) for text in events if leftovers(text)} == {}
    for dispute in disputes:
        assert REDACTED in dispute.description, dispute.channel
        assert LOOK_ALIKES in dispute.description, dispute.channel
    by_channel = {d.channel.value: d for d in disputes}
    assert by_channel["hotline"].address_text == "江河村 [电话] 旁"
    assert by_channel["open311"].address_text == "江河村 [电话]"
    assert by_channel["hotline"].parties[0].name == "王师傅 [电话]"
    assert by_channel["wechat"].parties[0].name == "老王 [电话]"
    assert f"退还押金，{REDACTED}" in by_channel["petition"].description

    database = mongo[stack.database]
    ids = [d.dispute_id for d in disputes]
    stored = await database["intake_disputes"].find({"_id": {"$in": ids}}).to_list()
    outbox = await database["intake_outbox"].find({"_id": {"$in": ids}}).to_list()
    assert len(stored) == len(ids)
    assert len(outbox) == 2  # the keyed ones: hotline (Idempotency-Key) and WeChat
    for document in [*stored, *outbox]:
        text = json.dumps(document, ensure_ascii=False, default=str)
        assert leftovers(text) == [], document["_id"]
    assert all(REDACTED in document["dispute"]["description"] for document in stored)


# --- Open311: the token as a form field ---------------------------------------------------


async def test_open311_takes_a_full_length_token_as_the_api_key_form_field(stack: Stack) -> None:
    api_key = token(Role.OPERATOR)
    assert len(api_key) > 250, "a signed token is longer than any text field of a request"
    base = f"{stack.urls['intake']}/open311/v2"
    async with httpx.AsyncClient(timeout=30) as client:
        filed = await client.post(
            f"{base}/requests.json", data={**open311_form(), "api_key": api_key}
        )
        assert filed.status_code == 201, filed.text
        request_id = filed.json()[0]["service_request_id"]
        followed = await client.get(
            f"{base}/requests/{request_id}.json", params={"api_key": api_key}
        )
        no_key = await client.post(f"{base}/requests.json", data=open311_form())
    assert followed.status_code == 200, followed.text
    assert followed.json()[0]["service_request_id"] == request_id
    assert no_key.status_code == 401


# --- small leaks --------------------------------------------------------------------------


async def test_the_policy_in_force_does_not_tell_where_the_server_keeps_its_file(
    stack: Stack,
) -> None:
    assert stack.router_policy is not None
    url = f"{stack.urls['router']}/v1/policy"
    shipped = stack.router_policy.read_text(encoding="utf-8")
    who = headers(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-1")
    async with httpx.AsyncClient(timeout=10) as client:
        seen = await client.get(url, headers=who)

        async def rejected() -> httpx.Response | None:
            now = await client.get(url, headers=who)
            return now if now.json()["rejected"] else None

        async def accepted_again() -> bool:
            return (await client.get(url, headers=who)).json()["rejected"] is None

        try:
            stack.router_policy.write_text("town:\n  amount_yuan_at_least: -1\n", "utf-8")
            refused = await eventually(rejected, what="the bad policy file refused")
        finally:
            stack.router_policy.write_text(shipped, encoding="utf-8")
            await eventually(accepted_again, what="the shipped policy file read again")
    assert seen.status_code == 200
    assert seen.json()["version"] == seen.headers["etag"].strip('"')
    folder = str(stack.router_policy.parent)
    for answer in (seen, refused):
        assert "path" not in answer.json()
        assert folder not in answer.text
        assert "policy.yaml" not in answer.text
    assert "town.amount_yuan_at_least" in refused.json()["rejected"]


async def test_a_possible_duplicate_is_named_only_to_who_may_read_the_earlier_report(
    stack: Stack,
) -> None:
    phone = a_mobile()
    party = [{"name": "李四", "phone": phone, "village_id": JIANGHE}]
    first_filer = headers(Role.OPERATOR, "hanyin", f"op-{uuid.uuid4().hex[:6]}")
    # Not an operator: every operator of the county follows the county's disputes.
    other_filer = headers(Role.GRID_WORKER, "hanyin", f"gw-{uuid.uuid4().hex[:6]}")
    in_the_field = {"name": "李四", "phone": phone, "household_id": "h1", "household_color": "red"}
    start = await end_offsets(stack.infra.kafka, topics.DISPUTES_REPORTED)
    first = await file_hotline(stack, first_filer, parties=party)
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(
            f"{stack.urls['intake']}/v1/channels/grid/reports",
            json=grid_body(category="neighbour", parties=[in_the_field]),
            headers=other_filer,
        )
    assert answer.status_code == 202, answer.text
    by_other = answer.json()
    again = await file_hotline(stack, first_filer, parties=party)
    status_url = f"{stack.urls['intake']}/v1/disputes/{by_other['dispute_id']}"
    async with httpx.AsyncClient(timeout=10) as client:
        followed = (await client.get(status_url, headers=other_filer)).json()
        by_admin = (await client.get(status_url, headers=headers(Role.ADMIN))).json()
    assert by_other["possible_duplicate_of"] is None
    assert followed["possible_duplicate_of"] is None
    assert again["possible_duplicate_of"] == first["dispute_id"]
    assert by_admin["possible_duplicate_of"] == first["dispute_id"]
    # Routing and mediation still get the link.
    records = await read_until(
        stack.infra.kafka,
        start,
        lambda got: any(by_other["dispute_id"].encode() in r.value for r in got),
    )
    event = next(
        DisputeReported.model_validate_json(r.value)
        for r in records
        if by_other["dispute_id"].encode() in r.value
    )
    assert event.dispute.possible_duplicate_of == first["dispute_id"]


def same_shape(body: Any, reference: str) -> str:
    """The answer with the reference the caller sent taken out: all that is left must match."""
    return json.dumps(body, sort_keys=True).replace(reference, "<reference>")


async def test_a_dispute_the_caller_may_not_see_is_answered_as_an_unknown_one(
    stack: Stack,
) -> None:
    filed = await file_hotline(stack, FILER)
    # Not an operator: operators of the county follow every dispute of the county.
    stranger = headers(Role.GRID_WORKER, "hanyin", "grid-worker-2")
    intake = stack.urls["intake"]
    references = [filed["tracking_number"], filed["dispute_id"]]
    async with httpx.AsyncClient(timeout=10) as client:
        answers = {
            (path, reference): await client.get(f"{intake}{path.format(reference)}", headers=who)
            for path in ("/v1/disputes/{}", "/v1/disputes/{}/contacts")
            for reference, who in [
                *[(reference, stranger) for reference in references],
                (UNKNOWN_TRACKING_NUMBER, stranger),
            ]
        }
        open311 = {
            reference: await client.get(
                f"{intake}/open311/v2/requests/{reference}.json",
                params={"api_key": token(Role.GRID_WORKER, "hanyin", "grid-worker-2")},
            )
            for reference in [filed["tracking_number"], UNKNOWN_TRACKING_NUMBER]
        }
        own = await client.get(f"{intake}/v1/disputes/{filed['tracking_number']}", headers=FILER)
    assert own.status_code == 200
    assert {key: answer.status_code for key, answer in answers.items()} == dict.fromkeys(
        answers, 404
    )
    assert len({same_shape(a.json(), reference) for (_, reference), a in answers.items()}) == 1
    # Open311 reads are public (GeoReport v2) and show only the public fields: the stranger
    # learns that the request exists and where it stands, never whose it is.
    assert [answer.status_code for answer in open311.values()] == [200, 404]
    public = open311[filed["tracking_number"]].text
    assert filed["dispute_id"] not in public
    assert "李四" not in public
