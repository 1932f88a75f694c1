"""A signed token counts only for a unit (and a mediator) the registry in force lists; a
console link with another person's token asks before it replaces the signed-in one."""

from dataclasses import replace

import pytest

from contracts.registry import Registry, hanyin
from services.auth import (
    AuthSettings,
    Role,
    SwitchAsked,
    ask_before_switching,
    authenticate,
    issue_token,
)
from services.errors import Refused
from services.web.switch import local_path

JIANGHE = "hanyin-shuangru-jianghe"
KEYS = "k1:a-signing-key-of-sufficient-length-0123456789"


def settings(registry: Registry, *, mediators: bool = True) -> AuthSettings:
    auth = AuthSettings(auth_keys=KEYS)
    auth.recognise(lambda: registry, mediators=mediators)
    return auth


def signed(role: Role, unit_id: str, subject: str) -> str:
    return issue_token(AuthSettings(auth_keys=KEYS), subject=subject, role=role, unit_id=unit_id)


def refusal(auth: AuthSettings, token: str) -> tuple[int, str]:
    with pytest.raises(Refused) as refused:
        authenticate(auth, token)
    return refused.value.status_code, refused.value.code.value


def test_a_unit_the_registry_does_not_know_is_refused_for_every_role() -> None:
    auth = settings(hanyin())
    for role in Role:
        assert refusal(auth, signed(role, "hanyin-nowhere", "x")) == (403, "unknown_unit")
    assert authenticate(auth, signed(Role.OPERATOR, "hanyin", "operator-1")).unit_id == "hanyin"


def test_a_mediator_counts_only_where_their_unit_lists_them() -> None:
    auth = settings(hanyin())
    assert authenticate(auth, signed(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-1"))
    unlisted = signed(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-9")
    assert refusal(auth, unlisted) == (403, "mediator_not_listed")
    elsewhere = signed(Role.MEDIATOR, "hanyin-shuangru", f"med-{JIANGHE}-1")
    assert refusal(auth, elsewhere) == (403, "mediator_not_listed")


def test_the_registry_in_force_decides_at_each_request() -> None:
    registry = hanyin()
    auth = AuthSettings(auth_keys=KEYS)
    auth.recognise(lambda: registry, mediators=True)
    newcomer = signed(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-9")
    assert refusal(auth, newcomer) == (403, "mediator_not_listed")
    [first, *_] = registry.mediators_of(JIANGHE)
    registry = registry.with_mediators(JIANGHE, [replace(first, id=f"med-{JIANGHE}-9")])
    assert authenticate(auth, newcomer).subject == f"med-{JIANGHE}-9"
    removed = signed(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-1")
    assert refusal(auth, removed) == (403, "mediator_not_listed")


def test_where_mediators_are_not_followed_only_the_unit_is_checked() -> None:
    auth = settings(hanyin(), mediators=False)
    assert authenticate(auth, signed(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-9"))


def test_a_link_with_another_identity_asks_and_ones_own_does_not() -> None:
    auth = settings(hanyin())
    mine = signed(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-1")
    with pytest.raises(SwitchAsked) as asked:
        ask_before_switching(auth, mine, signed(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-2"))
    assert asked.value.current.subject == f"med-{JIANGHE}-1"
    assert asked.value.offered.subject == f"med-{JIANGHE}-2"
    ask_before_switching(auth, mine, signed(Role.MEDIATOR, JIANGHE, f"med-{JIANGHE}-1"))
    ask_before_switching(auth, None, signed(Role.ADMIN, "hanyin", "admin-1"))
    ask_before_switching(auth, "not-a-token", signed(Role.ADMIN, "hanyin", "admin-1"))


@pytest.mark.parametrize(
    ("target", "goes_to"),
    [
        ("/?unit=hanyin", "/?unit=hanyin"),
        ("/cases/c1", "/cases/c1"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_after_switching_only_a_path_of_this_console_is_followed(target: str, goes_to: str) -> None:
    assert local_path(target) == goes_to
