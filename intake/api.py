"""Intake's own HTTP face: one endpoint per channel, and the status of a report.

Every channel answers 202 only once Kafka has acknowledged the event (acks=all), 503 with
Retry-After when it did not, and 422 naming the field for a bad body.
"""

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypeVar

import structlog
from fastapi import APIRouter, Depends, Header, Query, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from pymongo.errors import PyMongoError

from contracts.registry import Registry, in_force
from intake.models import (
    GridReport,
    HotlineReport,
    MessageRecorded,
    PetitionReport,
    ReportAccepted,
    WeChatMessage,
)
from intake.pipeline import Accepted, Intake, KeyConflictError, NotPublishedError, Outcome, Recorded
from intake.service import Draft, grid_draft, hotline_draft, petition_draft, wechat_draft
from intake.settings import IntakeSettings
from intake.status import DisputeStatus, dispute_status
from intake.store import IntakeStore
from intake.wechat import Verdict, read_message
from services.audit import AuditTrail
from services.auth import SUBMITTERS, AuthSettings, Principal, Role, bearer, forbid, require_role
from services.errors import FieldProblem, Refusal, Refused, field_error, refusal_body
from services.mongo import Document
from services.privacy import Sealer
from services.ratelimit import RateLimiter

SEALED_READ = "sealed.read"
TRACKING_NUMBER = re.compile(r"^[A-Z]{1,8}-\d{8}-\d{6}$")
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^\S+$")
]
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "Not stored: Kafka or the database did not answer; retry"}
}


def fingerprint(body: BaseModel) -> str:
    """Same request, same fingerprint, whatever the key order or spacing of the JSON."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def accepted(outcome: Accepted, shown_duplicate: str | None) -> ReportAccepted:
    """`shown_duplicate`: the earlier dispute as this caller may see it (see `readable`)."""
    dispute = outcome.dispute
    return ReportAccepted(
        dispute_id=dispute.dispute_id,
        tracking_number=dispute.tracking_number,
        needs_triage=dispute.needs_triage,
        triage_reason=dispute.triage_reason,
        possible_duplicate_of=shown_duplicate,
    )


WECHAT_BOT = "wechat-bot"
"""The one bot that holds the signing secret and forwards every group's messages."""


@dataclass(frozen=True)
class WeChatLimits:
    """A group (noisy, or its admin's account taken over) may not flood intake, and the bot
    forwarding for every group is bounded too. The group is checked first, so a flooding
    group's refused messages do not use up what the bot has left for the other groups."""

    per_group: RateLimiter
    per_bot: RateLimiter

    @classmethod
    def of(cls, settings: IntakeSettings) -> "WeChatLimits":
        return cls(
            RateLimiter(settings.wechat_group_rate_per_s, settings.wechat_group_burst),
            RateLimiter(settings.wechat_bot_rate_per_s, settings.wechat_bot_burst),
        )

    def enforce(self, bot: str, group_id: str) -> None:
        self.per_group.enforce(f"{bot}/{group_id}", scope=f"group {group_id}")
        self.per_bot.enforce(bot, scope=f"bot {bot}")


@dataclass(frozen=True)
class Wiring:
    """What the HTTP endpoints are built from."""

    intake: Intake
    store: IntakeStore
    sealer: Sealer
    settings: IntakeSettings
    logger: structlog.stdlib.BoundLogger
    auth: AuthSettings
    limiter: RateLimiter
    audit: AuditTrail
    wechat_limits: WeChatLimits

    @property
    def registry(self) -> Registry:
        """The registry in force at this request (jurisdictions are imported at run time)."""
        return in_force()

    def submitter(self, caller: Principal, role: Role) -> None:
        """Only the channel's own role submits on it, and each token at a bounded rate."""
        require_role(caller, role)
        self.limiter.enforce(caller.token_id)


MINE_SHOWN = 50
"""How many of a person's latest reports their console lists."""


def filer_of(caller: Principal) -> dict[str, str]:
    """Who filed, as kept beside the dispute: a subject is only unique within a role and a
    unit, so a token of another role or unit under the same name is someone else."""
    return {"subject": caller.subject, "role": caller.role.value, "unit_id": caller.unit_id}


