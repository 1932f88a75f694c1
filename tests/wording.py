"""Checks that a fact handed to the consoles as a code reads whole in both languages."""

import re

from contracts.events import RoutingStep
from contracts.vocabulary import RoutingReason
from services.web.i18n import ZH, Translator, english

IDS = re.compile(r"[a-z]+(?:-[a-z0-9]+)+|\w*\d\w*")
"""Unit ids, case ids and numbers: facts shown as they are in either language."""


def assert_reason_worded(step: RoutingStep) -> None:
    """The step's code and facts give back its English, and a Chinese sentence with no
    placeholder left and no code left unworded (`county`, `land_requisition`...)."""
    assert step.reason_code in set(RoutingReason)
    assert english(f"route.{step.reason_code}", step.reason_params) == step.reason
    chinese = Translator(ZH).coded("route", step.reason_code, step.reason_params, step.reason)
    assert "{" not in chinese
    assert re.search("[\u4e00-\u9fff]", chinese), chinese
    assert not re.search("[A-Za-z]{3,}", IDS.sub("", chinese)), chinese
