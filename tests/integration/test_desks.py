"""The operator's and the supervisor's desks over HTTP, on the real servers: any operator of
the county follows a dispute by its tracking number (never its contacts), the operator's form
files a town-level dispute with the caller sealed apart from the parties, and the supervisor's
console opens on the jurisdiction's recent alerts."""

import json
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.events import AlertRaised, CaseRouted
from contracts.vocabulary import AlertKind, Priority, Tier
from services.auth import Role
from services.privacy import Sealer
from tests.auth import headers, token
from tests.factories import JIANGHE, hotline_body
from tests.integration.conftest import Stack
from tests.integration.kafka_tools import end_offsets, produce, read_until
from tests.integration.notifier_support import alert
from tests.waiting import eventually

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, Any]]
SHUANGRU = "hanyin-shuangru"
XINYUAN = "hanyin-shuangru-xinyuan"
"""Another village of the same town as Jianghe."""
JIANGHE_GRID = f"{JIANGHE}-g02"


def an_operator(unit_id: str = "hanyin") -> dict[str, str]:
    return headers(Role.OPERATOR, unit_id, f"op-{uuid.uuid4().hex[:8]}")


# --- any operator of the county follows a dispute, never its contacts ---------------------


async def test_another_operator_of_the_county_follows_a_dispute_by_its_number_not_its_contacts(
    stack: Stack,
) -> None:
    filer = an_operator()
    phone = f"136{uuid.uuid4().int % 10**8:08d}"
    intake = stack.urls["intake"]
    async with httpx.AsyncClient(timeout=30) as client:
        filed = await client.post(
            f"{intake}/v1/disputes",
            json=hotline_body(
                parties=[{"name": "李四", "phone": phone, "village_id": JIANGHE}],
                risk_flags=["weapon"],
            ),
            headers=filer,
        )
        assert filed.status_code == 202, filed.text
        number = filed.json()["tracking_number"]
        # At the county desk, and at a town desk of the same county.
        colleagues = [an_operator("hanyin"), an_operator("hanyin-chengguan")]
        followed = [
            await client.get(f"{intake}/v1/disputes/{number}", headers=who) for who in colleagues
        ]
        contacts = [
            await client.get(f"{intake}/v1/disputes/{number}/contacts", headers=who)
            for who in colleagues
        ]
        not_an_operator = headers(Role.GRID_WORKER, "hanyin", f"gw-{uuid.uuid4().hex[:6]}")
        stranger = await client.get(f"{intake}/v1/disputes/{number}", headers=not_an_operator)
        unknown = await client.get(
            f"{intake}/v1/disputes/HY-20000101-999998", headers=not_an_operator
        )
    assert [answer.status_code for answer in followed] == [200, 200], followed[-1].text
    for answer in followed:
        assert answer.json()["tracking_number"] == number
        assert answer.json()["risk_flags"] == ["weapon"]
        assert phone not in answer.text
    assert [answer.status_code for answer in contacts] == [403, 403]
    assert {answer.json()["error"] for answer in contacts} == {"not_filer"}
    assert all(phone not in answer.text for answer in contacts)
    # Everyone else still gets the answer of a dispute that does not exist.
    assert (stranger.status_code, unknown.status_code) == (404, 404)
    assert stranger.json()["error"] == unknown.json()["error"]


# --- the operator's form files a town-level dispute ---------------------------------------


