"""Phone and ID numbers in free text are found however they are written, and only they."""

from datetime import UTC, datetime

import pytest

from contracts.registry import hanyin
from intake.models import HotlineReport
from intake.service import Identity, hotline_draft
from services.logging import mask_pii
from services.privacy import (
    PLACEHOLDERS,
    Sealer,
    identifier_digits,
    identifiers_in,
    redact_identifiers,
)
from tests.factories import hotline_body
from tests.pii_corpus import MACHINE_TOKENS, NOT_IDENTIFIERS, SPELLINGS


@pytest.mark.parametrize(("written", "kind"), SPELLINGS)
def test_every_spelling_is_redacted_to_its_kind(written: str, kind: str) -> None:
    placeholder = PLACEHOLDERS[kind]
    assert redact_identifiers(f"来电 {written} 反映") == f"来电 {placeholder} 反映"
    assert redact_identifiers(f"电话{written}，") == f"电话{placeholder}，"
    assert redact_identifiers(f"电话：{written}。") == f"电话：{placeholder}。"
    assert identifiers_in(f"找他 {written} 即可", machine_text=True) == [written]


@pytest.mark.parametrize("text", NOT_IDENTIFIERS)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert redact_identifiers(f"见 {text} 说明") == f"见 {text} 说明"
    assert identifiers_in(text) == []


def test_two_numbers_side_by_side_are_both_redacted() -> None:
    assert redact_identifiers("13987654321 13812345678") == "[电话] [电话]"
    assert redact_identifiers("13987654321、0916-2345678") == "[电话]、[电话]"


def test_a_number_glued_to_a_word_is_redacted_in_free_text_only() -> None:
    assert redact_identifiers("tel13987654321") == "tel[电话]"
    assert identifiers_in("tel13987654321", machine_text=True) == []


@pytest.mark.parametrize("token", MACHINE_TOKENS)
def test_hashes_envelopes_and_uuids_are_not_identifiers_in_machine_text(token: str) -> None:
    assert identifiers_in(f'{{"id": "{token}"}}', machine_text=True) == []
    assert mask_pii(f"dispute {token} routed") == f"dispute {token} routed"


@pytest.mark.parametrize(("written", "kind"), SPELLINGS)
def test_logs_keep_only_the_ends_of_each_spelling(written: str, kind: str) -> None:
    digits = identifier_digits(written)
    masked = mask_pii(f"来电 {written} 反映")
    assert written not in masked
    assert "****" in masked
    assert digits[-8:-4] not in masked.replace("来电", "")


def test_identifier_digits_reads_full_width_and_lowercase_x() -> None:
    assert identifier_digits("＋８６ １３９-8765 4321") == "8613987654321"
    assert identifier_digits("11010519491231002x") == "11010519491231002X"


def test_the_hotline_draft_redacts_description_address_and_names() -> None:
    spellings = "；".join(written for written, _ in SPELLINGS)
    body = hotline_body(
        description=f"两户吵架，号码 {spellings}；订单 HY-20261205-000123，欠款12000元",
        address_text="江河村 0916-2345678 旁",
        parties=[{"name": "王师傅 139-8765-4321", "phone": "13912345678"}],
    )
    identity = Identity("d-1", "HY-20261205-000001", datetime.now(UTC))
    draft = hotline_draft(HotlineReport.model_validate(body), identity, Sealer(), hanyin(), 5)
    placeholders = "；".join(PLACEHOLDERS[kind] for _, kind in SPELLINGS)
    dispute = draft.dispute
    assert dispute.description == (
        f"两户吵架，号码 {placeholders}；订单 HY-20261205-000123，欠款12000元"
    )
    assert dispute.address_text == "江河村 [电话] 旁"
    assert dispute.parties[0].name == "王师傅 [电话]"
    assert dispute.parties[0].phone_hash == Sealer().hash_identifier("13912345678")
