from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service_name: str = "intake"
    port: int = 8081
    publish_timeout_s: float = 10.0
    tracking_prefix: str = "HY"
