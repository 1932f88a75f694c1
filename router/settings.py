from pydantic_settings import SettingsConfigDict

from services.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_", extra="ignore")

    service_name: str = "router"
    port: int = 8082
    group_id: str = "router"
