"""Refusals as machine-readable facts: a stable code and its parameters beside the English text.

API clients keep reading the English (`detail`, `message`); the consoles word the code in their
language from the translation table (services/web/i18n.py): `error.<code>` for a refusal,
`invalid.<code>` for a field (pydantic's error `type`, or one of `FieldProblem`).
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from fastapi import HTTPException
from pydantic_core import PydanticCustomError


class Refusal(StrEnum):
    """Codes of whole-request refusals (the `error` of the body)."""

    MISSING_TOKEN = "missing_token"  # noqa: S105 (a code, not a secret)
    INVALID_TOKEN = "invalid_token"  # noqa: S105
    TOKEN_EXPIRED = "token_expired"  # noqa: S105
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_UNIT = "unknown_unit"
    MEDIATOR_NOT_LISTED = "mediator_not_listed"
    READ_OUTSIDE_UNIT = "read_outside_unit"
    ACT_OUTSIDE_UNIT = "act_outside_unit"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    ACTING_AS_OTHER = "acting_as_other"
    NOT_ASSIGNED = "not_assigned"
    NOT_FILER = "not_filer"
    NOT_OF_UNIT = "not_of_unit"
    CASE_NOT_FOUND = "case_not_found"
    NOT_FOUND = "not_found"
    UNIT_NOT_FOUND = "unit_not_found"
    SUBSCRIPTION_NOT_FOUND = "subscription_not_found"
    ILLEGAL_TRANSITION = "illegal_transition"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    TOO_MANY_REQUESTS = "too_many_requests"
    TOO_MANY_STREAMS = "too_many_streams"
    HEADERS_TOO_LARGE = "headers_too_large"
    REQUEST_TIMEOUT = "request_timeout"
    UNAVAILABLE = "unavailable"
    SWITCH_IDENTITY = "switch_identity"
    CROSS_SITE = "cross_site"
    SESSION_ENDED = "session_ended"
    WRONG_CREDENTIALS = "wrong_credentials"
    USER_NOT_FOUND = "user_not_found"
    ASSIGNED_TO_OTHER = "assigned_to_other"
    MAY_NOT_REASSIGN = "may_not_reassign"
    MEDIATOR_HOLDS_CASES = "mediator_holds_cases"
    STALE_REVISION = "stale_revision"
    UNIT_HAS_UNITS = "unit_has_units"
    UNIT_HOLDS_CASES = "unit_holds_cases"


class FieldProblem(StrEnum):
    """Our own field-level codes; every other field code is pydantic's error type."""

    PHONE_INVALID = "phone_invalid"
    ID_NUMBER_INVALID = "id_number_invalid"
    ID_NUMBER_CHECKSUM = "id_number_checksum"
    EMAIL_INVALID = "email_invalid"
    UNKNOWN_VILLAGE = "unknown_village"
    UNKNOWN_GRID = "unknown_grid"
    UNKNOWN_UNIT = "unknown_unit"
    GRID_NOT_IN_VILLAGE = "grid_not_in_village"
    PLACE_REQUIRED = "place_required"
    IN_FUTURE = "in_future"
    TOO_FAR_BACK = "too_far_back"
    BEFORE_LAST_ENTRY = "before_last_entry"
    BEFORE_CASE = "before_case"
    DIGEST_NEEDS_PUSH = "digest_needs_push"
    LAT_LONG_PAIR = "lat_long_pair"
    LOCATION_REQUIRED = "location_required"
    CONTROL_CHARACTER = "control_character"
    LONE_SURROGATE = "lone_surrogate"
    FORBIDDEN_KEY = "forbidden_key"
    NESTED_TOO_DEEPLY = "nested_too_deeply"
    BODY_TOO_LARGE = "body_too_large"
    KEY_REUSED = "key_reused"
    WEBHOOK_TARGET_REFUSED = "webhook_target_refused"
    PASSWORD_TOO_SHORT = "password_too_short"  # noqa: S105 (a code, not a secret)
    PASSWORD_TOO_LONG = "password_too_long"  # noqa: S105
    PASSWORD_HAS_NAME = "password_has_name"  # noqa: S105
    PASSWORD_TOO_SIMPLE = "password_too_simple"  # noqa: S105
    USER_NAME_TAKEN = "user_name_taken"
    MEDIATOR_NOT_OF_UNIT = "mediator_not_of_unit"


def problem(code: FieldProblem, message: str, **params: Any) -> PydanticCustomError:
    """A validator's refusal under our own code; `message` may name params as `{name}`."""
    return PydanticCustomError(code.value, message, params or None)


def json_safe(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Parameters a browser can read: scalars and lists as they are, anything else as text."""

    def safe(value: Any) -> Any:
        if value is None or isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, list | tuple | set | frozenset):
            return [safe(item) for item in value]
        return str(value)

    return {key: safe(value) for key, value in (params or {}).items()}


def field_error(field: str, code: str, message: str, **params: Any) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code, "params": json_safe(params)}


class Refused(HTTPException):
    """An HTTP refusal naming its code and parameters; the body keeps FastAPI's `detail`."""

    def __init__(
        self,
        status_code: int,
        code: Refusal,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.code = code
        self.params = json_safe(params)

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "error": self.code.value, "params": self.params}


def refusal_body(code: Refusal, message: str, **params: Any) -> dict[str, Any]:
    """The JSON refusal the services answer without an exception: code, English, parameters."""
    return {"error": code.value, "message": message, "params": json_safe(params)}
