"""In-memory stand-ins for component tests only; integration tests use the real servers."""

import asyncio
import copy
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import bson
from bson.codec_options import CodecOptions
from pymongo.errors import OperationFailure

from contracts.events import AlertRaised
from contracts.registry import hanyin
from contracts.vocabulary import CaseState
from intake.store import RecentPage
from mediation.metrics import Contribution, increments_of
from notifier.store import CannotResumeError, LoggedAlert
from services.audit import audit_event
from services.mongo import Document


class InMemoryCaseStore:
    def __init__(self) -> None:
        self.cases: dict[str, Document] = {}

    async def add_new(self, cases: list[Document]) -> set[Any]:
        new = {case["_id"] for case in cases if case["_id"] not in self.cases}
        for case in cases:
            self.cases.setdefault(case["_id"], case)
        return new

    async def open_by_mediator(self, unit_id: str, states: list[CaseState]) -> dict[str, int]:
        held = Counter(
            case.get("mediator_id") or ""
            for case in self.cases.values()
            if case["unit_id"] == unit_id and case["state"] in states
        )
        return dict(held)

    async def queue(
        self, unit_id: str, states: list[CaseState], mediator_id: str | None, limit: int
    ) -> list[Document]:
        matching = [
            case
            for case in self.cases.values()
            if case["unit_id"] == unit_id
            and case["state"] in states
            and (mediator_id is None or case["mediator_id"] == mediator_id)
        ]
        due = "due_at" if all("due_at" in case for case in matching) else "acceptance_due_at"
        matching.sort(key=lambda case: (-case["priority_rank"], case[due]))
        return matching[:limit]

    async def chain_case(self, resolved_id: str, report_id: str) -> Document | None:
        for case in self.cases.values():
            if report_id in case.get("joined_reports", ()):
                return copy.deepcopy(case)
        chain = [
            case
            for case in self.cases.values()
            if (case["_id"] == resolved_id or case.get("rebound_of") == resolved_id)
            and case["_id"] != report_id
            and case["state"] in {"assigned", "accepted", "in_mediation", "reopened"}
        ]
        chain.sort(key=lambda case: (case["started_at"], case["_id"]), reverse=True)
        return copy.deepcopy(chain[0]) if chain else None

    async def get(self, case_id: str) -> Document | None:
        case = self.cases.get(case_id)
        return copy.deepcopy(case) if case is not None else None

    async def apply(
        self,
        case_id: str,
        expected_version: int,
        changes: Document,
        timeline: list[Document],
        outbox: list[Document],
    ) -> bool:
        case = self.cases.get(case_id)
        if case is None or case.get("version", 1) != expected_version:
            return False
        case.update(copy.deepcopy(changes), version=expected_version + 1, outbox=list(outbox))
        case.setdefault("timeline", []).extend(timeline)
        return True

    async def clear_outbox(self, case_id: str, expected_version: int) -> None:
        case = self.cases[case_id]
        if case.get("version", 1) == expected_version:
            case.update(outbox=[], version=expected_version + 1)

    async def due(self, now: datetime, since: datetime | None, limit: int) -> list[Document]:
        found = [
            copy.deepcopy(case)
            for case in self.cases.values()
            if case.get("next_deadline_at") is not None
            and (since or case["next_deadline_at"]) <= case["next_deadline_at"] <= now
        ]
        return found[:limit]

    async def stale_outbox(self, queued_before: datetime, limit: int) -> list[Document]:
        found = [
            {"_id": case["_id"], "outbox": list(case["outbox"]), "version": case["version"]}
            for case in self.cases.values()
            if any(entry["queued_at"] < queued_before for entry in case.get("outbox", []))
        ]
        return found[:limit]


