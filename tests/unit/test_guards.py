"""What every service refuses before a handler sees it, as pure functions."""

import json

import pytest

from services.guards import MAX_DEPTH, inspect_body, inspect_form, inspect_json


def fields(problems: list[dict[str, object]]) -> list[object]:
    return [problem["field"] for problem in problems]


@pytest.mark.parametrize(
    "media_type", ["application/json", "text/plain", "", "application/x-www-form-urlencoded"]
)
def test_a_json_body_is_checked_whatever_its_content_type_says(media_type: str) -> None:
    body = json.dumps({"notes": "谈\u0000妥"}).encode()
    assert fields(inspect_body(body, media_type)) == ["notes"]


def test_form_names_and_values_are_checked() -> None:
    assert fields(inspect_form(b"name=%E9%95%87%E9%95%BF&note=a%00b")) == ["note"]
    assert fields(inspect_form("名=村\u0085".encode())) == ["名"]
    assert fields(inspect_form(b"description=%ED%A0%80")) == ["description"]  # not UTF-8
    assert inspect_form("description=两户吵架\t了\r\n".encode()) == []


def test_nesting_is_capped_before_anything_walks_it() -> None:
    at_the_limit = json.dumps(json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)).encode()
    assert inspect_json(at_the_limit) == []
    for depth in (MAX_DEPTH + 1, 600, 100_000):
        (problem,) = inspect_json(b"[" * depth + b"]" * depth)
        assert problem["field"] == "body"
        assert problem["code"] == "nested_too_deeply"
        assert problem["params"] == {"max_depth": MAX_DEPTH}
