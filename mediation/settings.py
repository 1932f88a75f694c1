from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.deployment import Secret
from services.privacy import PrivacySettings
from services.settings import ServiceSettings


class MediationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_", extra="ignore")

    service_name: str = "mediation"
    port: int = 8083
    group_id: str = "mediation"
    sweep_interval_s: float = Field(
        default=30.0, gt=0, description="How often the deadline sweeper looks for breaches."
    )
    outbox_sweep_interval_s: float = Field(
        default=30.0, gt=0, description="How often events a crash left pending are relayed."
    )
    outbox_grace_s: float = Field(
        default=20.0, ge=0, description="Pending events younger than this are the writer's job."
    )
    sweep_lookback_s: float | None = Field(
        default=None,
        gt=0,
        description="Only deadlines that passed this recently escalate (none: every one). "
        "A store rebuilt by replaying old routings need not escalate its whole history.",
    )
    metrics_from: Literal["earliest", "latest"] = Field(
        default="earliest",
        description="Where a new metrics consumer group starts: rebuild the read models from "
        "the whole lifecycle history, or count only what comes next.",
    )
    backdate_grace_s: float = Field(
        default=24 * 3600,
        ge=0,
        description="How far back a mediator may date an action (`at`): sessions are recorded "
        "after they are held. Never before the case's last timeline entry, whatever this says.",
    )
    sweep_batch: int = Field(default=100, ge=1, le=1000)

    def secrets(self) -> list[Secret]:
        """Mediation opens the sealed contacts of its cases; it hashes no identifiers."""
        return [*super().secrets(), PrivacySettings().sealing_secret()]
