"""Which kind of deployment this is, and the start-up check that keeps the code's development
secrets out of production.

`TIAOJIE_ENV=development` must be said: without it a service is in production, where it refuses
to start on a secret that is missing, short, or one of the development values published in this
code (anyone could sign an admin token, open a sealed identity or post as the WeChat bot).
`make up` and the test suite say development; the compose file says production.
"""

import base64
import binascii
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

ENV_VARIABLE = "TIAOJIE_ENV"
MIN_SECRET_BYTES = 32
"""HS256 wants a key at least as long as its hash (RFC 7518 §3.2), AES-256 exactly this; a
salt or a shared secret shorter than that is within reach of guessing."""


class Environment(StrEnum):
    PRODUCTION = "production"
    DEVELOPMENT = "development"


class UnknownEnvironmentError(ValueError):
    pass


def current_environment(environ: dict[str, str] | None = None) -> Environment:
    """Production unless the environment says development; a value that is neither is refused
    rather than guessed at."""
    raw = (os.environ if environ is None else environ).get(ENV_VARIABLE, "").strip().lower()
    if not raw:
        return Environment.PRODUCTION
    try:
        return Environment(raw)
    except ValueError:
        allowed = " or ".join(kind.value for kind in Environment)
        raise UnknownEnvironmentError(f"{ENV_VARIABLE} must be {allowed}, not {raw!r}") from None


@dataclass(frozen=True)
class Secret:
    """One variable's key material as the service uses it: named parts (key ids, or the
    variable's own name when it holds one secret) and the development values to refuse."""

    variable: str
    parts: dict[str, bytes]
    development: frozenset[bytes]
    encoding: str = ""
    """How the value is written, when it is not the bytes themselves (e.g. base64)."""
    exact_bytes: int | None = None
    """A key of a fixed size (AES-256), rather than at least MIN_SECRET_BYTES."""


def text_secret(variable: str, value: str, development: str) -> Secret:
    return Secret(variable, {variable: value.encode()}, frozenset({development.encode()}))


def keyed_secrets(variable: str, value: str, development: str) -> Secret:
    """`kid:secret,kid:secret` as AUTH_KEYS writes it."""
    parts = dict(_pairs(value))
    return Secret(variable, {k: v.encode() for k, v in parts.items()}, _values(development))


def keyed_base64_keys(variable: str, value: str, development: str) -> Secret:
    """`kid:base64key,...` as SEALING_KEYS writes it; a key that does not decode counts as
    empty, so it is named as too short."""
    parts = {key_id: _decoded(encoded) for key_id, encoded in _pairs(value)}
    development_keys = frozenset(_decoded(encoded) for _, encoded in _pairs(development))
    return Secret(variable, parts, development_keys, "base64-decoded ", exact_bytes=32)


def _pairs(value: str) -> list[tuple[str, str]]:
    entries = (entry.strip().partition(":") for entry in value.split(","))
    return [(key_id, secret) for key_id, _, secret in entries if key_id or secret]


def _values(value: str) -> frozenset[bytes]:
    return frozenset(secret.encode() for _, secret in _pairs(value))


def _decoded(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return b""


def secret_problems(secrets: Iterable[Secret], min_bytes: int = MIN_SECRET_BYTES) -> list[str]:
    """What is wrong with each secret for production, one line each naming the variable."""
    problems = []
    for secret in secrets:
        if not secret.parts:
            problems.append(f"{secret.variable} is not set")
        for name, material in secret.parts.items():
            part = secret.variable if name == secret.variable else f"{secret.variable} key {name!r}"
            if material in secret.development:
                problems.append(f"{part} is the development value published in the code")
            elif wrong_size := _size_problem(secret, material, min_bytes):
                problems.append(f"{part} is {len(material)} {secret.encoding}bytes; {wrong_size}")
    return problems


def _size_problem(secret: Secret, material: bytes, min_bytes: int) -> str | None:
    if secret.exact_bytes is not None:
        fits = len(material) == secret.exact_bytes
        return None if fits else f"exactly {secret.exact_bytes} are required"
    return None if len(material) >= min_bytes else f"at least {min_bytes} are required"


def check_secrets(service: str, secrets: Sequence[Secret]) -> None:
    """Refuse to start a production service on a weak secret (exit status 1 with the message);
    in development, say on stderr which development secrets it runs on."""
    try:
        environment = current_environment()
    except UnknownEnvironmentError as error:
        raise SystemExit(f"{service}: refusing to start: {error}") from None
    problems = secret_problems(secrets)
    if not problems:
        return
    if environment is Environment.DEVELOPMENT:
        weak = ", ".join(secret.variable for secret in secrets if secret_problems([secret]))
        print(
            f"{service}: {ENV_VARIABLE}=development: running on weak or development "
            f"secrets ({weak}); never with real data",
            file=sys.stderr,
        )
        return
    lines = "\n".join(f"  - {problem}" for problem in problems)
    raise SystemExit(
        f"{service}: refusing to start in production ({ENV_VARIABLE} is not 'development'):\n"
        f"{lines}\nSet each to a secret of your own of at least {MIN_SECRET_BYTES} bytes "
        f"(SEALING_KEYS: 32 random bytes in base64), or {ENV_VARIABLE}=development on a "
        "development machine."
    )
