"""The chaos run finds the servers as the integration tests do."""

from tests.integration.conftest import infra

__all__ = ["infra"]
