"""Who may see and do what, on the real servers: role × endpoint × jurisdiction, bad tokens,
sealed contacts with their audit trail, and NoSQL-injection payloads that write nothing."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.auth import Role
from tests.auth import fresh_token, headers, token, wechat_signature
from tests.factories import JIANGHE, hotline_body, open311_form, wechat_body
from tests.integration.conftest import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

OTHER_VILLAGE = "hanyin-chengguan-dongguan"
OTHER_TOWN = "hanyin-chengguan"
TOWN = "hanyin-shuangru"
EXPIRED = {"Authorization": f"Bearer {fresh_token(Role.ADMIN, 'hanyin', 'a', timedelta(-1))}"}
ROGUE_KEYS = "rogue:some-other-secret-of-sufficient-length-0123"
UNKNOWN_KID = {"Authorization": f"Bearer {fresh_token(Role.ADMIN, 'hanyin', 'a', keys=ROGUE_KEYS)}"}


def tampered() -> dict[str, str]:
    """An operator token whose role claim was rewritten to admin, signature kept."""
    import base64  # noqa: PLC0415
    import json  # noqa: PLC0415

    header, claims, signature = token(Role.OPERATOR).split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    decoded["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return {"Authorization": f"Bearer {header}.{forged}.{signature}"}


@dataclass
class Filed:
    dispute_id: str
    unit_id: str
    mediator_id: str


@pytest.fixture(scope="module")
async def filed(stack: Stack) -> Filed:
    """One hotline report, filed by operator-1 and routed to a village mediator."""
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(
            f"{stack.urls['intake']}/v1/disputes",
            json=hotline_body(description=f"排水沟堵塞 {uuid.uuid4().hex[:6]}"),
            headers=headers(Role.OPERATOR),
        )
        assert answer.status_code == 202, answer.text
        dispute_id = answer.json()["dispute_id"]

        async def routed() -> dict[str, Any] | None:
            got = await client.get(
                f"{stack.urls['mediation']}/v1/cases/{dispute_id}", headers=headers(Role.ADMIN)
            )
            return got.json() if got.status_code == 200 else None

        case = await eventually(routed, what="the case in its village queue")
    return Filed(dispute_id, case["unit_id"], case["mediator_id"])


def colleague_of(mediator_id: str) -> str:
    """The other mediator the village lists (each lists `-1` and `-2`)."""
    unit_and_number = mediator_id.rsplit("-", 1)
    return f"{unit_and_number[0]}-{'2' if unit_and_number[1] == '1' else '1'}"


def caller(kind: str, filed: Filed) -> dict[str, str]:
    """The request headers of each kind of caller in the matrix."""
    unit, other = filed.unit_id, OTHER_VILLAGE
    callers: dict[str, Callable[[], dict[str, str]]] = {
        "none": lambda: {},
        "tampered": tampered,
        "expired": lambda: EXPIRED,
        "unknown_kid": lambda: UNKNOWN_KID,
        "assigned_mediator": lambda: headers(Role.MEDIATOR, unit, filed.mediator_id),
        "colleague": lambda: headers(Role.MEDIATOR, unit, colleague_of(filed.mediator_id)),
        "other_mediator": lambda: headers(Role.MEDIATOR, other, f"med-{other}-1"),
        "town_supervisor": lambda: headers(Role.SUPERVISOR, TOWN, "sup-shuangru"),
        "other_supervisor": lambda: headers(Role.SUPERVISOR, OTHER_TOWN, "sup-chengguan"),
        "filer": lambda: headers(Role.OPERATOR),
        "other_operator": lambda: headers(Role.OPERATOR, "hanyin", "operator-2"),
        "grid_worker": lambda: headers(Role.GRID_WORKER),
        "admin": lambda: headers(Role.ADMIN),
    }
    return callers[kind]()


BAD_TOKENS = ("none", "tampered", "expired", "unknown_kid")
# (service, method, path, who, expected status). `{case}` and `{unit}` are filled in.
MATRIX = [
    *[
        (service, "GET", path, bad, 401)
        for service, path in [
            ("intake", "/v1/disputes/{case}"),
            ("mediation", "/v1/cases/{case}"),
            ("mediation", "/v1/units/{unit}/queue"),
            ("router", "/v1/units/hanyin"),
            ("notifier", "/v1/subscriptions"),
            ("intake", "/"),
            ("notifier", "/"),
        ]
        for bad in BAD_TOKENS
    ],
    ("mediation", "GET", "/v1/cases/{case}", "assigned_mediator", 200),
    ("mediation", "GET", "/v1/cases/{case}", "colleague", 200),
    ("mediation", "GET", "/v1/cases/{case}", "other_mediator", 403),
    ("mediation", "GET", "/v1/cases/{case}", "town_supervisor", 200),
    ("mediation", "GET", "/v1/cases/{case}", "other_supervisor", 403),
    ("mediation", "GET", "/v1/cases/{case}", "filer", 403),
    ("mediation", "GET", "/v1/cases/{case}", "admin", 200),
    ("mediation", "GET", "/v1/units/{unit}/queue", "assigned_mediator", 200),
    ("mediation", "GET", "/v1/units/{unit}/queue", "other_mediator", 403),
    ("mediation", "GET", "/v1/units/{unit}/queue", "town_supervisor", 200),
    ("mediation", "GET", "/v1/units/{unit}/queue", "other_supervisor", 403),
    ("mediation", "GET", "/v1/metrics/resolution?unit=hanyin", "town_supervisor", 403),
    ("mediation", "GET", f"/v1/metrics/resolution?unit={TOWN}", "town_supervisor", 200),
    ("mediation", "GET", "/metrics", "admin", 200),
    ("mediation", "GET", "/metrics", "assigned_mediator", 403),
    ("mediation", "GET", "/v1/cases/{case}/contacts", "colleague", 403),
    ("mediation", "GET", "/v1/cases/{case}/contacts", "other_mediator", 403),
    ("mediation", "GET", "/v1/cases/{case}/contacts", "town_supervisor", 403),
    ("mediation", "GET", "/v1/cases/{case}/contacts", "admin", 403),
    ("intake", "GET", "/v1/disputes/{case}", "filer", 200),
    # Any operator of the county follows it (a caller phones back); a dispute the caller may
    # not follow is answered as an unknown one (404), not counted.
    ("intake", "GET", "/v1/disputes/{case}", "other_operator", 200),
    ("intake", "GET", "/v1/disputes/{case}", "grid_worker", 404),
    ("intake", "GET", "/v1/disputes/{case}", "assigned_mediator", 404),
    ("intake", "GET", "/v1/disputes/{case}", "town_supervisor", 200),
    ("intake", "GET", "/v1/disputes/{case}", "other_supervisor", 404),
    ("intake", "GET", "/v1/disputes/{case}", "admin", 200),
    ("intake", "GET", "/v1/disputes/{case}/contacts", "other_operator", 403),
    ("intake", "GET", "/v1/disputes/{case}/contacts", "grid_worker", 404),
    ("intake", "GET", "/v1/disputes/{case}/contacts", "town_supervisor", 403),
    ("intake", "GET", "/v1/disputes/{case}/contacts", "admin", 403),
    ("intake", "GET", "/", "filer", 200),
    ("intake", "GET", "/", "assigned_mediator", 403),
    ("router", "GET", "/v1/units/hanyin", "grid_worker", 200),
    ("router", "GET", "/v1/policy", "assigned_mediator", 200),
    ("router", "GET", "/v1/policy", "town_supervisor", 200),
    ("router", "GET", "/v1/policy", "admin", 200),
    # Changing the policy or a unit's mediators is for admins only; sent without a body, an
    # admin's request passes the role check and is refused for the missing body (422).
    *[
        ("router", "PUT", path, who, 401 if who in BAD_TOKENS else 403)
        for path in ("/v1/policy", "/v1/units/{unit}/mediators")
        for who in (*BAD_TOKENS, "assigned_mediator", "town_supervisor", "filer", "grid_worker")
    ],
    ("router", "PUT", "/v1/policy", "admin", 422),
    ("router", "PUT", "/v1/units/{unit}/mediators", "admin", 422),
    ("notifier", "GET", "/v1/subscriptions", "town_supervisor", 200),
    ("notifier", "GET", "/v1/subscriptions", "assigned_mediator", 403),
    ("notifier", "GET", "/", "town_supervisor", 200),
    ("notifier", "GET", f"/?unit={OTHER_TOWN}", "town_supervisor", 403),
    ("notifier", "GET", "/", "filer", 403),
    ("router", "GET", "/healthz", "none", 200),
    ("mediation", "GET", "/asyncapi.json", "none", 200),
    ("notifier", "GET", "/openapi.json", "none", 200),
]


async def test_role_endpoint_jurisdiction_matrix(stack: Stack, filed: Filed) -> None:
    wrong = []
    async with httpx.AsyncClient(timeout=10) as client:
        for service, method, path, who, expected in MATRIX:
            url = stack.urls[service] + path.format(case=filed.dispute_id, unit=filed.unit_id)
            answer = await client.request(method, url, headers=caller(who, filed))
            if answer.status_code != expected:
                wrong.append((service, path, who, expected, answer.status_code, answer.text[:120]))
            if expected == 401:
                assert "bearer" in answer.headers.get("www-authenticate", "").lower()
            if expected == 403:
                assert answer.json().get("detail"), "a refusal names why"
    assert not wrong, wrong


ACTIONS = [
    ("/accept", lambda m: {"mediator_id": m}),
    ("/follow-up", lambda m: {"mediator_id": m, "fulfilled": True}),
]


async def test_cross_jurisdiction_writes_are_refused_and_change_nothing(
    stack: Stack, filed: Filed
) -> None:
    base = f"{stack.urls['mediation']}/v1/cases/{filed.dispute_id}"
    async with httpx.AsyncClient(timeout=10) as client:
        before = (await client.get(base, headers=headers(Role.ADMIN))).json()["version"]
        other = f"med-{OTHER_VILLAGE}-1"
        refusals = [
            await client.post(
                f"{base}/accept", json={"mediator_id": other}, headers=caller(who, filed)
            )
            for who in ("other_mediator", "town_supervisor", "admin", "filer")
        ]
        # A colleague of the unit may not act under the assigned mediator's name.
        impersonation = await client.post(
            f"{base}/accept",
            json={"mediator_id": filed.mediator_id},
            headers=caller("colleague", filed),
        )
        unauthenticated = await client.post(f"{base}/accept", json={"mediator_id": other})
        after = (await client.get(base, headers=headers(Role.ADMIN))).json()["version"]
    assert [r.status_code for r in refusals] == [403, 403, 403, 403]
    assert impersonation.status_code == 403
    assert unauthenticated.status_code == 401
    assert after == before


async def test_submitting_needs_the_channels_role_and_the_bots_signature(stack: Stack) -> None:
    intake = stack.urls["intake"]
    body = wechat_body(message_id=f"sig-{uuid.uuid4().hex[:8]}")
    raw = httpx.Request("POST", "http://x", json=body).content
    async with httpx.AsyncClient(timeout=10) as client:
        as_grid = await client.post(
            f"{intake}/v1/disputes", json=hotline_body(), headers=headers(Role.GRID_WORKER)
        )
        as_mediator = await client.post(
            f"{intake}/v1/disputes",
            json=hotline_body(),
            headers=headers(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-1"),
        )
        unsigned = await client.post(f"{intake}/v1/channels/wechat/messages", content=raw)
        forged = await client.post(
            f"{intake}/v1/channels/wechat/messages",
            content=raw,
            headers={"X-Tiaojie-Signature": wechat_signature(raw, "not-the-secret")},
        )
        signed = await client.post(
            f"{intake}/v1/channels/wechat/messages",
            content=raw,
            headers={
                "X-Tiaojie-Signature": wechat_signature(raw),
                "Content-Type": "application/json",
            },
        )
        # GeoReport reads are public; filing needs the key.
        no_key = await client.post(f"{intake}/open311/v2/requests.json", data=open311_form())
        with_key = await client.post(
            f"{intake}/open311/v2/requests.json",
            data={**open311_form(), "api_key": token(Role.OPERATOR)},
        )
    assert (as_grid.status_code, as_mediator.status_code) == (403, 403)
    assert (unsigned.status_code, forged.status_code) == (401, 401)
    assert signed.status_code in (200, 202), signed.text
    assert (no_key.status_code, with_key.status_code) == (401, 201)


async def test_sealed_contacts_open_for_the_assigned_mediator_and_the_filer_and_are_audited(
    stack: Stack, filed: Filed, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    phone = hotline_body()["parties"][0]["phone"]
    async with httpx.AsyncClient(timeout=10) as client:
        by_mediator = await client.get(
            f"{stack.urls['mediation']}/v1/cases/{filed.dispute_id}/contacts",
            headers=caller("assigned_mediator", filed),
        )
        by_filer = await client.get(
            f"{stack.urls['intake']}/v1/disputes/{filed.dispute_id}/contacts",
            headers=caller("filer", filed),
        )
    assert by_mediator.status_code == 200, by_mediator.text
    assert by_mediator.json()["parties"][0]["contact"] == {"phone": phone}
    assert by_filer.status_code == 200, by_filer.text
    assert by_filer.json()["parties"][0] == {"phone": phone}
    trail = mongo[stack.database]["audit"]
    readers = {
        (record["actor"], record["role"])
        async for record in trail.find(
            {"case_id": filed.dispute_id, "action": "sealed.read", "outcome": "allowed"}
        )
    }
    assert readers == {(filed.mediator_id, "mediator"), ("operator-1", "operator")}


async def test_case_actions_and_subscriptions_leave_audit_records(
    stack: Stack, filed: Filed, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        accepted = await client.post(
            f"{stack.urls['mediation']}/v1/cases/{filed.dispute_id}/accept",
            json={"mediator_id": filed.mediator_id},
            headers=caller("assigned_mediator", filed),
        )
        subscribed = await client.post(
            f"{stack.urls['notifier']}/v1/subscriptions",
            json={
                "unit_id": TOWN,
                "kinds": ["escalation"],
                "delivery": {"type": "sse"},
                "name": "audit check",
            },
            headers=caller("town_supervisor", filed),
        )
        elsewhere = await client.post(
            f"{stack.urls['notifier']}/v1/subscriptions",
            json={"unit_id": OTHER_TOWN, "kinds": ["escalation"], "delivery": {"type": "sse"}},
            headers=caller("town_supervisor", filed),
        )
    assert accepted.status_code == 200, accepted.text
    assert subscribed.status_code == 201, subscribed.text
    assert elsewhere.status_code == 403
    trail = mongo[stack.database]["audit"]
    action = await trail.find_one({"case_id": filed.dispute_id, "action": "case.accept"})
    assert action is not None
    assert (action["actor"], action["actor_unit_id"]) == (filed.mediator_id, filed.unit_id)
    made = await trail.find_one({"action": "subscription.create", "actor": "sup-shuangru"})
    assert made is not None
    assert made["details"]["subscription_id"] == subscribed.json()["subscription_id"]


INJECTIONS: list[tuple[str, str, str, dict[str, Any], Role]] = [
    ("intake", "POST", "/v1/disputes", {"json": {**hotline_body(), "$where": "1"}}, Role.OPERATOR),
    (
        "intake",
        "POST",
        "/v1/disputes",
        {"json": hotline_body(village_id={"$ne": None})},
        Role.OPERATOR,
    ),
    ("intake", "GET", '/v1/disputes/{"$ne":null}', {}, Role.ADMIN),
    ("intake", "GET", "/v1/disputes/x", {"params": {"dispute_id[$ne]": "1"}}, Role.ADMIN),
    ("mediation", "GET", '/v1/units/{"$gt":""}/queue', {}, Role.ADMIN),
    ("mediation", "GET", '/v1/cases/{"$ne":null}', {}, Role.ADMIN),
    ("mediation", "GET", "/v1/metrics/resolution", {"params": {"unit": '{"$gt":""}'}}, Role.ADMIN),
    ("router", "GET", "/v1/units", {"params": {"parent": '{"$ne":null}'}}, Role.ADMIN),
    ("notifier", "GET", '/v1/subscriptions/{"$ne":1}', {}, Role.ADMIN),
    (
        "notifier",
        "POST",
        "/v1/subscriptions",
        {"json": {"unit_id": {"$ne": None}, "delivery": {"type": "sse"}}},
        Role.ADMIN,
    ),
]


async def test_nosql_injection_payloads_are_refused_and_write_nothing(
    stack: Stack, filed: Filed, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    database = mongo[stack.database]
    counts = {
        name: await database[name].count_documents({}) for name in ("disputes", "subscriptions")
    }
    base = f"{stack.urls['mediation']}/v1/cases/{filed.dispute_id}"
    async with httpx.AsyncClient(timeout=10) as client:
        version = (await client.get(base, headers=headers(Role.ADMIN))).json()["version"]
        answers = [
            (
                path,
                (
                    await client.request(
                        method, stack.urls[service] + path, headers=headers(role), **kw
                    )
                ),
            )
            for service, method, path, kw, role in INJECTIONS
        ]
        action = await client.post(
            f"{base}/sessions",
            json={"mediator_id": {"$ne": None}, "held_at": {"$gt": ""}},
            headers=caller("assigned_mediator", filed),
        )
        after = (await client.get(base, headers=headers(Role.ADMIN))).json()["version"]
    assert [(p, a.status_code) for p, a in answers if not 400 <= a.status_code < 500] == []
    assert action.status_code == 422
    assert after == version
    assert counts == {
        name: await database[name].count_documents({}) for name in ("disputes", "subscriptions")
    }
