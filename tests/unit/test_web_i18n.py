import pytest
from starlette.requests import Request

from services.web.i18n import EN, TEXT, ZH, Translator, pick_language


def test_every_string_has_both_languages() -> None:
    for key, (zh, en) in TEXT.items():
        assert zh.strip(), key
        assert en.strip(), key


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


def test_a_sentence_words_its_facts_by_kind_and_joins_lists() -> None:
    params = {"action": "fail", "state": "assigned", "allowed_actions": ["accept", "withdraw"]}
    assert Translator(ZH).format("error.illegal_transition", params) == (
        "案件当前状态为“已分派”，不能“标记失败”；现在可办理：接案、撤回"
    )
    waiting = params | {"allowed_actions": [], "why": "awaiting_reroute"}
    assert Translator(EN).format("error.illegal_transition", waiting) == (
        "“Mark failed” is not possible while the case is “Assigned”; possible now: none; "
        "the case is waiting to move one tier up"
    )


def test_numbers_read_with_thousands_and_unknown_codes_show_as_they_are() -> None:
    params = {"amount_yuan": 600000.0, "limit": 500000.0, "tier": "county"}
    assert Translator(ZH).format("route.amount", params) == (
        "涉及金额¥600,000，不低于¥500,000，由县级调解"
    )
    assert Translator(ZH).format("route.category", {"category": "new_kind", "tier": "town"}) == (
        "new_kind属镇级事项"
    )


def test_a_code_the_table_does_not_know_keeps_the_servers_words() -> None:
    assert Translator(ZH).coded("invalid", "brand_new_type", {}, "Server words") == "Server words"
    assert Translator(ZH).coded("route", None, None, "decided before codes") == (
        "decided before codes"
    )
