"""Carrying out lifecycle commands: read the case, decide (pure), write the change together
with its pending events in one update conditional on the version read, relay those events to
Kafka, then clear them. A crash anywhere leaves the events in the case's outbox, from where
the next writer or the periodic sweep publishes them (same event ids: nothing duplicates)."""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import TypeAdapter

from contracts import topics
from contracts.events import AlertRaised, CaseRouted, Event, LifecycleEvent
from mediation import lifecycle
from mediation.lifecycle import Command, Dating, Decision, IllegalTransitionError
from mediation.models import ActionResult, case_of, outbox_entries
from mediation.store import CaseStore
from services.jurisdiction import Jurisdiction
from services.mongo import Document
from services.publishing import EventPublisher

WRITE_ATTEMPTS = 5
_LIFECYCLE: TypeAdapter[LifecycleEvent] = TypeAdapter(LifecycleEvent)


class CaseNotFoundError(Exception):
    pass


class NotOfUnitError(Exception):
    """The acting mediator does not belong to the unit holding the case."""

    def __init__(self, mediator_id: str, unit_id: str) -> None:
        super().__init__(f"mediator {mediator_id} is not of unit {unit_id}")
        self.mediator_id = mediator_id
        self.unit_id = unit_id


class NotReassignerError(Exception):
    """The caller is neither a supervisor over the case's unit nor the unit's lead."""

    def __init__(self, subject: str, unit_id: str) -> None:
        super().__init__(f"{subject} may not reassign the cases of {unit_id}")
        self.subject = subject
        self.unit_id = unit_id


def unit_lead(jurisdiction: Jurisdiction, unit_id: str) -> str | None:
    """The unit's lead mediator: the first of its mediators by id (`med-<unit>-1` in the
    registry's data), as the registry in force lists them."""
    mediators = jurisdiction.current.mediators_of(unit_id)
    return mediators[0].id if mediators else None


class Relay:
    """Publishes stored outbox entries to their topics; event ids are kept, so a re-publish
    after a crash is recognised downstream as the same event."""

    def __init__(self, store: CaseStore, publishers: dict[str, EventPublisher]) -> None:
        self._store = store
        self._publishers = publishers

    async def publish(self, events: Sequence[Event]) -> None:
        lifecycle_events = [e for e in events if not isinstance(e, AlertRaised)]
        alerts = [e for e in events if isinstance(e, AlertRaised)]
        await self._publishers[topics.CASES_LIFECYCLE].publish_all(lifecycle_events)
        await self._publishers[topics.ALERTS].publish_all(alerts)

    async def relay(self, entries: list[Document]) -> None:
        if entries:
            await self.publish([_event_of(entry) for entry in entries])


def _event_of(entry: Document) -> Event:
    if entry["topic"] == topics.ALERTS:
        return AlertRaised.model_validate_json(entry["payload"])
    event: Event = _LIFECYCLE.validate_json(entry["payload"])
    return event


