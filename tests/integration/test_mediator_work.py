"""A mediator's day in the console, over HTTP on the real servers: times in the county's zone,
who holds a case and who may hand it on, the sealed contacts, rebounds and duplicates marked,
and words a person reads."""

import json
import re
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts.registry import hanyin
from services.auth import Role
from services.web.i18n import TEXT
from tests.auth import as_needed, mediator_token, token
from tests.factories import JIANGHE, hotline_body
from tests.integration.conftest import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

CHINA = ZoneInfo("Asia/Shanghai")
SPARE = "hanyin-puxi-liugou"
"""A village no other test changes the mediators of."""
PAGE = {"Accept": "text/html"}


def a_phone() -> str:
    return f"136{uuid.uuid4().int % 10**8:08d}"


def lead_and_other(unit_id: str) -> tuple[str, str]:
    """The unit's lead is its first mediator by id; Jianghe and the spare village have two."""
    return f"med-{unit_id}-1", f"med-{unit_id}-2"


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def as_mediator(mediator_id: str) -> dict[str, str]:
    return bearer(mediator_token(mediator_id))


def as_supervisor(unit_id: str) -> dict[str, str]:
    return bearer(token(Role.SUPERVISOR, unit_id, f"supervisor-{unit_id}"))


async def report(
    stack: Stack, village: str = JIANGHE, phone: str | None = None, **overrides: Any
) -> str:
    """Reported at intake: the dispute id."""
    party = {"name": "李四", "phone": phone or a_phone(), "village_id": village}
    body = hotline_body(village_id=village, parties=[party], **overrides)
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        answer = await client.post(f"{stack.urls['intake']}/v1/disputes", json=body)
    assert answer.status_code == 202, answer.text
    dispute_id: str = answer.json()["dispute_id"]
    return dispute_id


