"""Who a request comes from, on the real servers: the WeChat bot and each group at a bounded
rate, actions dated no earlier than what a case records, tokens only for units and mediators
the registry lists, and a console link that does not silently replace who is signed in."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from contracts.registry import hanyin
from services.auth import Role, session_cookie
from services.web.i18n import TEXT
from tests.auth import as_needed, fresh_token, headers, mediator_token, token, wechat_signature
from tests.factories import JIANGHE, hotline_body, wechat_body
from tests.integration.conftest import Stack, extra_service
from tests.integration.test_mediator_work import file_case
from tests.waiting import eventually

pytestmark = pytest.mark.integration

GROUP_BURST, BOT_BURST = 5, 12
SPARE_VILLAGE = "hanyin-chengguan-xinbao"
"""A village no other test files or routes to: its mediator list is changed here."""


# ---- the WeChat bot's limits ------------------------------------------------------------------


@pytest.fixture
def limited_intake(stack: Stack) -> Iterator[str]:
    """An intake of its own with small WeChat limits (the stack's are generous for the other
    tests); a consumer group of its own, so it takes no partition from the stack's intake."""
    env = {
        **stack.env,
        "INTAKE_GROUP_ID": f"intake-limits-{uuid.uuid4().hex[:8]}",
        "INTAKE_WECHAT_GROUP_RATE_PER_S": "0.01",
        "INTAKE_WECHAT_GROUP_BURST": str(GROUP_BURST),
        "INTAKE_WECHAT_BOT_RATE_PER_S": "0.01",
        "INTAKE_WECHAT_BOT_BURST": str(BOT_BURST),
    }
    with extra_service("intake", env, "intake-limits") as url:
        yield url


GROUPS = list(hanyin().wechat_groups)


async def forward(client: httpx.AsyncClient, intake: str, group_id: str) -> httpx.Response:
    """One signed message of `group_id`, a notice (recorded, not filed)."""
    body = wechat_body(group_id=group_id, text="通知：明天上午九点村委会开会，请准时参加")
    raw = httpx.Request("POST", intake, json=body).content
    signature = {"X-Tiaojie-Signature": wechat_signature(raw), "Content-Type": "application/json"}
    return await client.post(
        f"{intake}/v1/channels/wechat/messages", content=raw, headers=signature
    )


def assert_limited(answer: httpx.Response, scope: str) -> None:
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["Retry-After"]) >= 1
    body = answer.json()
    assert (body["error"], body["params"]["scope"]) == ("too_many_requests", scope)


async def test_a_flooding_group_gets_429_while_another_group_gets_through(
    limited_intake: str,
) -> None:
    flooding, quiet = GROUPS[0], GROUPS[1]
    async with httpx.AsyncClient(timeout=10) as client:
        taken = [await forward(client, limited_intake, flooding) for _ in range(GROUP_BURST)]
        assert [answer.status_code for answer in taken] == [200] * GROUP_BURST
        assert_limited(await forward(client, limited_intake, flooding), f"group {flooding}")
        assert (await forward(client, limited_intake, quiet)).status_code == 200


async def test_the_bot_is_limited_over_all_its_groups(limited_intake: str) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for group_id, count in [(GROUPS[2], 5), (GROUPS[3], 5), (GROUPS[4], 2)]:
            for _ in range(count):
                assert (await forward(client, limited_intake, group_id)).status_code == 200
        # Every group is within its own limit; the bot has used up its burst of 12.
        assert_limited(await forward(client, limited_intake, GROUPS[4]), "bot wechat-bot")
        assert_limited(await forward(client, limited_intake, GROUPS[5]), "bot wechat-bot")


# ---- backdating -------------------------------------------------------------------------------


def refused_at(answer: httpx.Response, name: str = "at") -> str:
    """The code of a 422 that names `name`."""
    assert answer.status_code == 422, answer.text
    [field] = answer.json()["fields"]
    assert field["field"] == name
    code: str = field["code"]
    return code