class CaseService:
    def __init__(
        self,
        store: CaseStore,
        relay: Relay,
        jurisdiction: Jurisdiction,
        clock: Callable[[], datetime],
        logger: structlog.stdlib.BoundLogger,
        *,
        backdate_grace: timedelta = lifecycle.DEFAULT_BACKDATE_GRACE,
    ) -> None:
        self._store = store
        self._relay = relay
        self._jurisdiction = jurisdiction
        self._clock = clock
        self._log = logger
        self._backdate_grace = backdate_grace

    async def act(self, case_id: str, make: Callable[[datetime], Command]) -> ActionResult:
        """A mediator's action. Order of refusals: unknown case, wrong unit, a case another
        mediator holds, illegal move."""
        for _ in range(WRITE_ATTEMPTS):
            document = await self._store.get(case_id)
            if document is None:
                raise CaseNotFoundError(case_id)
            case = case_of(document)
            now = self._clock()
            command = make(now)
            mediator_id = getattr(command, "mediator_id", None)
            if mediator_id is not None and not self._is_of_unit(mediator_id, case.unit_id):
                raise NotOfUnitError(mediator_id, case.unit_id)
            decision = lifecycle.decide(case, command, Dating(now, self._backdate_grace))
            if await self._write(case, decision, document):
                return self._result(case_id, document, case, decision)
        raise self._busy(await self._store.get(case_id))

    async def reassign(
        self, case_id: str, actor: lifecycle.Actor, mediator_id: str
    ) -> ActionResult:
        """Hand the case to `mediator_id`, a mediator of its unit. Refusals: unknown case,
        a caller who may not reassign, a mediator of another unit, a closed case."""
        for _ in range(WRITE_ATTEMPTS):
            document = await self._store.get(case_id)
            if document is None:
                raise CaseNotFoundError(case_id)
            case = case_of(document)
            if not lifecycle.may_reassign(case, actor, unit_lead(self._jurisdiction, case.unit_id)):
                raise NotReassignerError(actor.subject, case.unit_id)
            if not self._is_of_unit(mediator_id, case.unit_id):
                raise NotOfUnitError(mediator_id, case.unit_id)
            command = lifecycle.Reassign(mediator_id, actor.subject, self._clock())
            decision = lifecycle.decide(case, command)
            if await self._write(case, decision, document):
                return self._result(case_id, document, case, decision)
        raise self._busy(await self._store.get(case_id))

    @staticmethod
    def _result(
        case_id: str, document: Document, case: lifecycle.Case, decision: Decision
    ) -> ActionResult:
        after = case_of({**document, **decision.changes, "version": case.version + 1})
        return ActionResult(
            case_id=case_id,
            state=after.state,
            version=after.version,
            allowed_actions=lifecycle.allowed_actions(after),
            events=[getattr(e, "event_type", type(e).__name__) for e in decision.events],
        )

    @staticmethod
    def _busy(document: Document | None) -> IllegalTransitionError:
        """Every attempt lost a race: the refusal reports the state as it is now."""
        assert document is not None
        case = case_of(document)
        return IllegalTransitionError("change", case.state, lifecycle.allowed_actions(case), "busy")

    def mediator_name(self, mediator_id: str) -> str:
        """The mediator's name as the registry in force gives it, else their id."""
        mediator = self._jurisdiction.current.mediators.get(mediator_id)
        return mediator.name if mediator is not None else mediator_id

    def _is_of_unit(self, mediator_id: str, unit_id: str) -> bool:
        # The registry in force: an admin may have changed the unit's mediators since start.
        mediator = self._jurisdiction.current.mediators.get(mediator_id)
        return mediator is not None and mediator.unit_id == unit_id

    async def _write(self, case: lifecycle.Case, decision: Decision, document: Document) -> bool:
        now = self._clock()
        # The outbox is replaced below: what an earlier writer left there goes out first
        # (again, if this write loses the race: downstream knows the event ids).
        await self._relay.relay(document.get("outbox", []))
        entries = outbox_entries(decision.events, now)
        written = await self._store.apply(
            case.case_id, case.version, decision.changes, list(decision.timeline), entries
        )
        if written:
            await self._relay.relay(entries)
            await self._clear(case.case_id, case.version + 1)
        return written

    async def _clear(self, case_id: str, version: int) -> None:
        """Clearing is a change too; if someone else wrote the next version first, their write
        replaced the outbox after relaying it, so there is nothing left to do."""
        await self._store.clear_outbox(case_id, version)

    async def apply_system(self, case_id: str, command: Command) -> bool:
        """A command from the system (re-route, rebound, deadline). False when it no longer
        applies: the case is missing, or its state or routing made the command moot."""
        for _ in range(WRITE_ATTEMPTS):
            document = await self._store.get(case_id)
            if document is None:
                return False
            case = case_of(document)
            try:
                decision = lifecycle.decide(case, command)
            except IllegalTransitionError as refused:
                self._log.info("command not applied", case_id=case_id, reason=str(refused))
                return False
            if await self._write(case, decision, document):
                return True
        return False

    async def reroute(self, routed: CaseRouted) -> bool:
        return await self.apply_system(routed.case_id, lifecycle.Reroute(routed))

    async def reopen(self, case_id: str, rebound_dispute_id: str, at: datetime) -> bool:
        return await self.apply_system(case_id, lifecycle.Reopen(rebound_dispute_id, at))

    async def join(self, case_id: str, report: CaseRouted) -> bool:
        return await self.apply_system(case_id, lifecycle.JoinReport(report))

    async def sweep_deadlines(self, limit: int = 100, lookback_s: float | None = None) -> int:
        """Escalate every case whose deadline passed. Replicas race on the same cases; the
        conditional update lets exactly one of them record each breach and announce it."""
        now = self._clock()
        since = now - timedelta(seconds=lookback_s) if lookback_s else None
        escalated = 0
        for document in await self._store.due(now, since, limit):
            case = case_of(document)
            try:
                decision = lifecycle.decide(case, lifecycle.CheckDeadlines(now))
            except IllegalTransitionError:
                continue
            if await self._write(case, decision, document):
                escalated += 1
                self._log.info("deadline escalated", case_id=case.case_id)
        return escalated

    async def relay_stale(self, grace_s: float, limit: int = 100) -> int:
        """Publish what a crash left between the write and the relay."""
        cutoff = self._clock() - timedelta(seconds=grace_s)
        relayed = 0
        for document in await self._store.stale_outbox(cutoff, limit):
            entries: list[Any] = document.get("outbox", [])
            await self._relay.relay(entries)
            await self._clear(document["_id"], int(document.get("version", 1)))
            relayed += len(entries)
        if relayed:
            self._log.warning("relayed events left pending", events=relayed)
        return relayed