def signed(build: Callable[[Any], Draft], caller: Principal) -> Callable[[Any], Draft]:
    """The draft with its filer kept beside it (never published), to follow it later."""

    def with_filer(ids: Any) -> Draft:
        draft = build(ids)
        return dataclasses.replace(draft, private={**draft.private, "filer": filer_of(caller)})

    return with_filer


def is_filer(caller: Principal, found: Document) -> bool:
    """The caller filed it: same subject, role and unit, and a submitting role."""
    filer = found.get("private", {}).get("filer")
    return caller.role in SUBMITTERS and filer == filer_of(caller)


def place_of(found: Document) -> str | None:
    dispute: Document = found["dispute"]
    place = dispute.get("village_id") or dispute.get("grid_id")
    return str(place) if place else None


def county_of(found: Document, registry: Registry) -> str:
    """The county the dispute belongs to: its place's, or for a report placed nowhere the
    county whose desk triages it."""
    place = place_of(found)
    county = registry.county_of(place) if place else None
    return (county or registry.top).id


def operates_in_county(caller: Principal, found: Document, registry: Registry) -> bool:
    """A caller phoning back about a dispute reaches whichever operator of the county picks
    up: every operator whose unit lies in the dispute's county (the county itself, a town or
    a village of it) follows it, and so do the operators of a prefecture over it."""
    if caller.role is not Role.OPERATOR:
        return False
    desk = registry.county_of(caller.unit_id) or registry.unit(caller.unit_id)
    return desk is not None and registry.is_within(county_of(found, registry), desk.id)


def may_follow(caller: Principal, found: Document, registry: Registry) -> bool:
    """The filer follows what they filed, and so do the operators of the dispute's county (a
    caller phones back); admins and the place's supervisors read all. Following shows where
    a dispute stands, never its sealed contacts (those stay the filer's: `is_filer`)."""
    if is_filer(caller, found):
        return True
    if operates_in_county(caller, found, registry):
        return True
    place = place_of(found)
    if caller.role is Role.SUPERVISOR and place:
        return caller.can_read_unit(place)
    return caller.role is Role.ADMIN


async def readable(
    store: IntakeStore, caller: Principal | None, dispute_id: str | None, registry: Registry
) -> str | None:
    """`dispute_id` if the caller may read that dispute, else None. A possible duplicate links
    to another filer's report: routing and mediation keep the link, but a caller is shown it
    only where they could follow the earlier report anyway."""
    if caller is None or dispute_id is None:
        return None
    found = await store.dispute(dispute_id)
    return dispute_id if found is not None and may_follow(caller, found, registry) else None


def bot_signature(secret: str) -> Any:
    """WeChat bot requests carry `X-Tiaojie-Signature: sha256=<HMAC-SHA256 of the body>`."""

    async def check(request: Request) -> None:
        sent = request.headers.get("x-tiaojie-signature", "")
        expected = "sha256=" + hmac.new(secret.encode(), await request.body(), "sha256").hexdigest()
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise Refused(
                401,
                Refusal.BAD_SIGNATURE,
                "missing or wrong X-Tiaojie-Signature",
                headers={"WWW-Authenticate": 'HMAC-SHA256 realm="tiaojie-wechat"'},
            )

    return Depends(check)


def not_found(reference: str) -> JSONResponse:
    body = refusal_body(Refusal.NOT_FOUND, f"no report {reference}", reference=reference)
    return JSONResponse(status_code=404, content=body)


Answer_co = TypeVar("Answer_co", bound=Response, covariant=True)


class Refusals(Protocol[Answer_co]):
    """How an endpoint family words its refusals (intake JSON, GeoReport JSON or XML)."""

    def unavailable(self, retry_after_s: int) -> Answer_co: ...

    def conflict(self, field: str, message: str) -> Answer_co: ...


class IntakeRefusals:
    def unavailable(self, retry_after_s: int) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(retry_after_s)},
            content=refusal_body(
                Refusal.UNAVAILABLE, "report not stored; retry later", retry_after_s=retry_after_s
            ),
        )

    def conflict(self, field: str, message: str) -> JSONResponse:
        entry = field_error(field, FieldProblem.KEY_REUSED, message)
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT, content={"error": "conflict", "fields": [entry]}
        )


