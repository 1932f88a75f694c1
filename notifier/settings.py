from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore")

    service_name: str = "notifier"
    port: int = 8084
    group_id: str = "notifier"
