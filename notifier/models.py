"""Subscriptions: the HTTP bodies (unknown fields forbidden) and the stored form."""

import secrets
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from contracts.ids import UnitId
from contracts.registry import in_force
from contracts.vocabulary import AlertKind, Priority
from services.errors import FieldProblem, problem

WebhookFormat = Literal["json", "wecom"]


def _email(value: Any, handler: ValidatorFunctionWrapHandler) -> str:
    """pydantic words a bad address as a generic value error: give it a code of its own."""
    try:
        address: str = handler(value)
    except ValidationError:
        raise problem(FieldProblem.EMAIL_INVALID, "not a valid e-mail address") from None
    return address


Email = Annotated[EmailStr, WrapValidator(_email)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class WebhookDelivery(_Body):
    """POST to a URL, signed with HMAC-SHA256. `wecom` posts a WeChat Work group-robot message."""

    type: Literal["webhook"]
    url: HttpUrl = Field(description="http or https URL that receives the POST.")
    format: WebhookFormat = Field(default="json", description="json, or wecom (企业微信群机器人).")
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="HMAC key; generated and returned once when left out.",
    )


class EmailDelivery(_Body):
    type: Literal["email"]
    to: list[Email] = Field(min_length=1, max_length=20, description="Recipients.")


class StreamDelivery(_Body):
    """Read alerts live from GET /v1/alerts/stream (Server-Sent Events)."""

    type: Literal["sse"]


Delivery = Annotated[WebhookDelivery | EmailDelivery | StreamDelivery, Field(discriminator="type")]


class SubscriptionIn(_Body):
    """A supervisor's standing request to hear about alerts in a jurisdiction."""

    unit_id: UnitId = Field(description="County, town or village; covers its whole subtree.")
    kinds: list[AlertKind] = Field(
        default_factory=lambda: list(AlertKind), min_length=1, description="Alert kinds wanted."
    )
    min_priority: Priority = Field(default=Priority.NORMAL, description="Least pressing wanted.")
    delivery: Delivery
    digest_minutes: float | None = Field(
        default=None,
        gt=0,
        le=1440,
        description="Batch non-urgent alerts into one message every N minutes; urgent go at once.",
    )
    name: str = Field(default="", max_length=200, description="Who subscribed, for people.")

    @field_validator("unit_id")
    @classmethod
    def _known_unit(cls, value: str) -> str:
        if in_force().unit(value) is None:
            raise problem(FieldProblem.UNKNOWN_UNIT, "unknown unit '{unit_id}'", unit_id=value)
        return value

    @field_validator("kinds")
    @classmethod
    def _distinct(cls, value: list[AlertKind]) -> list[AlertKind]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _digest_needs_a_push_channel(self) -> Self:
        if self.digest_minutes is not None and isinstance(self.delivery, StreamDelivery):
            raise problem(
                FieldProblem.DIGEST_NEEDS_PUSH,
                "digest_minutes applies to webhook and email deliveries only",
            )
        return self


class Subscription(BaseModel):
    """A stored subscription; webhook secrets are always set here."""

    model_config = ConfigDict(frozen=True)

    subscription_id: str
    unit_id: str
    kinds: tuple[AlertKind, ...]
    min_priority: Priority
    delivery: Delivery
    digest_minutes: float | None = None
    name: str = ""
    created_at: AwareDatetime

    @classmethod
    def create(cls, body: SubscriptionIn, now: datetime) -> "Subscription":
        delivery = body.delivery
        if isinstance(delivery, WebhookDelivery) and delivery.secret is None:
            delivery = delivery.model_copy(update={"secret": secrets.token_urlsafe(32)})
        return cls(
            subscription_id=secrets.token_hex(12),
            unit_id=body.unit_id,
            kinds=tuple(body.kinds),
            min_priority=body.min_priority,
            delivery=delivery,
            digest_minutes=body.digest_minutes,
            name=body.name,
            created_at=now,
        )

    def to_document(self) -> dict[str, Any]:
        document = self.model_dump(mode="json", exclude={"subscription_id", "created_at"})
        return {"_id": self.subscription_id, "created_at": self.created_at, **document}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Subscription":
        fields = {key: value for key, value in document.items() if key != "_id"}
        return cls.model_validate({"subscription_id": document["_id"], **fields})

    def public(self) -> dict[str, Any]:
        """What GET shows: everything but the webhook secret."""
        view = self.model_dump(mode="json")
        view["delivery"].pop("secret", None)
        return view
