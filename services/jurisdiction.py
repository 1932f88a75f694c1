"""The jurisdiction in force: the deployment's registry with the changes admins made since, as
every service reads them from the config topic (imported jurisdiction files, mediator lists).
The router routes with it, mediation checks with it who may act for a unit, intake takes
places with it, the notifier matches alerts to subscriptions with it.

One per process: the registry in force is `contracts.registry.in_force()`, which this keeps."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import structlog
from pydantic import TypeAdapter

from contracts import topics
from contracts.admin import ConfigChange, MediatorsChanged, RegistryImported
from contracts.registry import (
    Mediator,
    Registry,
    RegistryConflictError,
    in_force,
    parse_document,
    put_in_force,
    with_jurisdiction,
)
from contracts.registry_file import RegistryFileError, read_registry_bytes
from contracts.vocabulary import Category
from services.follow import TopicFollower, following
from services.settings import ServiceSettings

CHANGE: TypeAdapter[ConfigChange] = TypeAdapter(ConfigChange)
JurisdictionChange = MediatorsChanged | RegistryImported


def mediators_of(change: MediatorsChanged) -> list[Mediator]:
    """Every mediator handles `other` (the registry's rule)."""
    return [
        Mediator(
            id=entry.id,
            unit_id=change.unit_id,
            name=entry.name,
            categories=frozenset(entry.categories) | {Category.OTHER},
        )
        for entry in change.mediators
    ]


def imported_registry(change: RegistryImported) -> Registry:
    """The registry the change's file describes (RegistryFileError when it does not read)."""
    return parse_document(read_registry_bytes(change.content(), name=change.file_name))


def registry_after(current: Registry, change: JurisdictionChange) -> Registry:
    """The registry once `change` is taken; ValueError saying why it cannot be (the same on
    every replica, as they all hold the same registry when they read it)."""
    if isinstance(change, RegistryImported):
        try:
            return with_jurisdiction(current, imported_registry(change))
        except RegistryFileError as error:
            raise ValueError(f"{change.file_name}: {error}") from error
    unit = current.unit(change.unit_id)
    if unit is None or unit.kind == "grid":
        raise ValueError(f"unit {change.unit_id} has no mediators to change")
    return current.with_mediators(change.unit_id, mediators_of(change))


class Jurisdiction:
    def __init__(self, logger: structlog.stdlib.BoundLogger) -> None:
        self._log = logger.bind(component="jurisdiction")

    @property
    def current(self) -> Registry:
        return in_force()

    def apply(self, change: JurisdictionChange) -> str | None:
        """Take a change; the reason when it cannot be taken (the same on every instance)."""
        before = self.current
        try:
            put_in_force(registry_after(before, change))
        except (ValueError, RegistryConflictError) as refused:
            return str(refused)
        if isinstance(change, RegistryImported):
            self._log.info(
                "jurisdiction imported",
                top_unit_id=change.top_unit_id,
                units=change.units,
                version=change.version,
                changed_by=change.actor,
            )
        else:
            self._log.info(
                "mediators changed",
                unit_id=change.unit_id,
                before=[m.id for m in before.mediators_of(change.unit_id)],
                after=[entry.id for entry in change.mediators],
                changed_by=change.actor,
            )
        return None

    def apply_record(self, value: bytes) -> None:
        """For a service that follows the config topic only for the jurisdiction."""
        change = CHANGE.validate_json(value)
        if isinstance(change, JurisdictionChange):
            reason = self.apply(change)
            if reason is not None:
                self._log.warning("jurisdiction change refused", reason=reason)


def followed_jurisdiction(
    settings: ServiceSettings, logger: structlog.stdlib.BoundLogger
) -> tuple[Jurisdiction, Callable[[], AbstractAsyncContextManager[None]]]:
    """The jurisdiction, and the lifespan step that reads the config topic to its end before
    the service serves (a place imported yesterday is known from the first request) and keeps
    following it."""
    jurisdiction = Jurisdiction(logger)
    bootstrap = settings.kafka_bootstrap_servers
    follower = TopicFollower(bootstrap, {topics.CONFIG: jurisdiction.apply_record}, logger)
    return jurisdiction, following(follower, bootstrap, settings.config_wait_s)