async def test_an_acceptance_dated_before_its_assignment_is_refused(stack: Stack) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        case = await file_case(stack)
        accept = f"{stack.urls['mediation']}/v1/cases/{case['case_id']}/accept"
        mediator = case["mediator_id"]
        assigned_at = datetime.fromisoformat(case["timeline"][-1]["at"])

        for at in (datetime(2000, 1, 1, tzinfo=UTC), assigned_at - timedelta(seconds=1)):
            answer = await client.post(accept, json={"mediator_id": mediator, "at": at.isoformat()})
            assert refused_at(answer) == "before_last_entry"
            assert assigned_at.isoformat() in answer.json()["fields"][0]["message"]
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        answer = await client.post(accept, json={"mediator_id": mediator, "at": future})
        assert refused_at(answer) == "in_future"

        unchanged = await client.get(f"{stack.urls['mediation']}/v1/cases/{case['case_id']}")
        assert unchanged.json()["state"] == "assigned"
        answer = await client.post(accept, json={"mediator_id": mediator})
        assert answer.status_code == 200, answer.text
        accepted = (
            await client.get(f"{stack.urls['mediation']}/v1/cases/{case['case_id']}")
        ).json()
        assert datetime.fromisoformat(accepted["timeline"][-1]["at"]) >= assigned_at


