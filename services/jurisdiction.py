"""The jurisdiction in force: the shipped registry with the mediator lists admins changed since
(MediatorsChanged on the config topic). The router assigns from it; mediation checks with it
who may act for a unit."""

import structlog
from pydantic import TypeAdapter

from contracts.admin import ConfigChange, MediatorsChanged
from contracts.registry import Mediator, Registry
from contracts.vocabulary import Category

CHANGE: TypeAdapter[ConfigChange] = TypeAdapter(ConfigChange)


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


class Jurisdiction:
    def __init__(self, registry: Registry, logger: structlog.stdlib.BoundLogger) -> None:
        self.current = registry
        self._log = logger.bind(component="jurisdiction")

    def apply(self, change: MediatorsChanged) -> str | None:
        """Take a change; the reason when it cannot be taken (the same on every instance)."""
        unit = self.current.unit(change.unit_id)
        if unit is None or unit.kind == "grid":
            return f"unit {change.unit_id} has no mediators to change"
        before = [m.id for m in self.current.mediators_of(change.unit_id)]
        self.current = self.current.with_mediators(change.unit_id, mediators_of(change))
        self._log.info(
            "mediators changed",
            unit_id=change.unit_id,
            before=before,
            after=[entry.id for entry in change.mediators],
            changed_by=change.actor,
        )
        return None

    def apply_record(self, value: bytes) -> None:
        """For a service that follows the config topic only for the mediators."""
        change = CHANGE.validate_json(value)
        if isinstance(change, MediatorsChanged):
            reason = self.apply(change)
            if reason is not None:
                self._log.warning("mediator change refused", reason=reason)