class InMemoryMetricsStore:
    """mediation.metrics_store.MetricsStore in memory. A batch is counted whole or not at all:
    its changes are made on copies that replace the stored ones only when all succeeded."""

    def __init__(self) -> None:
        self.applied: set[str] = set()
        self.counters: dict[str, Document] = {}

    async def count(self, contributions: Mapping[str, Contribution]) -> set[str]:
        new = [event_id for event_id in contributions if event_id not in self.applied]
        changed: dict[str, Document] = {}
        for doc_id, item in sorted(increments_of(contributions[i] for i in new).items()):
            if not any(item.inc.values()):
                continue
            stored = self.counters.get(doc_id, {**item.keys, "c": Counter()})
            document = {**stored, "c": Counter(stored["c"])}
            if item.durations:
                document["ttr_h"] = [*stored.get("ttr_h", []), *item.durations]
            for name, value in item.inc.items():
                if not value:
                    continue
                if "" in name.split("."):  # refused by the server, as there
                    raise OperationFailure(f"The update path 'c.{name}' has an empty field", 56)
                document["c"][name] += value
            changed[doc_id] = document
        self.counters.update(changed)
        self.applied.update(new)
        return set(new)

    async def documents(
        self, unit: str, start: date | None, end: date | None, children: bool
    ) -> list[Document]:
        def in_period(day: str) -> bool:
            return (start is None or day >= start.isoformat()) and (
                end is None or day <= end.isoformat()
            )

        return [
            doc
            for doc in self.counters.values()
            if doc["dim"] != "backlog"
            and in_period(doc["day"])
            and (
                doc["unit"] == unit or (children and doc["parent"] == unit and doc["dim"] == "all")
            )
        ]

    async def backlog(self) -> dict[str, int]:
        return {
            doc["unit"]: doc["c"]["open"]
            for doc in self.counters.values()
            if doc["dim"] == "backlog"
        }

    async def totals(self) -> dict[str, Counter[str]]:
        result: dict[str, Counter[str]] = {}
        for doc in self.counters.values():
            if doc["dim"] == "all":
                result.setdefault(doc["unit"], Counter()).update(doc["c"])
        return result


STORED: CodecOptions[Document] = CodecOptions(document_class=dict, tz_aware=True)


def as_stored(document: Document) -> Document:
    """What MongoDB gives back: through BSON, so times keep milliseconds, tuples become lists
    and a string BSON cannot hold is refused as the driver refuses it."""
    return bson.decode(bson.encode(document), codec_options=STORED)


class InMemoryIntakeStore:
    """intake.store.IntakeStore in memory; `down` makes every call fail like a lost server."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[Any, Document]] = {}
        self.down = False

    def _of(self, name: str) -> dict[Any, Document]:
        if self.down:
            from pymongo.errors import ServerSelectionTimeoutError  # noqa: PLC0415

            raise ServerSelectionTimeoutError("database unavailable (fake)")
        return self.collections.setdefault(name, {})

    def _insert_new(self, name: str, documents: list[Document]) -> set[Any]:
        stored = self._of(name)
        new = {doc["_id"] for doc in documents if doc["_id"] not in stored}
        for doc in documents:
            stored.setdefault(doc["_id"], as_stored(doc))
        return new

    async def reserve(self, request: Document) -> Document | None:
        if self._insert_new("requests", [request]):
            return None
        return self._of("requests")[request["_id"]]

    async def request(self, key: str) -> Document | None:
        return self._of("requests").get(key)

    async def put_outbox(self, entry: Document) -> None:
        self._insert_new("outbox", [entry])

    async def outbox(self, dispute_id: str) -> Document | None:
        return self._of("outbox").get(dispute_id)

    async def add_disputes(self, disputes: list[Document]) -> None:
        self._insert_new("disputes", disputes)

    async def dispute(self, dispute_id: str) -> Document | None:
        return self._of("disputes").get(dispute_id)

    async def add_tracking(self, tracking_number: str, dispute_id: str) -> None:
        self._insert_new("tracking", [{"_id": tracking_number, "dispute_id": dispute_id}])

    async def dispute_by_tracking(self, tracking_number: str) -> Document | None:
        found = self._of("tracking").get(tracking_number)
        return None if found is None else await self.dispute(found["dispute_id"])

    async def next_number(self, counter: str, count: int = 1) -> int:
        counters = self._of("counters")
        entry = counters.setdefault(counter, {"_id": counter, "seq": 0})
        entry["seq"] += count
        return int(entry["seq"])

    async def earliest_match(self, key: str, dispute_id: str, at: datetime, since: datetime) -> str:
        entry = {"_id": f"{key}|{dispute_id}", "key": key, "dispute_id": dispute_id, "at": at}
        self._insert_new("matches", [entry])
        since = as_stored({"since": since})["since"]  # the server compares milliseconds too
        window = [m for m in self._of("matches").values() if m["key"] == key and m["at"] >= since]
        first = min(window, key=lambda m: (m["at"], m["_id"]), default=None)
        return dispute_id if first is None else str(first["dispute_id"])

    async def add_status(self, entries: list[Document]) -> None:
        self._insert_new("status", entries)

    async def status_entries(self, dispute_id: str) -> list[Document]:
        return [e for e in self._of("status").values() if e["dispute_id"] == dispute_id]

    async def disputes_by_tracking(self, tracking_numbers: list[str]) -> list[Document]:
        found = [await self.dispute_by_tracking(number) for number in tracking_numbers]
        return [dispute for dispute in found if dispute is not None]

    async def recent_disputes(self, page: RecentPage) -> list[Document]:
        since, until = as_stored({"at": page.since})["at"], as_stored({"at": page.until})["at"]
        found = [
            d
            for d in self._of("disputes").values()
            if since <= d["received_at"] <= until
            and (not page.categories or d["dispute"]["category"] in page.categories)
            and (page.after is None or (d["received_at"], d["_id"]) < page.after)
        ]
        found.sort(key=lambda d: (d["received_at"], d["_id"]), reverse=True)
        return found[: page.limit]

    async def filed_by(self, filer: dict[str, str], limit: int) -> list[Document]:
        found = [d for d in self._of("disputes").values() if d["private"].get("filer") == filer]
        found.sort(key=lambda d: (d["received_at"], d["_id"]), reverse=True)
        return found[:limit]

    async def status_entries_of(self, dispute_ids: list[str]) -> dict[str, list[Document]]:
        by_dispute: dict[str, list[Document]] = {}
        for entry in self._of("status").values():
            if entry["dispute_id"] in dispute_ids:
                by_dispute.setdefault(entry["dispute_id"], []).append(entry)
        return by_dispute


class InMemoryAuditTrail:
    """The audit trail kept in a list, for component tests."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    async def record(
        self,
        principal: Any,
        action: str,
        *,
        outcome: Any = "allowed",
        case_id: str | None = None,
        unit_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Any:
        event = audit_event(
            principal, action, outcome=outcome, case_id=case_id, unit_id=unit_id, details=details
        )
        self.records.append(event)
        return event

    async def record_all(self, events: Any) -> None:
        self.records.extend(events)


