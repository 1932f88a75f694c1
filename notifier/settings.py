from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from notifier.targets import AllowList
from services.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore")

    service_name: str = "notifier"
    port: int = 8084
    group_id: str = "notifier"

    subscriptions_refresh_s: float = Field(
        default=30.0, gt=0, description="Reload the subscription cache this often."
    )
    # Retries of one webhook or e-mail delivery: exponential backoff with jitter.
    delivery_attempts: int = Field(default=5, ge=1, le=20)
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_max_s: float = Field(default=60.0, gt=0)
    delivery_timeout_s: float = Field(default=10.0, gt=0)
    delivery_lease_s: float = Field(
        default=120.0,
        gt=0,
        description="A claimed delivery not renewed for this long is resumed by the sweep.",
    )
    sweep_interval_s: float = Field(default=15.0, gt=0)
    max_concurrent_deliveries: int = Field(default=20, ge=1)
    digest_tick_s: float = Field(default=10.0, gt=0, description="How often due digests go.")
    stream_heartbeat_s: float = Field(
        default=15.0, gt=0, description="A live stream quiet this long sends a keep-alive."
    )
    stream_max_s: float = Field(
        default=300.0,
        gt=0,
        description="End a stream after this long; the client reconnects with Last-Event-ID, "
        "so no stream holds up a shutdown or a proxy for ever.",
    )
    stream_max_per_token: int = Field(
        default=5, ge=1, description="Live streams one token may hold at once (429 past it)."
    )
    stream_max_per_process: int = Field(
        default=200, ge=1, description="Live streams this process holds in all (429 past it)."
    )
    stream_retry_after_s: int = Field(
        default=30, ge=1, description="Retry-After of a stream refused for want of a slot."
    )

    webhook_allow: str = Field(
        default="",
        description="Private webhook targets an intranet needs, comma-separated: networks "
        "(10.1.0.0/16, or one address) and host names (hooks.intranet.example). Every other "
        "loopback, private, link-local or metadata target is refused.",
    )

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "tiaojie-alerts@localhost"

    @field_validator("webhook_allow")
    @classmethod
    def _allow_list_parses(cls, value: str) -> str:
        AllowList.parse(value)  # a mistyped entry stops the start, naming itself
        return value

    def webhook_allow_list(self) -> AllowList:
        return AllowList.parse(self.webhook_allow)

    @model_validator(mode="after")
    def _lease_outlives_an_attempt(self) -> Self:
        """The lease is renewed before each attempt; it must cover the attempt and the wait
        before the next one, or the sweep would resume a delivery that is still running."""
        if self.delivery_lease_s <= self.delivery_timeout_s + self.retry_max_s:
            raise ValueError("delivery_lease_s must exceed delivery_timeout_s + retry_max_s")
        return self
