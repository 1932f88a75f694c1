"""The pure parts of the operator's and the supervisor's desks: who of the county follows a
dispute, how lists and units are worded, and which alerts a console opens on."""

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.registry import hanyin
from contracts.vocabulary import AlertKind, Priority
from intake.api import filer_of, may_follow, operates_in_county
from notifier.models import StreamDelivery, Subscription, SubscriptionIn
from notifier.web import history
from services.auth import Principal, Role
from services.web.i18n import EN, ZH, Translator
from tests.factories import JIANGHE
from tests.fakes import InMemoryAlertLog
from tests.integration.notifier_support import alert

REGISTRY = hanyin()


def principal(role: Role, unit_id: str, subject: str = "someone") -> Principal:
    return Principal(subject=subject, role=role, unit_id=unit_id, token_id=subject)


def stored(village_id: str | None, filer: Principal | None = None) -> dict[str, Any]:
    private = {"filer": filer_of(filer)} if filer else {}
    return {"dispute": {"village_id": village_id}, "private": private}


def test_the_county_of_a_unit_is_found_by_walking_up() -> None:
    assert REGISTRY.county_of(f"{JIANGHE}-g01") == REGISTRY.top
    assert REGISTRY.county_of("hanyin") == REGISTRY.top
    assert REGISTRY.county_of("hanyin-nowhere") is None


@pytest.mark.parametrize("unit_id", ["hanyin", "hanyin-shuangru", "hanyin-chengguan", JIANGHE])
def test_every_operator_of_the_county_follows_its_disputes(unit_id: str) -> None:
    colleague = principal(Role.OPERATOR, unit_id)
    assert operates_in_county(colleague, stored(JIANGHE), REGISTRY)
    assert operates_in_county(colleague, stored(None), REGISTRY)  # at the county desk
    assert may_follow(colleague, stored(JIANGHE), REGISTRY)


@pytest.mark.parametrize(
    "caller",
    [
        principal(Role.OPERATOR, "hanyin-nowhere"),
        principal(Role.GRID_WORKER, "hanyin"),
        principal(Role.PETITION_AGENT, "hanyin"),
        principal(Role.MEDIATOR, JIANGHE),
    ],
)
def test_no_one_else_follows_a_dispute_they_did_not_file(caller: Principal) -> None:
    assert not may_follow(caller, stored(JIANGHE, principal(Role.OPERATOR, "hanyin")), REGISTRY)


def test_lists_are_written_the_way_each_language_writes_them() -> None:
    assert Translator(ZH).join(["甲", "乙"]) == "甲、乙"
    assert Translator(EN).join(["a", "b", "c"]) == "a, b, c"
    assert Translator(EN).join([]) == "none"
    kinds = [AlertKind.URGENT_RISK, AlertKind.ESCALATION]
    assert Translator(EN).labels("alert", kinds) == "Urgent risk, Escalation"
    assert Translator(ZH).labels("alert", kinds) == "紧急风险、案件升级"


def test_a_unit_is_read_by_its_name_in_the_page_language() -> None:
    jianghe = REGISTRY.units[JIANGHE]
    assert Translator(ZH).unit_name(jianghe) == "江河村"
    assert Translator(EN).unit_name(jianghe) == "Jianghe Village"


def console_stream(unit_id: str) -> Subscription:
    body = SubscriptionIn(
        unit_id=unit_id,
        kinds=list(AlertKind),
        min_priority=Priority.NORMAL,
        delivery=StreamDelivery(type="sse"),
        name=f"console:{unit_id}",
    )
    return Subscription.create(body, datetime.now(UTC))


async def test_a_console_opens_on_its_subtrees_latest_alerts_oldest_first() -> None:
    log = InMemoryAlertLog()
    ours = [alert(unit_id=JIANGHE) for _ in range(55)]
    elsewhere = alert(unit_id="hanyin-chengguan")
    await log.append([*ours[:30], elsewhere, *ours[30:]], datetime.now(UTC))
    shown = await history(log, console_stream("hanyin-shuangru"))
    assert [item["alert_id"] for item in shown] == [a.alert_id for a in ours[-50:]]
