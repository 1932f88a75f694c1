"""The pure parts of people's accounts: password policy, hashes, where a sign-in may lead, and
when a session stops counting."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.registry import hanyin
from services.accounts import (
    Account,
    Accounts,
    AccountSettings,
    AccountStore,
    hash_password,
    password_matches,
    password_problem,
    subject_problem,
)
from services.auth import AuthSettings, Role, issue_token, verify_token
from services.errors import FieldProblem, Refused
from services.web.signin import SignInLimits
from services.web.switch import local_path
from tests.factories import JIANGHE

AUTH = AuthSettings(auth_keys="k1:first-secret-of-enough-length-0001")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-1", FieldProblem.PASSWORD_TOO_SHORT),
        ("x" * 129, FieldProblem.PASSWORD_TOO_LONG),
        ("my-Li.Wei-password", FieldProblem.PASSWORD_HAS_NAME),
        ("abababababab", FieldProblem.PASSWORD_TOO_SIMPLE),
        ("river-stone-4711", None),
        ("长江黄河泰山黄山峨眉", None),
    ],
)
def test_password_policy(password: str, problem: FieldProblem | None) -> None:
    found = password_problem(password, "li.wei")
    assert (found[0] if found else None) == problem


def test_a_hash_matches_its_password_only() -> None:
    stored = hash_password("river-stone-4711")
    assert stored.startswith("$argon2id$")
    assert "river-stone" not in stored
    assert password_matches(stored, "river-stone-4711")
    assert not password_matches(stored, "river-stone-4712")
    assert not password_matches("not a hash", "river-stone-4711")


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/cases/C-1?lang=en", "/cases/C-1?lang=en"),
        ("/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("", "/"),
    ],
)
def test_a_sign_in_leads_only_to_a_page_of_this_console(target: str, kept: str) -> None:
    assert local_path(target) == kept


def test_a_mediator_account_names_a_mediator_of_its_unit() -> None:
    registry = hanyin()
    mediator = registry.mediators_of(JIANGHE)[0].id
    assert subject_problem(registry, Role.MEDIATOR, JIANGHE, mediator) is None
    assert subject_problem(registry, Role.MEDIATOR, "hanyin", mediator) is not None
    assert subject_problem(registry, Role.MEDIATOR, JIANGHE, "med-nobody") is not None
    assert subject_problem(registry, Role.OPERATOR, "hanyin", "anything") is None


class FakeStore(AccountStore):
    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.reads = 0

    async def find(self, user_name: str) -> dict[str, Any] | None:
        self.reads += 1
        return self.documents.get(user_name)


def _account(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC) - timedelta(minutes=1)
    account = Account(
        user_name="li.wei",
        display_name="李伟",
        role=Role.OPERATOR,
        unit_id="hanyin",
        subject="li.wei",
        created_at=now,
        updated_at=now,
    )
    return {**account.model_copy(update=changes).model_dump(), "password_hash": "unused"}


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_session_stops_once_its_account_is_disabled_within_the_cache_time() -> None:
    store, clock = FakeStore(), Clock()
    accounts = Accounts(store, AUTH, AccountSettings(session_check_s=5), clock)
    store.documents["li.wei"] = _account()
    token = issue_token(AUTH, subject="li.wei", role=Role.OPERATOR, unit_id="hanyin", user="li.wei")
    session = verify_token(AUTH, token)
    await accounts.check(session)
    store.documents["li.wei"] = _account(disabled=True)
    clock.now = 4.9
    await accounts.check(session)  # what was read 4.9 s ago still counts
    assert store.reads == 1
    clock.now = 5.0
    with pytest.raises(Refused) as ended:
        await accounts.check(session)
    assert ended.value.status_code == 401
    assert ended.value.code.value == "session_ended"


async def test_a_password_reset_ends_the_sessions_begun_before_it() -> None:
    store = FakeStore()
    accounts = Accounts(store, AUTH, AccountSettings(session_check_s=0))
    token = issue_token(AUTH, subject="li.wei", role=Role.OPERATOR, unit_id="hanyin", user="li.wei")
    session = verify_token(AUTH, token)
    store.documents["li.wei"] = _account()
    await accounts.check(session)
    store.documents["li.wei"] = _account(generation=1)  # however soon after the sign-in
    with pytest.raises(Refused):
        await accounts.check(session)
    renewed = issue_token(
        AUTH, subject="li.wei", role=Role.OPERATOR, unit_id="hanyin", user="li.wei", generation=1
    )
    await accounts.check(verify_token(AUTH, renewed))
    store.documents.clear()
    with pytest.raises(Refused):  # an account deleted from the database
        await accounts.check(session)


def test_failed_sign_ins_are_limited_per_user_name_and_per_address() -> None:
    settings = AccountSettings(user_burst=2, address_burst=3)
    limits = SignInLimits(Accounts(FakeStore(), AUTH, settings))
    for _ in range(2):
        assert limits.wait_s("li.wei", "10.0.0.1") == 0
        limits.failed("li.wei", "10.0.0.1")
    assert limits.wait_s("li.wei", "10.0.0.9") > 0  # that name, from anywhere
    assert limits.wait_s("wang.fang", "10.0.0.2") == 0
    limits.failed("wang.fang", "10.0.0.1")
    assert limits.wait_s("zhao.lei", "10.0.0.1") > 0  # that address, for any name
    assert limits.wait_s("zhao.lei", "10.0.0.2") == 0
