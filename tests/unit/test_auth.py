from datetime import timedelta

import pytest
from starlette.requests import Request

from services.auth import (
    AuthError,
    AuthSettings,
    Role,
    issue_token,
    session_cookie,
    token_of,
    verify_token,
)

JIANGHE = "hanyin-shuangru-jianghe"
K1 = AuthSettings(auth_keys="k1:first-secret-of-enough-length-0001")


def test_token_round_trip_carries_role_and_unit() -> None:
    token = issue_token(K1, subject="med-1", role=Role.MEDIATOR, unit_id=JIANGHE)
    principal = verify_token(K1, token)
    assert (principal.subject, principal.role, principal.unit_id) == (
        "med-1",
        Role.MEDIATOR,
        JIANGHE,
    )


def test_rotation_keeps_old_tokens_valid_until_their_key_is_removed() -> None:
    old = issue_token(K1, subject="s", role=Role.SUPERVISOR, unit_id="hanyin")
    rotated = AuthSettings(
        auth_keys="k2:second-secret-of-enough-length-02,k1:first-secret-of-enough-length-0001"
    )
    assert verify_token(rotated, old).role is Role.SUPERVISOR
    assert verify_token(
        rotated, issue_token(rotated, subject="s", role=Role.ADMIN, unit_id="hanyin")
    )
    retired = AuthSettings(auth_keys="k2:second-secret-of-enough-length-02")
    with pytest.raises(AuthError, match="unknown key id 'k1'"):
        verify_token(retired, old)


def test_tampered_and_expired_tokens_are_refused() -> None:
    token = issue_token(K1, subject="op", role=Role.OPERATOR, unit_id="hanyin")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload[:-2]}xx.{signature}"
    with pytest.raises(AuthError, match="invalid token"):
        verify_token(K1, forged)
    expired = issue_token(
        K1, subject="op", role=Role.OPERATOR, unit_id="hanyin", ttl=timedelta(seconds=-1)
    )
    with pytest.raises(AuthError, match="expired"):
        verify_token(K1, expired)
    with pytest.raises(AuthError):
        verify_token(K1, "not-a-token")


@pytest.mark.parametrize(
    ("role", "unit", "target", "read", "act"),
    [
        (Role.MEDIATOR, JIANGHE, JIANGHE, True, True),
        (Role.MEDIATOR, JIANGHE, "hanyin-shuangru", False, False),
        (Role.SUPERVISOR, "hanyin-shuangru", JIANGHE, True, False),
        (Role.SUPERVISOR, "hanyin-shuangru", "hanyin-puxi-qingping", False, False),
        (Role.ADMIN, "hanyin", JIANGHE, True, False),
        (Role.OPERATOR, "hanyin", JIANGHE, False, False),
    ],
)
def test_jurisdiction_rules(role: Role, unit: str, target: str, read: bool, act: bool) -> None:
    principal = verify_token(K1, issue_token(K1, subject="x", role=role, unit_id=unit))
    assert principal.can_read_unit(target) is read
    assert principal.can_act_on_unit(target) is act


def _request(method: str, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": method, "headers": raw, "query_string": b""})


def test_the_cookie_counts_for_reads_and_for_changes_from_the_console_itself() -> None:
    """SameSite does not tell one console from another (one host, other ports): a change
    counts only with this origin, port included."""
    name = session_cookie("intake")
    cookie = {"cookie": f"{name}=abc", "host": "127.0.0.1:8081"}
    assert token_of(_request("GET", cookie), name) == "abc"
    assert token_of(_request("GET", cookie)) is None  # no cookie named: bearer only
    assert token_of(_request("POST", cookie), name) is None
    own = {**cookie, "origin": "http://127.0.0.1:8081"}
    assert token_of(_request("POST", own), name) == "abc"
    other_console = {**cookie, "origin": "http://127.0.0.1:8084"}
    assert token_of(_request("POST", other_console), name) is None
    fetched = {**cookie, "sec-fetch-site": "same-site"}
    assert token_of(_request("POST", fetched), name) is None
    assert token_of(_request("POST", {**cookie, "authorization": "Bearer xyz"}), name) == "xyz"
    assert token_of(_request("GET", {"authorization": "Basic abc"}), name) is None


def test_each_service_has_a_cookie_of_its_own() -> None:
    names = {session_cookie(service) for service in ("intake", "router", "mediation", "notifier")}
    assert len(names) == 4
    assert session_cookie("notifier") == "tiaojie_session_notifier"
    with pytest.raises(ValueError, match="service name"):
        session_cookie("intake; Domain=evil.example")


def test_a_session_token_names_its_account_and_when_it_began() -> None:
    token = issue_token(K1, subject="med-1", role=Role.MEDIATOR, unit_id="hanyin", user="li")
    principal = verify_token(K1, token)
    assert (principal.user, principal.subject) == ("li", "med-1")
    assert principal.generation == 0
    issued = verify_token(K1, issue_token(K1, subject="x", role=Role.ADMIN, unit_id="hanyin"))
    assert issued.user is None