async def settle(
    outcome: Awaitable[Outcome],
    settings: IntakeSettings,
    logger: structlog.stdlib.BoundLogger,
    *,
    refusals: Refusals[Answer_co],
    key_field: str = "Idempotency-Key",
) -> Outcome | Answer_co:
    """The outcome, or the refusal to send when it could not be stored."""
    try:
        result = await outcome
    except (NotPublishedError, PyMongoError) as error:
        logger.warning("report not stored", error=repr(error))
        return refusals.unavailable(settings.retry_after_s)
    except KeyConflictError as error:
        return refusals.conflict(key_field, str(error))
    if isinstance(result, Accepted):
        dispute = result.dispute
        logger.info(
            "dispute reported",
            dispute_id=dispute.dispute_id,
            channel=dispute.channel,
            needs_triage=dispute.needs_triage,
        )
    return result


async def answer(
    outcome: Awaitable[Outcome],
    wiring: Wiring,
    caller: Principal | None,
    key_field: str = "Idempotency-Key",
) -> JSONResponse:
    """`caller` is None for the WeChat bot, which may read no dispute."""
    result = await settle(
        outcome, wiring.settings, wiring.logger, refusals=IntakeRefusals(), key_field=key_field
    )
    if isinstance(result, JSONResponse):
        return result
    if isinstance(result, Recorded):
        body = MessageRecorded(message_id=result.message_id, reason=result.reason)
        return JSONResponse(status_code=status.HTTP_200_OK, content=body.model_dump(mode="json"))
    duplicate = result.dispute.possible_duplicate_of
    earlier = await readable(wiring.store, caller, duplicate, wiring.registry)
    content = accepted(result, earlier).model_dump(mode="json")
    return JSONResponse(status_code=status.HTTP_202_ACCEPTED, content=content)