class FormFields(HTMLParser):
    """The named fields of one form of a page, each with the values its options offer."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self._form_id = form_id
        self._inside = False
        self._select: str | None = None
        self.fields: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self._inside = found.get("id") == self._form_id
        if not self._inside:
            return
        name = found.get("name")
        if tag in {"input", "select", "textarea"} and name:
            self.fields.setdefault(name, [])
            self._select = name if tag == "select" else None
        if tag == "option" and self._select and found.get("value"):
            self.fields[self._select].append(found["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        if tag == "select":
            self._select = None


def form_of(page: str, form_id: str) -> dict[str, list[str]]:
    parser = FormFields(form_id)
    parser.feed(page)
    return parser.fields


async def test_a_town_level_dispute_filed_from_the_form_routes_to_the_town_caller_sealed_apart(
    stack: Stack, mongo: Mongo
) -> None:
    operator = an_operator()
    intake = stack.urls["intake"]
    async with httpx.AsyncClient(timeout=30) as client:
        page = await client.get(f"{intake}/", headers=operator)
        search = f"{intake}/console/units/search"
        found = await client.get(
            search, params={"q": "shuangru", "kind": "village", "limit": 50}, headers=operator
        )
    assert page.status_code == 200
    form = form_of(page.text, "report")
    # Each party has a village of their own, searched among the county's villages; the caller
    # is recorded apart; the grid is chosen from a list, not typed.
    for field in ("parties.0.village_id", "parties.1.village_id"):
        assert field in form, field
    assert found.status_code == 200, found.text
    assert {JIANGHE, XINYUAN} <= {item["id"] for item in found.json()["items"]}
    assert {"caller.name", "caller.phone", "caller.is_party"} <= set(form)
    assert 'select id="grid" name="grid_id"' in page.text

    caller_phone = f"135{uuid.uuid4().int % 10**8:08d}"
    # What the console's script posts (operator.html `body()`).
    body = {
        "channel": "hotline",
        "category": "neighbour",  # a village matter, but for where the parties live
        "description": "两村村民因灌溉水渠改道发生纠纷",
        "people_involved": 6,
        "amount_yuan": 0,
        "risk_flags": [],
        "parties": [
            {"kind": "person", "name": "王大", "village_id": JIANGHE},
            {"kind": "person", "name": "赵二", "village_id": XINYUAN},
        ],
        "village_id": JIANGHE,
        "grid_id": JIANGHE_GRID,
        "caller": {"name": "陈来电", "phone": caller_phone, "is_party": False},
    }
    start = await end_offsets(stack.infra.kafka, topics.CASES_ROUTED)
    async with httpx.AsyncClient(timeout=30) as client:
        filed = await client.post(
            f"{intake}/v1/disputes",
            json=body,
            headers={**operator, "Idempotency-Key": uuid.uuid4().hex},
        )
    assert filed.status_code == 202, filed.text
    dispute_id = filed.json()["dispute_id"]

    records = await read_until(
        stack.infra.kafka, start, lambda got: any(dispute_id.encode() in r.value for r in got)
    )
    routed = next(
        CaseRouted.model_validate_json(r.value) for r in records if dispute_id.encode() in r.value
    )
    assert (routed.tier, routed.unit_id) == (Tier.TOWN, SHUANGRU)
    assert routed.trace[-1].rule == "cross_village"

    stored = await mongo[stack.database]["intake_disputes"].find_one({"_id": dispute_id})
    assert stored is not None
    parties = stored["dispute"]["parties"]
    assert [(p["name"], p["village_id"]) for p in parties] == [("王大", JIANGHE), ("赵二", XINYUAN)]
    assert stored["dispute"]["grid_id"] == JIANGHE_GRID
    assert caller_phone not in json.dumps(stored, default=str)
    assert "陈来电" not in json.dumps(stored, default=str)
    sealed = stored["private"]["caller"]
    assert Sealer().open(sealed) == {"name": "陈来电", "phone": caller_phone}
    async with httpx.AsyncClient(timeout=30) as client:
        opened = await client.get(f"{intake}/v1/disputes/{dispute_id}/contacts", headers=operator)
    assert opened.json()["caller"] == {"name": "陈来电", "phone": caller_phone}
    assert opened.json()["parties"] == [None, None]


# --- the supervisor's console opens on the jurisdiction's recent history ------------------


async def publish(stack: Stack, event: AlertRaised) -> None:
    await produce(
        stack.infra.kafka,
        topics.ALERTS,
        event.model_dump_json().encode(),
        event.correlation_id.encode(),
    )


def history_of(page: str) -> list[dict[str, Any]]:
    found = re.search(r'<script type="application/json" id="history">(.*?)</script>', page, re.S)
    assert found, "the page carries no alert history"
    listed: list[dict[str, Any]] = json.loads(found[1])
    return listed


async def test_the_supervisor_console_lists_alerts_raised_before_it_was_opened(
    stack: Stack, mongo: Mongo
) -> None:
    ours = alert(kind=AlertKind.URGENT_RISK, priority=Priority.URGENT, unit_id=JIANGHE)
    elsewhere = alert(unit_id="hanyin-chengguan")
    for event in (ours, elsewhere):
        await publish(stack, event)
    logged = mongo[stack.database]["alerts"]

    async def both_logged() -> bool:
        return (
            await logged.count_documents({"_id": {"$in": [ours.alert_id, elsewhere.alert_id]}}) == 2
        )

    await eventually(both_logged, what="both alerts in the alert log")
    # A supervisor who never opened the console before: nothing is "since the first visit".
    supervisor = token(Role.SUPERVISOR, SHUANGRU, f"sup-{uuid.uuid4().hex[:6]}")
    async with httpx.AsyncClient(timeout=30) as client:
        page = await client.get(
            f"{stack.urls['notifier']}/",
            params={"unit": SHUANGRU, "lang": "en"},
            headers={"Authorization": f"Bearer {supervisor}"},
        )
    assert page.status_code == 200, page.text
    listed = history_of(page.text)
    ids = [item["alert_id"] for item in listed]
    assert ours.alert_id in ids
    assert elsewhere.alert_id not in ids  # another town's
    assert len(ids) <= 50
