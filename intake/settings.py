from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.deployment import Secret, text_secret
from services.privacy import PrivacySettings
from services.settings import ServiceSettings

DEVELOPMENT_WECHAT_SECRET = "tiaojie-development-wechat-secret"  # noqa: S105 (refused in production)


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service_name: str = "intake"
    port: int = 8081
    group_id: str = Field(default="intake", description="Consumer group of the status follower.")
    publish_timeout_s: float = Field(default=10.0, gt=0)
    retry_after_s: int = Field(default=5, ge=1, description="Retry-After of a 503.")
    tracking_prefix: str = "HY"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    duplicate_window_days: int = Field(default=7, ge=1, le=60)
    geo_radius_km: float = Field(
        default=5.0, gt=0, description="Coordinates farther than this from every village: triage."
    )
    wechat_secret: str = Field(
        default=DEVELOPMENT_WECHAT_SECRET,
        description="Shared secret the WeChat bot signs each request body with (HMAC-SHA256).",
    )
    submit_rate_per_s: float = Field(default=5.0, gt=0, description="Reports per token per s.")
    submit_burst: int = Field(default=200, ge=1, description="Reports a token may send at once.")
    wechat_group_rate_per_s: float = Field(
        default=0.5, gt=0, description="Messages one WeChat group may forward per s."
    )
    wechat_group_burst: int = Field(
        default=30, ge=1, description="Messages one WeChat group may forward at once."
    )
    wechat_bot_rate_per_s: float = Field(
        default=20.0, gt=0, description="Messages the WeChat bot may forward per s, all groups."
    )
    wechat_bot_burst: int = Field(
        default=300, ge=1, description="Messages the WeChat bot may forward at once, all groups."
    )

    def secrets(self) -> list[Secret]:
        privacy = PrivacySettings()
        wechat = text_secret("INTAKE_WECHAT_SECRET", self.wechat_secret, DEVELOPMENT_WECHAT_SECRET)
        return [*super().secrets(), privacy.sealing_secret(), privacy.salt_secret(), wechat]
