"""People's accounts on the real servers: admins create them (API and users console), people
sign in and out on each console with a cookie of that console's own, a disabled account or a
reset password ends its sessions, and what nobody signed in sees is the sign-in page."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient, MongoClient

from contracts.registry import hanyin
from services.accounts import Accounts, AccountStore
from services.audit import AUDIT
from services.auth import Role, session_cookie
from services.launcher import DEMO_USERS, demo_password, print_demo_users
from services.web.i18n import TEXT, ZH, Translator
from tests.auth import SETTINGS, headers, token
from tests.factories import JIANGHE
from tests.integration.conftest import Infra, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

PAGE = {"Accept": "text/html,application/xhtml+xml"}
PASSWORD = "river-stone-4711"
SIGNIN_FORM = re.compile(r'<form id="signin" method="post" action="/console/signin"')
SIGNIN_ERROR = re.compile(r'<p class="error" id="signin-error"[^>]*>([^<]*)</p>')
MEDIATOR = f"med-{JIANGHE}-2"
"""Listed for Jianghe in the seed registry (and by no test that changes its unit's list)."""


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def create_user(
    stack: Stack, role: Role, unit_id: str = "hanyin", subject: str = "", name: str = ""
) -> httpx.Response:
    body = {
        "user_name": name or new_name(role.value.replace("_", "-")),
        "display_name": "测试用户",
        "password": PASSWORD,
        "role": role.value,
        "unit_id": unit_id,
        "subject": subject,
    }
    async with httpx.AsyncClient(timeout=10, headers=headers(Role.ADMIN)) as admin:
        return await admin.post(f"{stack.urls['router']}/v1/users", json=body)


async def user(stack: Stack, role: Role, unit_id: str = "hanyin", subject: str = "") -> str:
    created = await create_user(stack, role, unit_id, subject)
    assert created.status_code == 201, created.text
    return str(created.json()["user_name"])


async def sign_in(
    browser: httpx.AsyncClient, url: str, name: str, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    form = {"user_name": name, "password": password, "next": next_path}
    return await browser.post(f"{url}/console/signin", data=form, headers={"Origin": url})


@asynccontextmanager
async def browsing() -> AsyncIterator[httpx.AsyncClient]:
    """One cookie jar for every console, as a browser has (cookies do not tell ports apart)."""
    async with httpx.AsyncClient(timeout=10, headers=PAGE) as browser:
        yield browser


def is_signin_page(page: httpx.Response) -> bool:
    return page.headers["content-type"].startswith("text/html") and bool(
        SIGNIN_FORM.search(page.text)
    )


def signin_error(page: httpx.Response) -> str:
    found = SIGNIN_ERROR.search(page.text)
    assert found, page.text
    return found.group(1)


def cookie_attributes(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers
    return found[0].lower()


async def test_a_person_signs_in_lands_on_the_page_asked_for_and_signs_out(stack: Stack) -> None:
    intake = stack.urls["intake"]
    name = await user(stack, Role.OPERATOR)
    cookie = session_cookie("intake")
    async with browsing() as browser:
        asked = await browser.get(f"{intake}/?lang=en")
        assert asked.status_code == 401
        assert is_signin_page(asked)
        assert 'name="next" value="/?lang=en"' in asked.text

        signed = await sign_in(browser, intake, name, next_path="/?lang=en")
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == "/?lang=en"
        attributes = cookie_attributes(signed, cookie)
        assert "httponly" in attributes
        assert "samesite=strict" in attributes
        assert "max-age=43200" in attributes  # the token's 12 h, then gone

        page = await browser.get(f"{intake}/?lang=en")
        assert page.status_code == 200
        assert TEXT["operator.title"][1] in page.text
        assert f'data-identity="operator {name} of hanyin"' in page.text
        assert 'id="signout"' in page.text

        out = await browser.post(f"{intake}/console/signout", headers={"Origin": intake})
        assert out.status_code == 303
        assert out.headers["location"] == "/console/signin"
        cleared = cookie_attributes(out, cookie)
        assert "max-age=0" in cleared or "expires=thu, 01 jan 1970" in cleared
        assert cookie not in browser.cookies
        after = await browser.get(f"{intake}/")
        assert after.status_code == 401
        assert is_signin_page(after)


async def test_a_wrong_password_reads_exactly_as_an_unknown_user(stack: Stack) -> None:
    notifier = stack.urls["notifier"]
    name = await user(stack, Role.SUPERVISOR)
    async with browsing() as browser:
        wrong = await sign_in(browser, notifier, name, password="river-stone-0000")
        unknown = await sign_in(browser, notifier, new_name("nobody"))
        assert wrong.status_code == unknown.status_code == 401
        assert signin_error(wrong) == signin_error(unknown) == TEXT["error.wrong_credentials"][0]
        assert "set-cookie" not in wrong.headers
        assert f'value="{name}"' in wrong.text  # the name is kept, the password is not
        assert "river-stone" not in wrong.text


async def test_sign_in_is_limited_per_user_name_and_only_from_the_console_itself(
    stack: Stack,
) -> None:
    mediation = stack.urls["mediation"]
    name = await user(stack, Role.SUPERVISOR)
    async with browsing() as browser:
        other_console = stack.urls["notifier"]
        cross = await browser.post(
            f"{mediation}/console/signin",
            data={"user_name": name, "password": PASSWORD},
            headers={"Origin": other_console},
        )
        assert (cross.status_code, cross.json()["error"]) == (403, "cross_site")

        away = await sign_in(browser, mediation, name, next_path="//evil.example/")
        assert (away.status_code, away.headers["location"]) == (303, "/")

        answers = [
            (await sign_in(browser, mediation, name, password="river-stone-0000")).status_code
            for _ in range(6)
        ]
        assert answers == [401] * 5 + [429]
        held = await sign_in(browser, mediation, name)  # the right one too, for a while
        assert held.status_code == 429
        assert int(held.headers["retry-after"]) > 0
        elsewhere = await sign_in(browser, stack.urls["intake"], name)  # each replica its own
        assert elsewhere.status_code == 303


async def test_a_disabled_user_cannot_sign_in_and_their_open_session_stops(stack: Stack) -> None:
    notifier = stack.urls["notifier"]
    name = await user(stack, Role.SUPERVISOR, "hanyin-shuangru")
    async with browsing() as browser:
        assert (await sign_in(browser, notifier, name)).status_code == 303
        assert (await browser.get(f"{notifier}/")).status_code == 200
        stream = await browser.get(f"{notifier}/v1/subscriptions", headers={"Accept": "*/*"})
        assert stream.status_code == 200  # the console's API calls go with the session

        async with httpx.AsyncClient(timeout=10, headers=headers(Role.ADMIN)) as admin:
            disabled = await admin.post(f"{stack.urls['router']}/v1/users/{name}/disable")
        assert disabled.status_code == 200, disabled.text
        assert disabled.json()["disabled"] is True

        async def page_refused() -> bool:
            page = await browser.get(f"{notifier}/")
            return page.status_code == 401 and is_signin_page(page)

        await eventually(page_refused, timeout_s=15, what="the disabled user's session to stop")
        api = await browser.get(f"{notifier}/v1/subscriptions", headers={"Accept": "*/*"})
        assert (api.status_code, api.json()["error"]) == (401, "session_ended")
        again = await sign_in(browser, notifier, name)
        assert again.status_code == 401
        assert signin_error(again) == TEXT["error.wrong_credentials"][0]

        async with httpx.AsyncClient(timeout=10, headers=headers(Role.ADMIN)) as admin:
            enabled = await admin.post(f"{stack.urls['router']}/v1/users/{name}/enable")
        assert (enabled.status_code, enabled.json()["disabled"]) == (200, False)
        assert (await sign_in(browser, notifier, name)).status_code == 303
        assert (await browser.get(f"{notifier}/")).status_code == 200


async def test_a_disabled_supervisors_open_live_stream_ends(stack: Stack) -> None:
    notifier = stack.urls["notifier"]
    name = await user(stack, Role.SUPERVISOR, "hanyin-shuangru")
    async with browsing() as browser:
        assert (await sign_in(browser, notifier, name)).status_code == 303
        page = await browser.get(f"{notifier}/")
        found = re.search(r'data-stream="([^"]+)"', page.text)
        assert found is not None
        stream_path = found[1].replace("&amp;", "&")
        heartbeats = 0
        async with browser.stream(
            "GET", f"{notifier}{stream_path}", headers={"Accept": "text/event-stream"}, timeout=60
        ) as stream:
            assert stream.status_code == 200
            async for line in stream.aiter_lines():
                heartbeats += line.startswith(": keep-alive")
                if heartbeats == 1:  # the stream runs: now the account is disabled
                    async with httpx.AsyncClient(timeout=10, headers=headers(Role.ADMIN)) as admin:
                        url = f"{stack.urls['router']}/v1/users/{name}/disable"
                        assert (await admin.post(url)).status_code == 200
                assert heartbeats < 30, "the stream kept running for the disabled account"
    # It ended by itself within the session check's few seconds, long before its 300 s.
    assert heartbeats >= 1


async def test_enabling_a_user_again_does_not_bring_back_sessions_from_before(
    stack: Stack,
) -> None:
    notifier, router = stack.urls["notifier"], stack.urls["router"]
    name = await user(stack, Role.SUPERVISOR, "hanyin-shuangru")
    async with browsing() as browser:
        assert (await sign_in(browser, notifier, name)).status_code == 303
        old_session = dict(browser.cookies.items())
        async with httpx.AsyncClient(timeout=10, headers=headers(Role.ADMIN)) as admin:
            assert (await admin.post(f"{router}/v1/users/{name}/disable")).status_code == 200
            assert (await admin.post(f"{router}/v1/users/{name}/enable")).status_code == 200
    async with httpx.AsyncClient(timeout=10, cookies=old_session) as stale:

        async def refused() -> bool:
            answer = await stale.get(f"{notifier}/v1/subscriptions", headers={"Accept": "*/*"})
            return answer.status_code == 401 and answer.json()["error"] == "session_ended"

        await eventually(refused, timeout_s=15, what="the session from before to stay ended")


async def test_a_password_reset_ends_the_sessions_of_the_old_one(stack: Stack) -> None:
    intake, router = stack.urls["intake"], stack.urls["router"]
    name = await user(stack, Role.OPERATOR)
    async with browsing() as browser:
        assert (await sign_in(browser, intake, name)).status_code == 303
        async with httpx.AsyncClient(timeout=10, headers=headers(Role.ADMIN)) as admin:
            weak = await admin.post(f"{router}/v1/users/{name}/password", json={"password": "x"})
            assert weak.status_code == 422
            assert weak.json()["fields"][0]["field"] == "password"
            assert weak.json()["fields"][0]["code"] == "password_too_short"
            reset = await admin.post(
                f"{router}/v1/users/{name}/password", json={"password": "lake-cloud-8080"}
            )
            assert reset.status_code == 204, reset.text

        async def page_refused() -> bool:
            return (await browser.get(f"{intake}/")).status_code == 401

        await eventually(page_refused, timeout_s=15, what="the old password's session to stop")
        assert (await sign_in(browser, intake, name)).status_code == 401
        assert (await sign_in(browser, intake, name, "lake-cloud-8080")).status_code == 303
        assert (await browser.get(f"{intake}/")).status_code == 200


async def test_a_mediator_account_names_a_mediator_its_unit_lists(stack: Stack) -> None:
    unlisted = await create_user(stack, Role.MEDIATOR, JIANGHE, subject=f"med-{JIANGHE}-99")
    assert unlisted.status_code == 422
    fields = unlisted.json()["fields"]
    assert [(f["field"], f["code"]) for f in fields] == [("subject", "mediator_not_of_unit")]
    other_unit = await create_user(stack, Role.MEDIATOR, "hanyin-shuangru", subject=MEDIATOR)
    assert other_unit.json()["fields"][0]["field"] == "subject"
    no_unit = await create_user(stack, Role.OPERATOR, "hanyin-nowhere")
    assert [(f["field"], f["code"]) for f in no_unit.json()["fields"]] == [
        ("unit_id", "unknown_unit")
    ]
    name = new_name("mediator")
    assert (await create_user(stack, Role.MEDIATOR, JIANGHE, MEDIATOR, name)).status_code == 201
    taken = await create_user(stack, Role.OPERATOR, name=name)
    assert [(f["field"], f["code"]) for f in taken.json()["fields"]] == [
        ("user_name", "user_name_taken")
    ]
    mediation = stack.urls["mediation"]
    async with browsing() as browser:
        assert (await sign_in(browser, mediation, name)).status_code == 303
        desk = await browser.get(f"{mediation}/")
        assert desk.status_code == 200
        assert TEXT["mediator.title"][0] in desk.text
        assert f'data-identity="mediator {MEDIATOR} of {JIANGHE}"' in desk.text


async def test_admins_manage_users_in_the_users_console(stack: Stack) -> None:
    router = stack.urls["router"]
    origin = {"Origin": router}
    async with browsing() as browser:
        assert (await browser.get(f"{router}/console/users")).status_code == 401
        opened = await browser.get(f"{router}/console/users", params={"token": token(Role.ADMIN)})
        assert opened.status_code == 200
        name = new_name("operator")
        form = {
            "user_name": name,
            "display_name": "王接线",
            "password": PASSWORD,
            "role": "operator",
            "unit_id": "hanyin",
            "subject": "",
        }
        refused = await browser.post(
            f"{router}/console/users",
            data={**form, "role": "mediator", "unit_id": JIANGHE},
            headers=origin,
        )
        assert refused.status_code == 422
        why = Translator(ZH).format("invalid.mediator_not_of_unit", {"unit_id": JIANGHE})
        assert f'data-for="subject">{why}</p>' in refused.text
        created = await browser.post(f"{router}/console/users", data=form, headers=origin)
        assert created.status_code == 303, created.text
        listed = await browser.get(f"{router}{created.headers['location']}")
        assert 'data-done="created"' in listed.text
        assert f'data-user="{name}" data-disabled="false"' in listed.text
        reset = await browser.post(
            f"{router}/console/users/{name}/password",
            data={"password": "lake-cloud-8080"},
            headers=origin,
        )
        assert reset.status_code == 303
        cross = await browser.post(
            f"{router}/console/users/{name}/disable", headers={"Origin": stack.urls["intake"]}
        )
        assert cross.status_code in (401, 403)  # another console's page cannot act here
        disabled = await browser.post(f"{router}/console/users/{name}/disable", headers=origin)
        assert disabled.status_code == 303
        page = await browser.get(f"{router}/console/users")
        assert f'data-user="{name}" data-disabled="true"' in page.text
    async with browsing() as browser:
        operator = await browser.get(
            f"{router}/console/users", params={"token": token(Role.OPERATOR)}
        )
        assert (operator.status_code, 'id="create"' in operator.text) == (403, False)


async def test_every_change_to_an_account_is_audited(
    stack: Stack, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    router = stack.urls["router"]
    name = await user(stack, Role.OPERATOR)
    async with httpx.AsyncClient(timeout=10, headers=headers(Role.ADMIN)) as admin:
        reset = await admin.post(
            f"{router}/v1/users/{name}/password", json={"password": "lake-cloud-8080"}
        )
        assert reset.status_code == 204
        assert (await admin.post(f"{router}/v1/users/{name}/disable")).status_code == 200
    async with httpx.AsyncClient(timeout=10, headers=headers(Role.OPERATOR)) as operator:
        denied = await operator.post(f"{router}/v1/users/{name}/disable")
        assert denied.status_code == 403
    records = mongo[stack.database][AUDIT].find({"details.user_name": name})
    found = [(r["action"], r["actor"], r["outcome"]) async for r in records.sort("occurred_at")]
    assert found == [
        ("user.create", "admin-1", "allowed"),
        ("user.password.reset", "admin-1", "allowed"),
        ("user.disable", "admin-1", "allowed"),
    ]
    denials = mongo[stack.database][AUDIT].find({"action": "user.disable", "outcome": "denied"})
    assert "operator-1" in [r["actor"] async for r in denials]
    stored = await mongo[stack.database]["users"].find_one({"user_name": name})
    assert stored is not None
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(stored)
    assert "lake-cloud" not in str(stored)


async def test_signing_into_one_console_leaves_the_others_as_they_were(stack: Stack) -> None:
    intake, notifier = stack.urls["intake"], stack.urls["notifier"]
    operator, supervisor = await user(stack, Role.OPERATOR), await user(stack, Role.SUPERVISOR)
    async with browsing() as browser:
        assert (await sign_in(browser, intake, operator)).status_code == 303
        kept = browser.cookies[session_cookie("intake")]
        assert (await sign_in(browser, notifier, supervisor)).status_code == 303
        assert browser.cookies[session_cookie("intake")] == kept
        operator_page = await browser.get(f"{intake}/")
        assert operator_page.status_code == 200
        assert f'data-identity="operator {operator} of hanyin"' in operator_page.text
        supervisor_page = await browser.get(f"{notifier}/")
        assert f'data-identity="supervisor {supervisor} of hanyin"' in supervisor_page.text


async def test_without_a_session_pages_are_the_sign_in_page_and_apis_stay_json(
    stack: Stack,
) -> None:
    pages = {
        "intake": "/",
        "mediation": "/cases/C-nope",
        "notifier": "/",
        "router": "/console/users",
    }
    async with browsing() as browser:
        for service, path in pages.items():
            url = stack.urls[service]
            for asked in (path, "/no/such/page"):
                page = await browser.get(f"{url}{asked}")
                assert page.status_code == 401, (service, asked, page.text)
                assert is_signin_page(page), (service, asked)
            api = await browser.get(f"{url}/v1/no-such-thing")
            assert api.status_code in (401, 404)
            assert api.headers["content-type"] == "application/json"
        missing = await browser.get(f"{stack.urls['intake']}/v1/disputes/HY-20260101-000001")
        assert (missing.status_code, missing.json()["error"]) == (401, "missing_token")
        open311 = await browser.get(f"{stack.urls['intake']}/open311/v2/requests/x.json")
        assert open311.headers["content-type"].startswith("application/json")
        users = await browser.get(f"{stack.urls['router']}/v1/users")
        assert (users.status_code, users.json()["error"]) == (401, "missing_token")


def test_make_up_creates_one_demo_user_per_console_role_again_and_again(
    infra: Infra, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = f"test_demo_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MONGODB_URI", infra.mongodb_uri)
    monkeypatch.setenv("MONGODB_DATABASE", database)
    monkeypatch.setenv("TIAOJIE_ENV", "development")
    client: MongoClient[dict[str, Any]] = MongoClient(infra.mongodb_uri, tz_aware=True)
    try:
        print_demo_users()
        print_demo_users()  # idempotent: the same four accounts, their demo passwords again
        said = capsys.readouterr().out
        assert "fixed development passwords" in said
        assert "python -m services.auth issue" in said  # bearer tokens for curl remain
        stored = list(client[database]["users"].find({}, {"_id": 0}))
        assert sorted(u["user_name"] for u in stored) == sorted(u[2] for u in DEMO_USERS)
        registry = hanyin()
        for account in stored:
            role = Role(account["role"])
            assert f"{account['user_name']:<16} {demo_password(role)}" in said
            assert account["password_hash"].startswith("$argon2id$")
            if role is Role.MEDIATOR:
                assert registry.mediators[account["subject"]].unit_id == account["unit_id"]

        async def signs_in() -> str | None:
            reader: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_uri)
            try:
                accounts = Accounts(AccountStore(reader[database]), SETTINGS)
                return await accounts.sign_in("mediator-demo", demo_password(Role.MEDIATOR))
            finally:
                await reader.close()

        assert asyncio.run(signs_in()) is not None
    finally:
        client.drop_database(database)
        client.close()
