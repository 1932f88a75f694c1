"""Mediator and supervisor HTTP endpoints."""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError

from contracts.ids import COUNTY_UNIT_ID, UNIT_ID_PATTERN
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
    ReferredOutcome,
    ResolvedOutcome,
    SessionBody,
    VisitBody,
    case_view,
)
from mediation.service import CaseNotFoundError, CaseService, NotOfUnitError
from mediation.store import CaseStore

CaseId = Annotated[str, Path(min_length=1, max_length=80)]
Make = Callable[[Any], lc.Command]
_REFUSALS = {404: "case_not_found", 403: "not_of_unit", 409: "illegal_transition"}


async def _carry_out(cases: CaseService, case_id: str, make: Make) -> ActionResult | JSONResponse:
    """Run one action; refusals come back as 404, 403 or 409 and write nothing."""
    try:
        return await cases.act(case_id, make)
    except CaseNotFoundError:
        return _refuse(404, f"no case {case_id}")
    except NotOfUnitError as error:
        return _refuse(403, str(error))
    except lc.IllegalTransitionError as error:
        return _refuse(409, str(error), state=error.state.value, allowed_actions=error.allowed)


def _refuse(status: int, message: str, **extra: Any) -> JSONResponse:
    content = {"error": _REFUSALS[status], "message": message, **extra}
    return JSONResponse(status_code=status, content=content)


def _outcome_command(body: Any) -> Make:
    if isinstance(body, ResolvedOutcome):
        return lambda at: lc.Resolve(body.mediator_id, body.when(at), body.agreement, body.summary)
    if isinstance(body, FailedOutcome):
        return lambda at: lc.Fail(body.mediator_id, body.when(at), body.reason)
    if isinstance(body, ReferredOutcome):
        return lambda at: lc.Refer(body.mediator_id, body.when(at), body.referred_to, body.notes)
    return lambda at: lc.Withdraw(body.mediator_id, body.when(at), body.reason)


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


def create_router(store: CaseStore, cases: CaseService, metrics: MetricsStore) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["mediation"])
    Respond = ActionResult | JSONResponse  # noqa: N806

    @router.get("/units/{unit_id}/queue", response_model=list[QueueItem])
    async def unit_queue(
        unit_id: Annotated[str, Path(pattern=UNIT_ID_PATTERN)],
        state: Annotated[list[CaseState] | None, Query()] = None,
        mediator_id: Annotated[str | None, Query(max_length=80)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[QueueItem]:
        """Cases of a unit, most pressing first: priority, then due time (acceptance until
        accepted, resolution after). Open cases unless `state` says otherwise."""
        documents = await store.queue(unit_id, state or list(OPEN_STATES), mediator_id, limit)
        return [QueueItem.model_validate(document) for document in documents]

    @router.get("/cases/{case_id}", response_model=CaseView)
    async def get_case(case_id: CaseId) -> CaseView | JSONResponse:
        """State, allowed actions, routing trace and the one timeline across tiers."""
        document = await store.get(case_id)
        if document is None:
            return _refuse(404, f"no case {case_id}")
        return case_view(document)

    @router.post("/cases/{case_id}/accept", response_model=ActionResult)
    async def accept(case_id: CaseId, body: AcceptBody) -> Respond:
        return await _carry_out(
            cases, case_id, lambda at: lc.Accept(body.mediator_id, body.when(at))
        )

    @router.post("/cases/{case_id}/sessions", response_model=ActionResult)
    async def hold_session(case_id: CaseId, body: SessionBody) -> Respond:
        def make(at: Any) -> lc.Command:
            participants = tuple(body.participants)
            return lc.HoldSession(
                body.mediator_id, body.when(at), body.held_at, participants, body.notes
            )

        return await _carry_out(cases, case_id, make)

    @router.post(
        "/cases/{case_id}/outcome",
        response_model=ActionResult,
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {}}}},
    )
    async def outcome(case_id: CaseId, request: Request) -> Respond:
        """`outcome` is one of: resolved (+ agreement oral|written, summary), failed (+ reason;
        the case is escalated one tier up), referred (+ referred_to), withdrawn (+ reason)."""
        body = await _parse_outcome(request)
        return await _carry_out(cases, case_id, _outcome_command(body))

    @router.post("/cases/{case_id}/follow-up", response_model=ActionResult)
    async def follow_up(case_id: CaseId, body: FollowUpBody) -> Respond:
        return await _carry_out(
            cases,
            case_id,
            lambda at: lc.FollowUp(body.mediator_id, body.when(at), body.fulfilled, body.notes),
        )

    @router.post("/cases/{case_id}/visit", response_model=ActionResult)
    async def visit(case_id: CaseId, body: VisitBody) -> Respond:
        return await _carry_out(
            cases,
            case_id,
            lambda at: lc.RecordVisit(
                body.mediator_id, body.when(at), body.satisfaction, body.notes
            ),
        )

    @router.get("/metrics/resolution")
    async def resolution_metrics(
        unit: Annotated[str, Query(pattern=UNIT_ID_PATTERN)] = COUNTY_UNIT_ID,
        start: Annotated[date | None, Query(alias="from")] = None,
        end: Annotated[date | None, Query(alias="to")] = None,
        by: Annotated[Literal["tier", "channel", "category", "day", "unit"] | None, Query()] = None,
    ) -> dict[str, Any]:
        """Figures for the unit's whole subtree over [from, to] (China calendar days), overall
        and grouped `by` one dimension (`unit` = its child units). Median and p90 are the
        upper edge of the histogram bucket holding them."""
        documents = await metrics.documents(unit, start, end, children=by == "unit")
        summary = summarise(documents, unit, by)
        backlog = (await metrics.backlog()).get(unit, 0)
        period = {"from": start, "to": end}
        return {"unit": unit, **period, "by": by, "backlog": backlog, **summary}

    return router


def prometheus_router(metrics: MetricsStore) -> APIRouter:
    router = APIRouter(tags=["metrics"])

    @router.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        text = prometheus_text(await metrics.totals(), await metrics.backlog())
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    return router
