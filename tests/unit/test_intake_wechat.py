import pytest

from contracts.vocabulary import Category, RiskFlag
from intake.wechat import Verdict, read_message


@pytest.mark.parametrize(
    ("text", "verdict", "category"),
    [
        ("隔壁老张家又和我们吵架了，排水沟堵了", Verdict.DISPUTE, Category.NEIGHBOUR),
        ("包工头欠了我们三个月工资", Verdict.DISPUTE, Category.WAGE_ARREARS),
        ("楼上漏水把我家天花板泡坏了", Verdict.DISPUTE, Category.NEIGHBOUR),
        ("有人对村里分配不满", Verdict.NEEDS_TRIAGE, Category.OTHER),
        ("关于开展矛盾纠纷排查的通知", Verdict.NEEDS_TRIAGE, Category.OTHER),
        ("@所有人 明天开会", Verdict.NOT_A_DISPUTE, Category.OTHER),
        ("今天天气不错", Verdict.NOT_A_DISPUTE, Category.OTHER),
    ],
)
def test_messages_are_read_by_the_rules(text: str, verdict: Verdict, category: Category) -> None:
    reading = read_message(text)
    assert (reading.verdict, reading.category) == (verdict, category)
    assert reading.reason.endswith("(wechat-rules-2026.11)")


def test_risk_words_raise_flags_and_never_pass_as_nothing() -> None:
    fight = read_message("他们打起来了，有人拿着刀")
    assert fight.verdict is Verdict.DISPUTE
    assert RiskFlag.WEAPON in fight.risk_flags
    despair = read_message("我真的不想活了")
    assert despair.verdict is Verdict.NEEDS_TRIAGE
    assert despair.risk_flags == (RiskFlag.SELF_HARM,)