def create_router(wiring: Wiring) -> APIRouter:
    intake, store, sealer = wiring.intake, wiring.store, wiring.sealer
    settings = wiring.settings
    router = APIRouter(prefix="/v1", tags=["intake"])
    radius = settings.geo_radius_km
    Caller = Annotated[Principal, bearer(wiring.auth)]  # noqa: N806

    @router.post(
        "/disputes",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ReportAccepted,
        responses=UNAVAILABLE,
    )
    async def report_by_hotline(
        caller: Caller, report: HotlineReport, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        wiring.submitter(caller, Role.OPERATOR)
        outcome = intake.submit(
            signed(lambda ids: hotline_draft(report, ids, sealer, wiring.registry, radius), caller),
            key=f"hotline:{idempotency_key}" if idempotency_key else None,
            fingerprint=fingerprint(report),
        )
        return await answer(outcome, wiring, caller)

    @router.post(
        "/channels/wechat/messages",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ReportAccepted,
        responses={200: {"model": MessageRecorded}, **UNAVAILABLE},
        dependencies=[bot_signature(settings.wechat_secret)],
    )
    async def report_by_wechat(message: WeChatMessage) -> JSONResponse:
        """The message id is the key: a message forwarded twice is answered the same way."""
        wiring.wechat_limits.enforce(WECHAT_BOT, message.group_id)
        reading = read_message(message.text)
        recorded = None
        if reading.verdict is Verdict.NOT_A_DISPUTE:
            recorded = Recorded(message.message_id, reading.reason)
        outcome = intake.submit(
            lambda ids: wechat_draft(message, reading, ids, wiring.registry),
            key=f"wechat:{message.group_id}:{message.message_id}",
            not_a_dispute=recorded,
        )
        return await answer(outcome, wiring, None, key_field="message_id")

    @router.post(
        "/channels/grid/reports",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ReportAccepted,
        responses=UNAVAILABLE,
    )
    async def report_by_grid_worker(
        caller: Caller, report: GridReport, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        wiring.submitter(caller, Role.GRID_WORKER)
        key = report.report_id or idempotency_key
        outcome = intake.submit(
            signed(lambda ids: grid_draft(report, ids, sealer, wiring.registry), caller),
            key=f"grid:{key}" if key else None,
            fingerprint=fingerprint(report),
        )
        field = "report_id" if report.report_id else "Idempotency-Key"
        return await answer(outcome, wiring, caller, key_field=field)

    @router.post(
        "/channels/petitions",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ReportAccepted,
        responses=UNAVAILABLE,
    )
    async def report_by_petition_agent(
        caller: Caller, report: PetitionReport, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        wiring.submitter(caller, Role.PETITION_AGENT)
        key = f"{report.agent_id}:{report.petition_ref}" if report.petition_ref else idempotency_key
        outcome = intake.submit(
            signed(
                lambda ids: petition_draft(report, ids, sealer, wiring.registry, radius), caller
            ),
            key=f"petition:{key}" if key else None,
            fingerprint=fingerprint(report),
        )
        field = "petition_ref" if report.petition_ref else "Idempotency-Key"
        return await answer(outcome, wiring, caller, key_field=field)

    async def shown_to(caller: Principal, view: DisputeStatus) -> DisputeStatus:
        """The view, linking a possible duplicate only where the caller could follow it."""
        earlier = await readable(store, caller, view.possible_duplicate_of, wiring.registry)
        return view.model_copy(update={"possible_duplicate_of": earlier})

    @router.get("/disputes/mine", response_model=list[DisputeStatus])
    async def my_disputes(
        caller: Caller, limit: Annotated[int, Query(ge=1, le=MINE_SHOWN)] = MINE_SHOWN
    ) -> list[DisputeStatus]:
        """What the caller filed (same subject, role and unit), newest first: a console's "my
        submissions" follows the person, whichever browser they sign in on, and a colleague
        signing in on the same browser sees theirs only."""
        found = await store.filed_by(filer_of(caller), limit)
        entries = await store.status_entries_of([dispute["_id"] for dispute in found])
        views = [dispute_status(dispute, entries.get(dispute["_id"], [])) for dispute in found]
        return [await shown_to(caller, view) for view in views]

    @router.get(
        "/disputes/{reference}",
        response_model=DisputeStatus,
        responses={404: {"description": "No acknowledged report with this id"}},
    )
    async def dispute_status_of(caller: Caller, reference: str) -> DisputeStatus | JSONResponse:
        """`reference` is the dispute id or the tracking number. One the caller may not
        follow is answered exactly as one that does not exist, so numbers cannot be counted."""
        found = await find_dispute(store, reference)
        if found is None or not may_follow(caller, found, wiring.registry):
            return not_found(reference)
        view = dispute_status(found, await store.status_entries(found["_id"]))
        return await shown_to(caller, view)

    @router.get("/disputes/{reference}/contacts", response_model=None)
    async def sealed_contacts(caller: Caller, reference: str) -> dict[str, Any] | JSONResponse:
        """The filer (same subject, role and unit) opens the contacts they sealed. Each
        opening, and each refused one, is audited before the answer leaves; a caller who may
        not even follow the dispute is answered as for one that does not exist."""
        found = await find_dispute(store, reference)
        if found is None or not is_filer(caller, found):
            return await refuse_opening(wiring.audit, caller, reference, found, wiring.registry)
        where = {"case_id": found["_id"], "unit_id": place_of(found)}
        await wiring.audit.record(caller, SEALED_READ, **where)
        parties = found["dispute"].get("parties", [])
        caller_envelope = found.get("private", {}).get("caller")
        return {
            "dispute_id": found["_id"],
            "caller": sealer.open(caller_envelope) if caller_envelope else None,
            "parties": [
                sealer.open(party["sealed_contact"]) if party.get("sealed_contact") else None
                for party in parties
            ],
        }

    return router


async def refuse_opening(
    audit: AuditTrail,
    caller: Principal,
    reference: str,
    found: Document | None,
    registry: Registry,
) -> JSONResponse:
    """Audited like an opening (an unknown reference too: probing is worth a record). Who may
    not even follow the dispute gets the answer of an unknown one, the others 403."""
    reason = f"only the filer of {reference} opens its sealed contacts"
    details = {"reason": reason, "reference": reference[:100]}
    case = {"case_id": found["_id"], "unit_id": place_of(found)} if found else {}
    await audit.record(caller, SEALED_READ, outcome="denied", details=details, **case)
    if found is None or not may_follow(caller, found, registry):
        return not_found(reference)
    raise forbid(Refusal.NOT_FILER, reason, reference=reference)


async def find_dispute(store: IntakeStore, reference: str) -> Document | None:
    if TRACKING_NUMBER.match(reference):
        return await store.dispute_by_tracking(reference)
    return await store.dispute(reference)