class InMemoryAlertLog:
    """notifier.store.AlertLog in memory: positions are hex sequence numbers in commit order."""

    def __init__(self) -> None:
        self.logged: list[tuple[datetime, Document]] = []
        self._grown = asyncio.Condition()

    async def append(self, alerts: list[AlertRaised], now: datetime) -> int:
        known = {alert["alert_id"] for _, alert in self.logged}
        new = [a for a in {a.alert_id: a for a in alerts}.values() if a.alert_id not in known]
        async with self._grown:
            self.logged += [(now, alert.model_dump(mode="json")) for alert in new]
            self._grown.notify_all()
        return len(new)

    async def recent(self, unit_id: str, limit: int) -> list[Document]:
        within = [
            alert for _, alert in self.logged if hanyin().is_within(alert["unit_id"], unit_id)
        ]
        return within[::-1][:limit]

    async def follow(self, start: str | datetime, wait_s: float) -> "InMemoryAlertFeed":
        if isinstance(start, datetime):
            at = next((i for i, (t, _) in enumerate(self.logged) if t >= start), len(self.logged))
            return InMemoryAlertFeed(self, at, wait_s)
        try:
            after = int(start, 16)
        except ValueError as error:
            raise CannotResumeError(start) from error
        if not 1 <= after <= len(self.logged):
            raise CannotResumeError(start)
        return InMemoryAlertFeed(self, after, wait_s)


class InMemoryAlertFeed:
    def __init__(self, log: InMemoryAlertLog, at: int, wait_s: float) -> None:
        self._log = log
        self._at = at
        self._wait_s = wait_s

    async def next(self) -> LoggedAlert | None:
        async with self._log._grown:
            try:
                await asyncio.wait_for(
                    self._log._grown.wait_for(lambda: self._at < len(self._log.logged)),
                    self._wait_s,
                )
            except TimeoutError:
                return None
        self._at += 1
        return LoggedAlert(f"{self._at:016X}", self._log.logged[self._at - 1][1])

    async def close(self) -> None:
        return None
