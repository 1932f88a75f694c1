"""Identifiers that must never travel in clear: salted hashes for matching, sealed envelopes
(AES-GCM) for the people allowed to read them, and the finding of phone and ID numbers
written into free text (redacted there, masked in logs)."""

import base64
import hashlib
import hmac
import json
import os
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.deployment import Secret, keyed_base64_keys, text_secret

# A development key and salt so `make up` works on a fresh machine; they are public, so a
# production service refuses to start on them (services/deployment.py).
_DEV_KEY = base64.b64encode(hashlib.sha256(b"tiaojie-development-only").digest()).decode()
DEVELOPMENT_SEALING_KEYS = f"dev1:{_DEV_KEY}"
DEVELOPMENT_SALT = "tiaojie-development-salt"


class PrivacySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    sealing_keys: str = Field(
        default=DEVELOPMENT_SEALING_KEYS,
        description="Comma-separated key-id:base64-key (32 bytes); the first one seals.",
    )
    identifier_salt: str = Field(default=DEVELOPMENT_SALT)

    def sealing_secret(self) -> Secret:
        return keyed_base64_keys("SEALING_KEYS", self.sealing_keys, DEVELOPMENT_SEALING_KEYS)

    def salt_secret(self) -> Secret:
        """The salt keeps phone hashes from being reversed by hashing every number: a secret."""
        return text_secret("IDENTIFIER_SALT", self.identifier_salt, DEVELOPMENT_SALT)


class Sealer:
    def __init__(self, settings: PrivacySettings | None = None) -> None:
        settings = settings or PrivacySettings()
        self._keys: dict[str, AESGCM] = {}
        for entry in settings.sealing_keys.split(","):
            key_id, _, encoded = entry.strip().partition(":")
            self._keys[key_id] = AESGCM(base64.b64decode(encoded))
        self._current = settings.sealing_keys.split(",")[0].strip().partition(":")[0]
        self._salt = settings.identifier_salt.encode()

    def hash_identifier(self, value: str) -> str:
        """Same person, same hash, whatever the formatting; no way back to the number."""
        normalised = re.sub(r"[\s\-+]", "", value).upper()
        return hmac.new(self._salt, normalised.encode(), hashlib.sha256).hexdigest()[:32]

    def seal(self, data: dict[str, Any]) -> str:
        nonce = os.urandom(12)
        key_id = self._current
        sealed = self._keys[key_id].encrypt(nonce, json.dumps(data).encode(), key_id.encode())
        return f"v1.{key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, envelope: str) -> dict[str, Any]:
        _, key_id, payload = envelope.split(".", 2)
        raw = base64.urlsafe_b64decode(payload)
        data: dict[str, Any] = json.loads(
            self._keys[key_id].decrypt(raw[:12], raw[12:], key_id.encode())
        )
        return data


# Identifiers written into free text (descriptions, addresses, names) as people type them:
# spaced, dashed or dotted groups, a +86/0086 prefix, full-width digits, a lowercase x.
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_SEPARATOR = r"[ \t\u3000\-‐‑‒–—―－.．·・]{0,3}"
# Not inside a longer run of digits, nor a dashed or dotted token (a uuid, a decimal, a
# tracking number such as HY-20261205-000123).
_START = r"(?<![0-9０-９])(?<![0-9A-Za-z０-９][\-.．])"
_END = r"(?![0-9０-９])(?![\-.．][0-9A-Za-z０-９])"
_NOT_AFTER_A_LETTER = r"(?<![A-Za-z])"
_NOT_BEFORE_A_LETTER = r"(?![A-Za-z])"
"""For machine text (logs, events): hashes, envelopes and uuids glue digits to letters.
People write "tel13912345678" too, so free text does not ask for this."""


def _digit(allowed: str = "0-9") -> str:
    """One digit of `allowed` (a character-class body), ASCII or full-width."""
    return f"[{allowed}{allowed.translate(_FULL_WIDTH)}]"


def _grouped(*groups: str) -> str:
    """Groups of digits that may be split by separators where people split them."""
    return _SEPARATOR.join(groups)


_D = _digit()
_MOBILE_IN_TEXT = (
    rf"(?:[(（]?(?:[+＋]|{_digit('0')}{{2}})?{_digit('8')}{_digit('6')}[)）]?{_SEPARATOR})?"
    + _grouped(_digit("1") + _digit("3-9") + _D, _D, _D * 3, _D * 4)
)
_LANDLINE_IN_TEXT = rf"[(（]?{_digit('0')}{_digit('1-9')}{_D}{_D}?[)）]?{_SEPARATOR}" + _grouped(
    _digit("2-9") + _D * 2 + f"{_D}?", _D * 4
)
# Region (6), birth date (8, year 1xxx/2xxx, month 0x/1x, day 0x-3x), sequence (3), check.
_ID_NUMBER_IN_TEXT = _grouped(
    _digit("1-9"),
    *[_D] * 5,
    _digit("12"),
    *[_D] * 3,
    _digit("01"),
    _D,
    _digit("0-3"),
    *[_D] * 4,
    "[0-9０-９XxＸｘ]",
)
_IDENTIFIER = (
    rf"{_START}(?:(?P<id_number>{_ID_NUMBER_IN_TEXT})|(?P<mobile>{_MOBILE_IN_TEXT})"
    rf"|(?P<landline>{_LANDLINE_IN_TEXT})){_END}"
)
_IN_FREE_TEXT = re.compile(_IDENTIFIER)
_IN_MACHINE_TEXT = re.compile(_NOT_AFTER_A_LETTER + _IDENTIFIER + _NOT_BEFORE_A_LETTER)
PLACEHOLDERS = {"id_number": "[身份证号]", "mobile": "[电话]", "landline": "[电话]"}
"""What stands in free text where an identifier was: the kind of thing, never a digit of it."""


def _placeholder(kind: str, _: str) -> str:
    return PLACEHOLDERS[kind]


def _pattern(machine_text: bool) -> re.Pattern[str]:
    return _IN_MACHINE_TEXT if machine_text else _IN_FREE_TEXT


def redact_identifiers(
    text: str, replace: Callable[[str, str], str] = _placeholder, *, machine_text: bool = False
) -> str:
    """Every phone or resident ID number in `text`, however it is written, replaced by
    `replace(kind, as_written)`, kind being `id_number`, `mobile` or `landline`.
    `machine_text`: a number right after a letter is part of a token, not a phone."""

    def substitute(found: re.Match[str]) -> str:
        return replace(found.lastgroup or "mobile", found.group(0))

    return _pattern(machine_text).sub(substitute, text)


def identifiers_in(text: str, *, machine_text: bool = False) -> list[str]:
    """Each identifier of `text` as it is written there."""
    return [found.group(0) for found in _pattern(machine_text).finditer(text)]


def identifier_digits(as_written: str) -> str:
    """`＋86 139-1234-5678` → `8613912345678`: the digits (and a check X) alone, in ASCII."""
    plain = unicodedata.normalize("NFKC", as_written)
    return "".join(char for char in plain.upper() if char.isdigit() or char == "X")
