from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class MediationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIATION_", extra="ignore")

    service_name: str = "mediation"
    port: int = 8083
    group_id: str = "mediation"
