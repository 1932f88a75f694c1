from enum import StrEnum

import pytest
from starlette.requests import Request

from contracts.vocabulary import (
    AlertKind,
    CaseState,
    Category,
    Channel,
    HouseholdColor,
    PartyKind,
    Priority,
    RiskFlag,
    Tier,
)
from services.web.i18n import EN, TEXT, ZH, Translator, pick_language


def test_every_string_has_both_languages() -> None:
    for key, (zh, en) in TEXT.items():
        assert zh.strip(), key
        assert en.strip(), key


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("category", Category),
        ("risk", RiskFlag),
        ("party", PartyKind),
        ("color", HouseholdColor),
        ("tier", Tier),
        ("state", CaseState),
        ("alert", AlertKind),
        ("priority", Priority),
        ("channel", Channel),
    ],
)
def test_every_vocabulary_code_has_a_label(kind: str, codes: type[StrEnum]) -> None:
    for code in codes:
        assert f"{kind}.{code.value}" in TEXT


def request_with(query: str = "", cookie: str = "", accept: str = "") -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    scope = {"type": "http", "query_string": query.encode(), "headers": headers}
    return Request(scope)


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        ("", "", "", ZH),
        ("", "", "en-US,en;q=0.9", EN),
        ("", "", "en;q=0.5,zh-CN;q=0.9", ZH),
        ("", "", "fr-FR", ZH),
        ("", "lang=en", "zh-CN", EN),
        ("lang=zh-CN", "lang=en", "en", ZH),
        ("lang=xx", "", "en", EN),
    ],
)
def test_language_choice(query: str, cookie: str, accept: str, expected: str) -> None:
    assert pick_language(request_with(query, cookie, accept)) == expected


def test_translator_falls_back_to_the_key_so_missing_strings_show() -> None:
    assert Translator(EN)("category.neighbour") == "Neighbour dispute"
    assert Translator(ZH)("category.neighbour") == "邻里纠纷"
    assert Translator(EN)("no.such.key") == "no.such.key"
