"""Mediator and supervisor HTTP endpoints."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError

from contracts.ids import UNIT_ID_PATTERN
from contracts.registry import in_force
from contracts.vocabulary import CaseState
from mediation import lifecycle as lc
from mediation.metrics import prometheus_text, summarise
from mediation.metrics_store import MetricsStore
from mediation.models import (
    OPEN_STATES,
    OUTCOME_BODY,
    AcceptBody,
    ActionResult,
    CaseView,
    FailedOutcome,
    FollowUpBody,
    QueueItem,
    ReassignBody,
    ReferredOutcome,
    ResolvedOutcome,
    SessionBody,
    VisitBody,
    case_view,
)
from mediation.service import CaseNotFoundError, CaseService, NotOfUnitError, NotReassignerError
from mediation.store import CaseStore
from services.audit import AuditTrail
from services.auth import AuthSettings, Principal, bearer, forbid, require_act, require_read
from services.errors import FieldProblem, Refusal, field_error, refusal_body
from services.mongo import Document
from services.privacy import Sealer

CaseId = Annotated[str, Path(min_length=1, max_length=80)]
Make = Callable[[Any], lc.Command]


@dataclass(frozen=True)
class Guard:
    """Who may touch a case, and the trail each change leaves."""

    store: CaseStore
    audit: AuditTrail
    cases: CaseService

    async def case_for(self, caller: Principal, case_id: str, *, act: bool) -> Document | None:
        document = await self.store.get(case_id)
        if document is not None:
            (require_act if act else require_read)(caller, document["unit_id"])
        return document


def _acting_as(caller: Principal, mediator_id: str | None) -> str:
    """The mediator an action is recorded for: the caller, by their token's subject. A body
    may name them (consoles and clients have always sent `mediator_id`), never anybody else.
    Who may act at all (only the unit's own mediators) is checked with the case."""
    if mediator_id is not None and mediator_id != caller.subject:
        raise forbid(
            Refusal.ACTING_AS_OTHER,
            f"token of {caller.subject} may not act as {mediator_id}",
            subject=caller.subject,
            mediator_id=mediator_id,
        )
    return caller.subject


async def _carry_out(
    guard: Guard, caller: Principal, case_id: str, make: Make, action: str
) -> ActionResult | JSONResponse:
    """Run one action; refusals come back as 404, 403 or 409 and write nothing."""
    if await guard.case_for(caller, case_id, act=True) is None:
        return _not_found(case_id)
    try:
        result = await guard.cases.act(case_id, make)
    except (CaseNotFoundError, NotOfUnitError, lc.NotAssignedError, lc.MisdatedError) as error:
        return _refused(guard, case_id, error)
    except lc.IllegalTransitionError as error:
        return _illegal(error)
    await guard.audit.record(caller, f"case.{action}", case_id=case_id, unit_id=caller.unit_id)
    return result


def _refused(guard: Guard, case_id: str, error: Exception) -> JSONResponse:
    """The 404, 403 or 422 of a refused action."""
    if isinstance(error, NotOfUnitError):
        params = {"mediator_id": error.mediator_id, "unit_id": error.unit_id}
        return _refuse(403, Refusal.NOT_OF_UNIT, str(error), **params)
    if isinstance(error, lc.NotAssignedError):
        return _assigned_to_other(guard, error)
    if isinstance(error, lc.MisdatedError):
        return JSONResponse(status_code=422, content=_misdated(error))
    return _not_found(case_id)


def _assigned_to_other(guard: Guard, error: lc.NotAssignedError) -> JSONResponse:
    """403 naming who holds the case, by name too, so the refused mediator knows whom to ask."""
    holder = guard.cases.mediator_name(error.assigned_to)
    return _refuse(
        403,
        Refusal.ASSIGNED_TO_OTHER,
        str(error),
        action=error.action,
        mediator_id=error.mediator_id,
        assigned_to=error.assigned_to,
        assigned_name=holder,
    )


async def _reassign(
    guard: Guard, caller: Principal, case_id: str, unit_id: str, mediator_id: str
) -> ActionResult | JSONResponse:
    actor = lc.Actor(caller.subject, caller.role.value, caller.unit_id)
    try:
        result = await guard.cases.reassign(case_id, actor, mediator_id)
    except CaseNotFoundError:
        return _not_found(case_id)
    except NotReassignerError as error:
        await guard.audit.record(
            caller, "case.reassign", outcome="denied", case_id=case_id, unit_id=unit_id
        )
        params = {"subject": error.subject, "unit_id": error.unit_id}
        return _refuse(403, Refusal.MAY_NOT_REASSIGN, str(error), **params)
    except NotOfUnitError as error:
        problem = field_error(
            "mediator_id",
            FieldProblem.MEDIATOR_NOT_OF_UNIT,
            str(error),
            mediator_id=error.mediator_id,
            unit_id=error.unit_id,
        )
        return JSONResponse(
            status_code=422, content={"error": "invalid_request", "fields": [problem]}
        )
    except lc.IllegalTransitionError as error:
        return _illegal(error)
    details = {"mediator_id": mediator_id}
    await guard.audit.record(
        caller, "case.reassign", case_id=case_id, unit_id=unit_id, details=details
    )
    return result


def _illegal(error: lc.IllegalTransitionError) -> JSONResponse:
    return _refuse(
        409,
        Refusal.ILLEGAL_TRANSITION,
        str(error),
        action=error.action,
        state=error.state.value,
        allowed_actions=error.allowed,
        why=error.why,
    )


def _misdated(error: lc.MisdatedError) -> dict[str, Any]:
    """The shape of every 422: the field named (`at`, `held_at`), with the code and English."""
    fields = [field_error(error.field, error.code, str(error), **error.params)]
    return {"error": "invalid_request", "fields": fields}


def _not_found(case_id: str) -> JSONResponse:
    return _refuse(404, Refusal.CASE_NOT_FOUND, f"no case {case_id}", case_id=case_id)


def _refuse(status: int, code: Refusal, message: str, **params: Any) -> JSONResponse:
    """The parameters also stand at the top level, where clients have read `state` and
    `allowed_actions` of a 409 since before they were gathered under `params`."""
    body = refusal_body(code, message, **params)
    return JSONResponse(status_code=status, content={**body["params"], **body})


def _outcome_command(body: Any, who: str) -> Make:
    if isinstance(body, ResolvedOutcome):
        return lambda at: lc.Resolve(who, body.when(at), body.agreement, body.summary)
    if isinstance(body, FailedOutcome):
        return lambda at: lc.Fail(who, body.when(at), body.reason)
    if isinstance(body, ReferredOutcome):
        return lambda at: lc.Refer(who, body.when(at), body.referred_to, body.notes)
    return lambda at: lc.Withdraw(who, body.when(at), body.reason)


async def _parse_outcome(request: Request) -> Any:
    """Name the field itself ("agreement"), not the union branch it sits in."""
    try:
        return OUTCOME_BODY.validate_json(await request.body())
    except ValidationError as error:
        errors = []
        for item in error.errors(include_url=False):
            location = list(item["loc"])
            if item["type"].startswith("union_tag"):
                location = ["outcome"]
            elif location and location[0] in ("resolved", "failed", "referred", "withdrawn"):
                location = location[1:]
            errors.append({**item, "loc": ("body", *location)})
        raise RequestValidationError(errors) from None


def create_router(
    store: CaseStore,
    cases: CaseService,
    metrics: MetricsStore,
    *,
    auth: AuthSettings,
    audit: AuditTrail,
    sealer: Sealer,
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["mediation"])
    Respond = ActionResult | JSONResponse  # noqa: N806
    Caller = Annotated[Principal, bearer(auth)]  # noqa: N806
    guard = Guard(store, audit, cases)

    @router.get("/units/{unit_id}/queue", response_model=list[QueueItem])
    async def unit_queue(
        caller: Caller,
        unit_id: Annotated[str, Path(pattern=UNIT_ID_PATTERN)],
        state: Annotated[list[CaseState] | None, Query()] = None,
        mediator_id: Annotated[str | None, Query(max_length=80)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[QueueItem]:
        """Cases of a unit, most pressing first: priority, then due time (acceptance until
        accepted, resolution after). Open cases unless `state` says otherwise."""
        require_read(caller, unit_id)
        documents = await store.queue(unit_id, state or list(OPEN_STATES), mediator_id, limit)
        return [QueueItem.model_validate(document) for document in documents]

    @router.get("/cases/{case_id}", response_model=CaseView)
    async def get_case(caller: Caller, case_id: CaseId) -> CaseView | JSONResponse:
        """State, allowed actions, routing trace and the one timeline across tiers."""
        document = await guard.case_for(caller, case_id, act=False)
        if document is None:
            return _not_found(case_id)
        return case_view(document)

    @router.post("/cases/{case_id}/accept", response_model=ActionResult)
    async def accept(caller: Caller, case_id: CaseId, body: AcceptBody) -> Respond:
        who = _acting_as(caller, body.mediator_id)
        return await _carry_out(
            guard, caller, case_id, lambda at: lc.Accept(who, body.when(at)), "accept"
        )

    @router.post("/cases/{case_id}/sessions", response_model=ActionResult)
    async def hold_session(caller: Caller, case_id: CaseId, body: SessionBody) -> Respond:
        who = _acting_as(caller, body.mediator_id)

        def make(at: Any) -> lc.Command:
            participants = tuple(body.participants)
            return lc.HoldSession(who, body.when(at), body.held_at, participants, body.notes)

        return await _carry_out(guard, caller, case_id, make, "session")

    @router.post(
        "/cases/{case_id}/outcome",
        response_model=ActionResult,
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {}}}},
    )
    async def outcome(caller: Caller, case_id: CaseId, request: Request) -> Respond:
        """`outcome` is one of: resolved (+ agreement oral|written, summary), failed (+ reason;
        the case is escalated one tier up), referred (+ referred_to), withdrawn (+ reason)."""
        body = await _parse_outcome(request)
        command = _outcome_command(body, _acting_as(caller, body.mediator_id))
        return await _carry_out(guard, caller, case_id, command, f"outcome.{body.outcome}")

    @router.post("/cases/{case_id}/follow-up", response_model=ActionResult)
    async def follow_up(caller: Caller, case_id: CaseId, body: FollowUpBody) -> Respond:
        who = _acting_as(caller, body.mediator_id)
        return await _carry_out(
            guard,
            caller,
            case_id,
            lambda at: lc.FollowUp(who, body.when(at), body.fulfilled, body.notes),
            "follow_up",
        )

    @router.post("/cases/{case_id}/visit", response_model=ActionResult)
    async def visit(caller: Caller, case_id: CaseId, body: VisitBody) -> Respond:
        who = _acting_as(caller, body.mediator_id)
        return await _carry_out(
            guard,
            caller,
            case_id,
            lambda at: lc.RecordVisit(who, body.when(at), body.satisfaction, body.notes),
            "visit",
        )

    @router.post("/cases/{case_id}/reassign", response_model=ActionResult)
    async def reassign(caller: Caller, case_id: CaseId, body: ReassignBody) -> Respond:
        """Hand an open case to another mediator of its unit (`mediator_id`): for supervisors
        of the unit or a unit above it, and for the unit's lead (its first mediator by id).
        The case's contacts go with it; audited, on the timeline, and announced
        (`CaseReassigned`) so the router's open-case counts follow."""
        document = await store.get(case_id)
        if document is None:
            return _not_found(case_id)
        require_read(caller, document["unit_id"])
        return await _reassign(guard, caller, case_id, document["unit_id"], body.mediator_id)

    @router.get("/cases/{case_id}/contacts", response_model=None)
    async def contacts(caller: Caller, case_id: CaseId) -> dict[str, Any] | JSONResponse:
        """The parties' sealed contact details, for the mediator holding the case. Each
        opening is audited before the answer leaves."""
        document = await guard.case_for(caller, case_id, act=True)
        if document is None:
            return _not_found(case_id)
        if (assigned := document.get("mediator_id")) != caller.subject:
            raise forbid(
                Refusal.NOT_ASSIGNED,
                f"case {case_id} is assigned to {assigned}",
                case_id=case_id,
                assigned_to=assigned,
            )
        parties = document["dispute"].get("parties", [])
        await audit.record(caller, "sealed.read", case_id=case_id, unit_id=document["unit_id"])
        return {
            "case_id": case_id,
            "parties": [
                {
                    "kind": party.get("kind"),
                    "name": party.get("name"),
                    "contact": sealer.open(party["sealed_contact"])
                    if party.get("sealed_contact")
                    else None,
                }
                for party in parties
            ],
        }

    @router.get("/metrics/resolution")
    async def resolution_metrics(
        caller: Caller,
        unit: Annotated[str | None, Query(pattern=UNIT_ID_PATTERN)] = None,
        start: Annotated[date | None, Query(alias="from")] = None,
        end: Annotated[date | None, Query(alias="to")] = None,
        by: Annotated[Literal["tier", "channel", "category", "day", "unit"] | None, Query()] = None,
    ) -> dict[str, Any]:
        """Figures for the unit's whole subtree over [from, to] (China calendar days), overall
        and grouped `by` one dimension (`unit` = its child units). Median and p90 hours to
        resolution are measured from the stored durations (to 0.01 h). The caller's own unit
        unless another is asked for."""
        unit = unit or caller.unit_id
        require_read(caller, unit)
        documents = await metrics.documents(unit, start, end, children=by == "unit")
        summary = summarise(documents, unit, by)
        backlog = (await metrics.backlog()).get(unit, 0)
        # Mediators serve one unit, so theirs is the unit's own queue, read as it is now.
        by_mediator = await store.open_by_mediator(unit, list(OPEN_STATES))
        period = {"from": start, "to": end}
        figures = {"backlog": backlog, "backlog_by_mediator": by_mediator, **summary}
        return {"unit": unit, **period, "by": by, **figures}

    return router


def prometheus_router(metrics: MetricsStore, auth: AuthSettings) -> APIRouter:
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", response_class=PlainTextResponse)
    async def prometheus(caller: Annotated[Principal, bearer(auth)]) -> PlainTextResponse:
        require_read(caller, in_force().top.id)  # deployment-wide figures
        text = prometheus_text(await metrics.totals(), await metrics.backlog())
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return router
