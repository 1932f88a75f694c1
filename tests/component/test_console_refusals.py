"""A refused console page is a page in the reader's language; the same refusal to an API
client stays JSON with its code and parameters."""

import json
import re

import httpx
import pytest

from mediation.app import create_app
from mediation.settings import MediationSettings
from services.auth import Role
from services.web.i18n import EN, TEXT, ZH
from tests.auth import headers
from tests.fakes import InMemoryAuditTrail, InMemoryCaseStore, InMemoryMetricsStore

PAGE = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = create_app(
        MediationSettings(),
        store=InMemoryCaseStore(),
        metrics=InMemoryMetricsStore(),
        sweep=False,
        audit=InMemoryAuditTrail(),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mediation")


def refusal_text(html: str) -> str:
    found = re.search(r'<p class="error" id="refusal"[^>]*>([^<]*)</p>', html)
    assert found, html
    return found.group(1)


def signin_form(html: str) -> str:
    found = re.search(
        r'<form id="signin" method="post" action="/console/signin".*?</form>', html, re.S
    )
    assert found, html
    return found.group(0)


async def test_a_page_opened_without_signing_in_is_the_sign_in_page_in_chinese(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/?unit=hanyin", headers=PAGE)
    assert page.status_code == 401
    assert "bearer" in page.headers["www-authenticate"].lower()
    assert TEXT["signin.title"][0] in page.text
    assert 'name="next" value="/?unit=hanyin"' in signin_form(page.text)  # back here after
    english = await client.get("/?lang=en", headers=PAGE)
    assert TEXT["signin.user_name"][1] in signin_form(english.text)
    assert (await client.get("/")).json()["error"] == "missing_token"  # API clients


async def test_a_page_outside_the_jurisdiction_names_who_and_where(
    client: httpx.AsyncClient,
) -> None:
    mediator = headers(Role.MEDIATOR, "hanyin-shuangru-jianghe", "med-hanyin-shuangru-jianghe-1")
    page = await client.get("/?unit=hanyin-puxi", headers=PAGE | mediator)
    assert page.status_code == 403
    assert refusal_text(page.text) == "调解员（江河村）无权查看 蒲溪镇 的信息"  # names, not ids
    api = await client.get("/?unit=hanyin-puxi", headers=mediator)
    assert api.status_code == 403
    assert api.json()["error"] == "read_outside_unit"
    assert api.json()["detail"].startswith("mediator of hanyin-shuangru-jianghe may not read")


async def test_a_missing_case_page_and_the_embedded_table_follow_the_language(
    client: httpx.AsyncClient,
) -> None:
    admin = headers(Role.ADMIN)
    for language, column in ((ZH, 0), (EN, 1)):
        page = await client.get(f"/cases/nope?lang={language}", headers=PAGE | admin)
        assert page.status_code == 404
        assert TEXT["error.case_not_found"][column].replace("{case_id}", "nope") in page.text
        table = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', page.text)
        assert table is not None
        assert json.loads(table.group(1))["invalid.missing"] == TEXT["invalid.missing"][column]


async def test_a_page_that_does_not_exist_says_so_in_chinese(client: httpx.AsyncClient) -> None:
    stranger = await client.get("/nowhere", headers=PAGE)
    assert stranger.status_code == 401
    signin_form(stranger.text)  # nobody signed in learns nothing of the console's paths
    page = await client.get("/nowhere", headers=PAGE | headers(Role.ADMIN))
    assert page.status_code == 404
    assert refusal_text(page.text) == TEXT["error.http_404"][0]
    assert (await client.get("/nowhere")).json() == {"detail": "Not Found"}  # API clients
