"""Identifiers that must never travel in clear: salted hashes for matching, sealed envelopes
(AES-GCM) for the people allowed to read them."""

import base64
import hashlib
import hmac
import json
import os
import re
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