async def test_a_session_dated_before_the_dispute_or_after_its_record_is_refused(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        case = await file_case(stack)
        base = f"{stack.urls['mediation']}/v1/cases/{case['case_id']}"
        mediator = case["mediator_id"]
        assert (await client.post(f"{base}/accept", json={"mediator_id": mediator})).is_success
        now = datetime.now(UTC)
        held = {"mediator_id": mediator, "participants": ["李四"]}
        for when, code in (
            (datetime(1990, 1, 1, tzinfo=UTC), "before_case"),
            (now + timedelta(hours=2), "in_future"),
        ):
            answer = await client.post(
                f"{base}/sessions", json=held | {"held_at": when.isoformat()}
            )
            assert refused_at(answer, "held_at") == code
        unchanged = (await client.get(base)).json()
        assert unchanged["state"] == "accepted"
        # Held on the spot before the report was filed: the mediator records it afterwards.
        on_the_spot = (now - timedelta(hours=3)).isoformat()
        answer = await client.post(f"{base}/sessions", json=held | {"held_at": on_the_spot})
        assert answer.status_code == 200, answer.text


# ---- tokens against the registry --------------------------------------------------------------


async def test_an_operator_of_an_unknown_unit_may_not_file(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(
            f"{stack.urls['intake']}/v1/disputes",
            json=hotline_body(),
            headers=headers(Role.OPERATOR, "hanyin-nowhere", "operator-nowhere"),
        )
    assert answer.status_code == 403, answer.text
    body = answer.json()
    assert (body["error"], body["params"]["unit_id"]) == ("unknown_unit", "hanyin-nowhere")
    assert "hanyin-nowhere" in body["detail"]


async def queue(
    client: httpx.AsyncClient, stack: Stack, unit: str, mediator: str
) -> httpx.Response:
    return await client.get(
        f"{stack.urls['mediation']}/v1/units/{unit}/queue",
        headers={"Authorization": f"Bearer {token(Role.MEDIATOR, unit, mediator)}"},
    )


async def test_only_a_mediator_the_unit_lists_reads_its_queue(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        unlisted = await queue(client, stack, JIANGHE, f"med-{JIANGHE}-99")
        listed = await queue(client, stack, JIANGHE, f"med-{JIANGHE}-1")
        elsewhere = await queue(client, stack, JIANGHE, f"med-{SPARE_VILLAGE}-1")
    assert unlisted.status_code == 403, unlisted.text
    body = unlisted.json()
    assert body["error"] == "mediator_not_listed"
    assert body["params"] == {"mediator_id": f"med-{JIANGHE}-99", "unit_id": JIANGHE}
    assert f"med-{JIANGHE}-99" in body["detail"]
    assert listed.status_code == 200, listed.text
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (403, "mediator_not_listed")


async def test_a_mediator_added_at_run_time_reads_the_queue_until_removed(stack: Stack) -> None:
    router = stack.urls["router"]
    newcomer = f"med-{SPARE_VILLAGE}-3"
    async with httpx.AsyncClient(auth=as_needed, timeout=10) as client:
        unit = (await client.get(f"{router}/v1/units/{SPARE_VILLAGE}")).json()
        roster = [
            {"id": m["id"], "name": m["name"], "categories": m["categories"]}
            for m in unit["mediators"]
        ]
        assert (await queue(client, stack, SPARE_VILLAGE, newcomer)).status_code == 403

        async def answered(status: int) -> bool:
            return (await queue(client, stack, SPARE_VILLAGE, newcomer)).status_code == status

        added = [*roster, {"id": newcomer, "name": "王新来"}]
        try:
            changed = await client.put(
                f"{router}/v1/units/{SPARE_VILLAGE}/mediators", json={"mediators": added}
            )
            assert changed.status_code == 200, changed.text
            await eventually(lambda: answered(200), what="mediation taking the new mediator")
        finally:
            restored = await client.put(
                f"{router}/v1/units/{SPARE_VILLAGE}/mediators", json={"mediators": roster}
            )
            assert restored.status_code == 200, restored.text
        await eventually(lambda: answered(403), what="mediation refusing the removed mediator")


# ---- a console link with someone else's token -------------------------------------------------


PAGE = {"Accept": "text/html"}
MEDIATION_COOKIE = session_cookie("mediation")
INTAKE_COOKIE = session_cookie("intake")


async def test_a_link_with_another_persons_token_asks_before_switching(stack: Stack) -> None:
    mediation = stack.urls["mediation"]
    first, second = f"med-{JIANGHE}-1", f"med-{JIANGHE}-2"
    mine, theirs = mediator_token(first), mediator_token(second)
    async with httpx.AsyncClient(base_url=mediation, timeout=10, headers=PAGE) as browser:
        assert (await browser.get("/", params={"token": mine})).status_code == 200
        assert browser.cookies[MEDIATION_COOKIE] == mine

        asked = await browser.get("/", params={"token": theirs, "unit": JIANGHE})
        assert asked.status_code == 200, asked.text
        assert MEDIATION_COOKIE not in asked.headers.get("set-cookie", "")
        assert browser.cookies[MEDIATION_COOKIE] == mine
        assert TEXT["switch.title"][0] in asked.text  # Chinese by default
        assert f'data-identity="mediator {first} of {JIANGHE}"' in asked.text
        assert f'data-identity="mediator {second} of {JIANGHE}"' in asked.text
        assert 'id="switch-confirm"' in asked.text
        english = await browser.get("/", params={"token": theirs, "lang": "en"})
        assert TEXT["switch.title"][1] in english.text
        assert browser.cookies[MEDIATION_COOKIE] == mine

        # The current session goes on; a cross-site form cannot switch it.
        assert (await browser.get("/")).status_code == 200
        form = {"token": theirs, "next": f"/?unit={JIANGHE}"}
        cross_site = await browser.post(
            "/console/switch", data=form, headers={"Origin": "http://evil.example"}
        )
        assert (cross_site.status_code, cross_site.json()["error"]) == (403, "cross_site")
        assert browser.cookies[MEDIATION_COOKIE] == mine

        confirmed = await browser.post("/console/switch", data=form, headers={"Origin": mediation})
        assert confirmed.status_code == 303, confirmed.text
        assert confirmed.headers["location"] == f"/?unit={JIANGHE}"
        assert browser.cookies[MEDIATION_COOKIE] == theirs


async def test_a_link_with_ones_own_identity_just_renews_the_token(stack: Stack) -> None:
    mediation = stack.urls["mediation"]
    older, newer = (
        fresh_token(Role.SUPERVISOR, "hanyin-shuangru", "supervisor-shuangru") for _ in range(2)
    )
    async with httpx.AsyncClient(base_url=mediation, timeout=10, headers=PAGE) as browser:
        assert (
            await browser.get("/supervisor/metrics", params={"token": older})
        ).status_code == 200
        page = await browser.get("/supervisor/metrics", params={"token": newer})
        assert page.status_code == 200
        assert 'id="switch-confirm"' not in page.text
        assert browser.cookies[MEDIATION_COOKIE] == newer


async def test_the_operator_console_asks_too_and_switches_on_confirmation(stack: Stack) -> None:
    intake = stack.urls["intake"]
    mine = fresh_token(Role.OPERATOR, "hanyin", "operator-1")
    theirs = fresh_token(Role.OPERATOR, "hanyin", "operator-2")
    async with httpx.AsyncClient(base_url=intake, timeout=10, headers=PAGE) as browser:
        assert (await browser.get("/", params={"token": mine})).status_code == 200
        asked = await browser.get("/", params={"token": theirs})
        assert 'id="switch-confirm"' in asked.text
        assert browser.cookies[INTAKE_COOKIE] == mine
        form = {"token": theirs, "next": "/"}
        confirmed = await browser.post("/console/switch", data=form, headers={"Origin": intake})
        assert confirmed.status_code == 303, confirmed.text
        assert browser.cookies[INTAKE_COOKIE] == theirs
