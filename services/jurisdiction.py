"""The jurisdiction in force: the deployment's registry with the changes admins made since, as
every service reads them from the config topic (imported jurisdiction files, mediator lists).
The router routes with it, mediation checks with it who may act for a unit, intake takes
places with it, the notifier matches alerts to subscriptions with it.

One per process: the registry in force is `contracts.registry.in_force()`, which this keeps."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

import structlog
from pydantic import TypeAdapter

from contracts import topics
from contracts.admin import ConfigChange, MediatorsChanged, RegistryImported, UnitChanged
from contracts.registry import (
    Mediator,
    Registry,
    Unit,
    in_force,
    parse_document,
    put_in_force,
    with_jurisdiction,
    with_unit,
)
from contracts.registry_file import RegistryFileError, read_registry_bytes
from contracts.vocabulary import Category
from services.follow import TopicFollower, following
from services.settings import ServiceSettings

CHANGE: TypeAdapter[ConfigChange] = TypeAdapter(ConfigChange)
JurisdictionChange = MediatorsChanged | RegistryImported | UnitChanged


class StaleRevisionError(ValueError):
    """The change was made against a revision another change has replaced since."""


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
    """The registry once `change` is taken, one revision on; ValueError saying why it cannot be
    (the same on every replica, as they all hold the same registry when they read it)."""
    expected = None if isinstance(change, RegistryImported) else change.expected_revision
    if expected is not None and expected != current.revision:
        raise StaleRevisionError(
            f"revision {expected} is no longer in force (now {current.revision})"
        )
    return replace(_changed(current, change), revision=current.revision + 1)


def _changed(current: Registry, change: JurisdictionChange) -> Registry:
    if isinstance(change, RegistryImported):
        try:
            return with_jurisdiction(current, imported_registry(change))
        except RegistryFileError as error:
            raise ValueError(f"{change.file_name}: {error}") from error
    if isinstance(change, UnitChanged):
        if (change.action == "retire") != (change.unit is None):
            raise ValueError("a unit comes with every change but its retirement")
        unit = Unit(**change.unit.model_dump()) if change.unit is not None else None
        return with_unit(current, change.unit_id, unit, adding=change.action == "add")
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
        refused = self.take(change)
        return None if refused is None else str(refused)

    def take(self, change: JurisdictionChange) -> ValueError | None:
        """Take a change; the refusal when it cannot be taken (StaleRevisionError when another
        change came first)."""
        before = self.current
        try:
            put_in_force(registry_after(before, change))
        except ValueError as refused:  # RegistryConflictError, UnitChangeError...
            return refused
        self._logged(before, change)
        return None

    def _logged(self, before: Registry, change: JurisdictionChange) -> None:
        revision = self.current.revision
        if isinstance(change, RegistryImported):
            self._log.info(
                "jurisdiction imported",
                top_unit_id=change.top_unit_id,
                units=change.units,
                version=change.version,
                changed_by=change.actor,
                revision=revision,
            )
        elif isinstance(change, UnitChanged):
            self._log.info(
                "unit changed",
                action=change.action,
                unit_id=change.unit_id,
                changed_by=change.actor,
                revision=revision,
            )
        else:
            self._log.info(
                "mediators changed",
                unit_id=change.unit_id,
                before=[m.id for m in before.mediators_of(change.unit_id)],
                after=[entry.id for entry in change.mediators],
                changed_by=change.actor,
                revision=revision,
            )

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
