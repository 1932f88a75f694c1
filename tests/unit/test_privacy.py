import base64
import os

import pytest
from cryptography.exceptions import InvalidTag

from services.logging import mask_pii
from services.privacy import PrivacySettings, Sealer


def test_hash_ignores_formatting_but_not_the_number() -> None:
    sealer = Sealer()
    assert sealer.hash_identifier("139 1234 5678") == sealer.hash_identifier("13912345678")
    assert sealer.hash_identifier("13912345678") != sealer.hash_identifier("13912345679")
    assert "13912345678" not in sealer.hash_identifier("13912345678")


def test_sealed_envelope_opens_only_with_its_key() -> None:
    sealer = Sealer()
    envelope = sealer.seal({"phone": "13912345678"})
    assert "13912345678" not in envelope
    assert sealer.open(envelope) == {"phone": "13912345678"}
    other_key = base64.b64encode(os.urandom(32)).decode()
    stranger = Sealer(PrivacySettings(sealing_keys=f"dev1:{other_key}"))
    with pytest.raises(InvalidTag):
        stranger.open(envelope)


def test_rotated_key_still_opens_old_envelopes() -> None:
    old = Sealer()
    envelope = old.seal({"phone": "13912345678"})
    new_key = base64.b64encode(os.urandom(32)).decode()
    old_entry = PrivacySettings().sealing_keys
    rotated = Sealer(PrivacySettings(sealing_keys=f"k2:{new_key},{old_entry}"))
    assert rotated.open(envelope) == {"phone": "13912345678"}
    assert rotated.seal({"a": 1}).startswith("v1.k2.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 13912345678 now", "call 139****5678 now"),
        ("id 610921199001011234", "id 610921********1234"),
        ("id 61092119900101123X", "id 610921********123X"),
        ("order 1234567890123456789012", "order 1234567890123456789012"),
    ],
)
def test_log_masking(text: str, expected: str) -> None:
    assert mask_pii(text) == expected
