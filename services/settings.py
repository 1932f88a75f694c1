"""Settings shared by every service; each service subclasses with its own env prefix."""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.auth import AuthSettings
from services.deployment import Secret


class ServiceSettings(BaseSettings):
    """Infrastructure addresses are shared across services, so they read unprefixed variables."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "tiaojie"
    host: str = "127.0.0.1"
    port: int = 8080
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"),
    )
    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017/",
        validation_alias=AliasChoices("MONGODB_URI", "mongodb_uri"),
    )
    mongodb_database: str = Field(
        default="tiaojie",
        validation_alias=AliasChoices("MONGODB_DATABASE", "mongodb_database"),
    )
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    consumer_max_records: int = 500
    handler_max_attempts: int = Field(default=3, ge=1)
    handler_retry_backoff_s: float = Field(default=0.5, ge=0)
    http_max_header_bytes: int = Field(
        default=8 * 1024,
        ge=1024,
        description="Request line and headers over this are refused with 431, read no further.",
    )
    http_request_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A request (line, headers and body) not received within this is dropped "
        "(408 while its headers are incomplete): a stalled or slowloris connection is closed.",
    )
    http_keep_alive_s: int = Field(
        default=5, ge=1, description="An idle connection between requests is closed after this."
    )
    config_wait_s: float = Field(
        default=60.0,
        gt=0,
        description="How long start-up may take to read back the admins' changes from the "
        "config topic (jurisdictions, mediators, policy); past it the service refuses to start.",
    )

    def secrets(self) -> list[Secret]:
        """The secrets this service uses, checked at start-up (services/deployment.py). Every
        service verifies tokens; the others add their own."""
        return AuthSettings().secrets()