async def file_case(
    stack: Stack, village: str = JIANGHE, phone: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """Reported at intake, routed by the router, stored by mediation: the case as it stands."""
    return await stored_case(stack, await report(stack, village, phone, **overrides))


async def stored_case(stack: Stack, case_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:

        async def found() -> dict[str, Any] | None:
            answer = await client.get(f"{stack.urls['mediation']}/v1/cases/{case_id}")
            return answer.json() if answer.status_code == 200 else None

        return await eventually(found, what=f"case {case_id} in mediation")


async def act(
    stack: Stack, case_id: str, endpoint: str, mediator_id: str, **body: Any
) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10, headers=as_mediator(mediator_id)) as client:
        return await client.post(
            f"{stack.urls['mediation']}/v1/cases/{case_id}/{endpoint}",
            json={"mediator_id": mediator_id, **body},
        )


async def reassign(stack: Stack, case_id: str, to: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10, headers=headers) as client:
        return await client.post(
            f"{stack.urls['mediation']}/v1/cases/{case_id}/reassign", json={"mediator_id": to}
        )


async def page(stack: Stack, path: str, headers: dict[str, str], **params: str) -> str:
    async with httpx.AsyncClient(timeout=10, headers={**PAGE, **headers}) as client:
        answer = await client.get(f"{stack.urls['mediation']}{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.text


async def contacts(stack: Stack, case_id: str, mediator_id: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10, headers=as_mediator(mediator_id)) as client:
        return await client.get(f"{stack.urls['mediation']}/v1/cases/{case_id}/contacts")


# ---- time: the county's wall clock ------------------------------------------------------------


async def test_the_case_page_reads_and_prefills_times_on_the_county_clock(stack: Stack) -> None:
    case = await file_case(stack)
    holder = case["mediator_id"]
    assert (await act(stack, case["case_id"], "accept", holder)).status_code == 200
    held_at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)
    session = await act(
        stack,
        case["case_id"],
        "sessions",
        holder,
        held_at=held_at.isoformat(),
        participants=["李四"],
    )
    assert session.status_code == 200, session.text

    before = datetime.now(CHINA)
    html = await page(stack, f"/cases/{case['case_id']}", as_mediator(holder))
    after = datetime.now(CHINA)
    prefilled = re.search(
        r'id="held_at" type="datetime-local" name="held_at" value="([^"]+)"', html
    )
    assert prefilled is not None
    assert prefilled[1] in {t.strftime("%Y-%m-%dT%H:%M") for t in (before, after)}
    assert 'data-time-zone="Asia/Shanghai"' in html
    china_clock = held_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    assert TEXT["mediator.held_at"][0].replace("{at}", china_clock) in html
    shown = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", html)
    assert len(shown) == 3  # assigned, accepted, session held
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", text) for text in shown), shown


# ---- who holds the case -----------------------------------------------------------------------


async def test_a_colleague_is_refused_by_name_until_a_supervisor_reassigns(
    stack: Stack, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    case = await file_case(stack)
    case_id, holder = case["case_id"], case["mediator_id"]
    colleague = next(m for m in lead_and_other(JIANGHE) if m != holder)

    taken = await act(stack, case_id, "accept", colleague)
    assert taken.status_code == 403, taken.text
    body = taken.json()
    assert (body["error"], body["params"]["assigned_to"]) == ("assigned_to_other", holder)
    assert holder in body["message"]
    html = await page(stack, f"/cases/{case_id}", as_mediator(colleague))
    assert 'id="not-yours"' in html
    assert 'id="do-accept"' not in html
    assert 'id="open-contacts"' not in html
    assert (await contacts(stack, case_id, colleague)).status_code == 403
    assert (await stored_case(stack, case_id))["state"] == "assigned"

    elsewhere = await reassign(stack, case_id, colleague, as_supervisor("hanyin-chengguan"))
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (403, "read_outside_unit")
    outsider = await reassign(stack, case_id, f"med-{SPARE}-1", as_supervisor("hanyin-shuangru"))
    assert outsider.status_code == 422, outsider.text
    assert outsider.json()["fields"][0]["field"] == "mediator_id"

    moved = await reassign(stack, case_id, colleague, as_supervisor("hanyin-shuangru"))
    assert moved.status_code == 200, moved.text
    assert moved.json()["events"] == ["CaseReassigned"]
    after = await stored_case(stack, case_id)
    assert after["mediator_id"] == colleague
    entry = after["timeline"][-1]
    assert (entry["event"], entry["previous_mediator_id"]) == ("reassigned", holder)

    # The contacts went with the case; the former holder may no longer act on it.
    assert (await contacts(stack, case_id, holder)).status_code == 403
    opened = await contacts(stack, case_id, colleague)
    assert opened.status_code == 200, opened.text
    assert opened.json()["parties"][0]["contact"]["phone"].startswith("136")
    refused = await act(stack, case_id, "accept", holder)
    assert (refused.status_code, refused.json()["params"]["assigned_to"]) == (403, colleague)
    assert (await act(stack, case_id, "accept", colleague)).status_code == 200

    audit = mongo[stack.database]["audit"]
    reassigned = await audit.find_one({"action": "case.reassign", "case_id": case_id})
    assert reassigned is not None
    assert reassigned["details"]["mediator_id"] == colleague
    assert (reassigned["unit_id"], reassigned["outcome"]) == (JIANGHE, "allowed")


async def test_the_units_lead_reassigns_and_no_other_mediator_does(stack: Stack) -> None:
    case = await file_case(stack)
    case_id, holder = case["case_id"], case["mediator_id"]
    lead, other = lead_and_other(JIANGHE)
    refused = await reassign(stack, case_id, lead if holder == other else other, as_mediator(other))
    if holder == other:  # the holder is not the lead: they may not hand it on themselves
        assert (refused.status_code, refused.json()["error"]) == (403, "may_not_reassign")
        lead_page = await page(stack, f"/cases/{case_id}", as_mediator(lead))
        assert 'id="reassign-form"' in lead_page
        assert (await reassign(stack, case_id, lead, as_mediator(lead))).status_code == 200
        assert (await stored_case(stack, case_id))["mediator_id"] == lead
    else:
        assert (refused.status_code, refused.json()["error"]) == (403, "may_not_reassign")
        assert (await reassign(stack, case_id, other, as_mediator(lead))).status_code == 200
        assert (await stored_case(stack, case_id))["mediator_id"] == other
    other_page = await page(stack, f"/cases/{case_id}", as_mediator(other))
    assert 'id="reassign-form"' not in other_page


async def test_a_mediator_holding_open_cases_is_not_removed_until_they_are_reassigned(
    stack: Stack,
) -> None:
    """A mediator the test adds, so the cases they hold are the test's own whatever other
    tests leave open in the village."""
    router, newcomer = stack.urls["router"], f"med-{SPARE}-8"
    case_id = (await file_case(stack, SPARE))["case_id"]
    other = lead_and_other(SPARE)[1]
    supervisor = as_supervisor("hanyin-puxi")
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        unit = (await client.get(f"{router}/v1/units/{SPARE}")).json()
        roster = [
            {"id": m["id"], "name": m["name"], "categories": m["categories"]}
            for m in unit["mediators"]
        ]

        async def put(mediators: list[dict[str, Any]]) -> httpx.Response:
            return await client.put(
                f"{router}/v1/units/{SPARE}/mediators", json={"mediators": mediators}
            )

        async def newcomer_holds(cases: int) -> bool:
            unit = (await client.get(f"{router}/v1/units/{SPARE}")).json()
            held = {m["id"]: m["open_cases"] for m in unit["mediators"]}
            return held.get(newcomer) == cases

        grown = await put([*roster, {"id": newcomer, "name": "韩新"}])
        assert grown.status_code == 200, grown.text
        try:
            handed = await eventually(
                lambda: _accepted(reassign(stack, case_id, newcomer, supervisor)),
                what="mediation reading the newcomer off the config topic",
            )
            assert handed.status_code == 200, handed.text
            # The router reads the reassignment off the lifecycle topic.
            await eventually(lambda: newcomer_holds(1), what="the router counting the case")
            refused = await put(roster)
            assert refused.status_code == 409, refused.text
            body = refused.json()
            assert body["error"] == "mediator_holds_cases"
            assert (body["params"]["mediator_ids"], body["params"]["case_ids"]) == (
                [newcomer],
                [case_id],
            )
            assert case_id in body["detail"]
            moved = await reassign(stack, case_id, other, supervisor)
            assert moved.status_code == 200, moved.text
            await eventually(lambda: newcomer_holds(0), what="the router seeing the case move")
        finally:

            async def restored() -> httpx.Response | None:
                answer = await put(roster)
                return None if answer.status_code == 409 else answer

            answer = await eventually(restored, what="the roster back")
            assert answer.status_code == 200, answer.text


async def _accepted(answer: Awaitable[httpx.Response]) -> httpx.Response | None:
    """The answer, or None while the newcomer is not yet known to mediation (422)."""
    response = await answer
    return None if response.status_code == 422 else response


# ---- rebounds and duplicates ------------------------------------------------------------------


async def test_a_duplicate_and_a_rebound_are_marked_with_links_on_the_case_and_queue(
    stack: Stack,
) -> None:
    phone = a_phone()
    first = await file_case(stack, phone=phone)
    again = await file_case(stack, phone=phone)
    assert again["dispute"]["possible_duplicate_of"] == first["case_id"]
    lead = lead_and_other(JIANGHE)[0]
    supervisor = as_supervisor("hanyin-shuangru")
    html = await page(stack, f"/cases/{again['case_id']}", supervisor)
    assert re.search(rf'id="duplicate-of".*href="/cases/{first["case_id"]}"', html)
    queue = await page(stack, "/", as_mediator(lead), unit=JIANGHE)
    row = _row(queue, again["case_id"])
    assert f'class="badge duplicate" href="/cases/{first["case_id"]}"' in row

    holder = first["mediator_id"]
    for endpoint, body in (
        ("accept", {}),
        ("outcome", {"outcome": "resolved", "agreement": "oral", "summary": "和解"}),
    ):
        done = await act(stack, first["case_id"], endpoint, holder, **body)
        assert done.status_code == 200, done.text
    rebound = await _rebound_of(stack, phone, first["case_id"])
    html = await page(stack, f"/cases/{rebound['case_id']}", supervisor)
    assert re.search(rf'id="rebound-of".*href="/cases/{first["case_id"]}"', html)
    unit = rebound["unit_id"]
    queue = await page(stack, "/", supervisor, unit=unit)
    assert f'class="badge rebound" href="/cases/{first["case_id"]}"' in _row(
        queue, rebound["case_id"]
    )

    # Reported once more while the chain is open: it joins the open case, no third one opens.
    again_id = await report(stack, phone=phone)

    async def joined() -> bool:
        chain = await stored_case(stack, rebound["case_id"])
        return any(e.get("rebound_dispute_id") == again_id for e in chain["timeline"])

    await eventually(joined, what="the new report joining the open rebound case")
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        alone = await client.get(f"{stack.urls['mediation']}/v1/cases/{again_id}")
    assert alone.status_code == 404
    assert (await stored_case(stack, first["case_id"]))["state"] == "reopened"


async def _rebound_of(stack: Stack, phone: str, resolved_id: str) -> dict[str, Any]:
    async def routed_as_rebound() -> dict[str, Any] | None:
        case = await file_case(stack, phone=phone)
        return case if case.get("rebound_of") == resolved_id else None

    # The router learns of the resolution from the lifecycle topic.
    return await eventually(routed_as_rebound, what="a report routed as a rebound")


def _row(html: str, case_id: str) -> str:
    found = re.search(rf'<tr data-case="{case_id}".*?</tr>', html, re.S)
    assert found is not None, f"no row of {case_id}"
    return found[0]


# ---- words ------------------------------------------------------------------------------------


async def test_names_risks_and_the_unit_picker_are_a_persons_words(stack: Stack) -> None:
    case = await file_case(stack, risk_flags=["violence_threat"])
    holder = case["mediator_id"]
    html = await page(stack, f"/cases/{case['case_id']}", as_mediator(holder))
    unit_cell = re.search(r'<dd id="unit"[^>]*>([^<]+)</dd>', html)
    assert unit_cell is not None
    assert "江河村" in unit_cell[1]
    assert JIANGHE not in unit_cell[1]
    trace = html.split('id="trace"')[1].split("</table>")[0]
    assert "江河村" in trace
    assert JIANGHE not in trace  # routing facts name units and mediators, not ids
    assert not re.search(r"\d\d:\d\d:\d\d\.\d+", trace)  # nor microseconds
    assert 'data-flag="violence_threat"' in html
    assert TEXT["risk.violence_threat"][0] in html
    assert TEXT["action.accept"][0] in html
    english = await page(stack, f"/cases/{case['case_id']}", as_mediator(holder), lang="en")
    assert "Jianghe Village" in english

    desk = await page(stack, "/", as_mediator(holder))
    assert 'data-flag="violence_threat"' in _row(desk, case["case_id"])
    # The unit picker opens on the mediator's own unit, by name, and searches only within it.
    assert re.search(rf'name="unit" value="{JIANGHE}"', desk)
    assert re.search(r'id="unit" type="text"[^>]*value="江河村"', desk, re.S)
    mine = await page(stack, "/console/units/search", as_mediator(holder), q="hanyin")
    assert {item["id"] for item in json.loads(mine)["items"]} <= {JIANGHE, *_grids(JIANGHE)}
    offered = await page(stack, "/console/units/search", as_supervisor("hanyin-shuangru"), q="i")
    units = {item["id"] for item in json.loads(offered)["items"]}
    assert units
    assert all(unit.startswith("hanyin-shuangru") for unit in units)


def _grids(village_id: str) -> set[str]:
    return {unit.id for unit in hanyin().children_of(village_id)}
