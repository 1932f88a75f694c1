"""Reading a village WeChat group message: is it a dispute? Pure, with the rules as data
(`intake/data/wechat_rules.json`) so the county can tune them without a release."""

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from contracts.vocabulary import Category, RiskFlag

RULES_PATH = Path(__file__).with_name("data") / "wechat_rules.json"


class Verdict(StrEnum):
    DISPUTE = "dispute"
    NEEDS_TRIAGE = "needs_triage"
    NOT_A_DISPUTE = "not_a_dispute"


@dataclass(frozen=True)
class Reading:
    verdict: Verdict
    reason: str
    category: Category
    risk_flags: tuple[RiskFlag, ...]


@dataclass(frozen=True)
class Rules:
    version: str
    clear: tuple[re.Pattern[str], ...]
    unclear: tuple[re.Pattern[str], ...]
    notice: tuple[re.Pattern[str], ...]
    categories: dict[Category, tuple[re.Pattern[str], ...]]
    risk_flags: dict[RiskFlag, tuple[re.Pattern[str], ...]]


def _compile(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


def load_rules(path: Path = RULES_PATH) -> Rules:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Rules(
        version=raw["version"],
        clear=_compile(raw["clear"]),
        unclear=_compile(raw["unclear"]),
        notice=_compile(raw["notice"]),
        categories={Category(code): _compile(words) for code, words in raw["categories"].items()},
        risk_flags={RiskFlag(code): _compile(words) for code, words in raw["risk_flags"].items()},
    )


@cache
def default_rules() -> Rules:
    return load_rules()


def _matches(patterns: tuple[re.Pattern[str], ...], text: str) -> list[str]:
    return [found.group(0) for pattern in patterns if (found := pattern.search(text))]


def _category(rules: Rules, text: str) -> Category:
    """The category with most keyword hits; `other` when none hits."""
    hits = {code: len(_matches(words, text)) for code, words in rules.categories.items()}
    best = max(hits, key=lambda code: hits[code], default=Category.OTHER)
    return best if hits.get(best) else Category.OTHER


def _quote(words: list[str]) -> str:
    return "、".join(dict.fromkeys(words))


def read_message(text: str, rules: Rules | None = None) -> Reading:
    rules = rules or default_rules()
    risks = tuple(flag for flag, words in rules.risk_flags.items() if _matches(words, text))
    clear, unclear, notice = (
        _matches(rules.clear, text),
        _matches(rules.unclear, text),
        _matches(rules.notice, text),
    )
    category = _category(rules, text)
    if clear and not notice:
        verdict, reason = Verdict.DISPUTE, f"dispute words: {_quote(clear)}"
    elif clear:
        verdict = Verdict.NEEDS_TRIAGE
        reason = f"dispute words ({_quote(clear)}) in what reads as a notice ({_quote(notice)})"
    elif risks:
        verdict = Verdict.NEEDS_TRIAGE
        reason = f"risk words without dispute words: {', '.join(risks)}"
    elif unclear:
        verdict, reason = Verdict.NEEDS_TRIAGE, f"possible dispute words: {_quote(unclear)}"
    elif notice:
        verdict, reason = Verdict.NOT_A_DISPUTE, f"a notice: {_quote(notice)}"
    else:
        verdict, reason = Verdict.NOT_A_DISPUTE, "no dispute, risk or notice words"
    return Reading(verdict, f"{reason} ({rules.version})", category, risks)
