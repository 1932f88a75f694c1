from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from router.policy import DEFAULT_POLICY_PATH
from services.settings import ServiceSettings


class RouterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTER_", extra="ignore")

    service_name: str = "router"
    port: int = 8082
    group_id: str = "router"
    policy_path: Path = Field(
        default=DEFAULT_POLICY_PATH, description="The policy YAML; watched while running."
    )
    policy_poll_s: float = Field(default=1.0, gt=0, description="How often to check the file.")
    change_confirm_s: float = Field(
        default=10.0, gt=0, description="How long a change waits to be read back from Kafka."
    )
    read_model_wait_s: float = Field(
        default=60.0, ge=0, description="How long start-up waits for the read models to rebuild."
    )
