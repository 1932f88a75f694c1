"""Intake's own HTTP face: one endpoint per channel, and the status of a report.

Every channel answers 202 only once Kafka has acknowledged the event (acks=all), 503 with
Retry-After when it did not, and 422 naming the field for a bad body.
"""

import hashlib
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import structlog
from fastapi import APIRouter, Header, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import PyMongoError

from contracts.registry import Registry
from intake.models import (
    GridReport,
    HotlineReport,
    MessageRecorded,
    PetitionReport,
    ReportAccepted,
    WeChatMessage,
)
from intake.pipeline import Accepted, Intake, KeyConflictError, NotPublishedError, Outcome, Recorded
from intake.service import grid_draft, hotline_draft, petition_draft, wechat_draft
from intake.settings import IntakeSettings
from intake.status import DisputeStatus, dispute_status
from intake.store import IntakeStore
from intake.wechat import Verdict, read_message
from services.mongo import Document
from services.privacy import Sealer

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


def accepted(outcome: Accepted) -> ReportAccepted:
    dispute = outcome.dispute
    return ReportAccepted(
        dispute_id=dispute.dispute_id,
        tracking_number=dispute.tracking_number,
        needs_triage=dispute.needs_triage,
        triage_reason=dispute.triage_reason,
        possible_duplicate_of=dispute.possible_duplicate_of,
    )


@dataclass(frozen=True)
class Wiring:
    """What the HTTP endpoints are built from."""

    intake: Intake
    store: IntakeStore
    registry: Registry
    sealer: Sealer
    settings: IntakeSettings
    logger: structlog.stdlib.BoundLogger


class Refusals(Protocol):
    """How an endpoint family words its refusals (intake JSON or GeoReport)."""

    def unavailable(self, retry_after_s: int) -> JSONResponse: ...

    def conflict(self, field: str, message: str) -> JSONResponse: ...


class IntakeRefusals:
    def unavailable(self, retry_after_s: int) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(retry_after_s)},
            content={"error": "unavailable", "message": "report not stored; retry later"},
        )

    def conflict(self, field: str, message: str) -> JSONResponse:
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT,
            content={"error": "conflict", "fields": [{"field": field, "message": message}]},
        )


async def settle(
    outcome: Awaitable[Outcome],
    settings: IntakeSettings,
    logger: structlog.stdlib.BoundLogger,
    *,
    key_field: str = "Idempotency-Key",
    refusals: Refusals | None = None,
) -> Outcome | JSONResponse:
    """The outcome, or the refusal to send when it could not be stored."""
    refusals = refusals or IntakeRefusals()
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
    settings: IntakeSettings,
    logger: structlog.stdlib.BoundLogger,
    key_field: str = "Idempotency-Key",
) -> JSONResponse:
    result = await settle(outcome, settings, logger, key_field=key_field)
    if isinstance(result, JSONResponse):
        return result
    if isinstance(result, Recorded):
        body = MessageRecorded(message_id=result.message_id, reason=result.reason)
        return JSONResponse(status_code=status.HTTP_200_OK, content=body.model_dump(mode="json"))
    return JSONResponse(
        status_code=status.HTTP_202_ACCEPTED, content=accepted(result).model_dump(mode="json")
    )


def create_router(wiring: Wiring) -> APIRouter:
    intake, store, registry, sealer = wiring.intake, wiring.store, wiring.registry, wiring.sealer
    settings, logger = wiring.settings, wiring.logger
    router = APIRouter(prefix="/v1", tags=["intake"])
    radius = settings.geo_radius_km

    @router.post(
        "/disputes",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ReportAccepted,
        responses=UNAVAILABLE,
    )
    async def report_by_hotline(
        report: HotlineReport, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        outcome = intake.submit(
            lambda ids: hotline_draft(report, ids, sealer, registry, radius),
            key=f"hotline:{idempotency_key}" if idempotency_key else None,
            fingerprint=fingerprint(report),
        )
        return await answer(outcome, settings, logger)

    @router.post(
        "/channels/wechat/messages",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ReportAccepted,
        responses={200: {"model": MessageRecorded}, **UNAVAILABLE},
    )
    async def report_by_wechat(message: WeChatMessage) -> JSONResponse:
        """The message id is the key: a message forwarded twice is answered the same way."""
        reading = read_message(message.text)
        recorded = None
        if reading.verdict is Verdict.NOT_A_DISPUTE:
            recorded = Recorded(message.message_id, reading.reason)
        outcome = intake.submit(
            lambda ids: wechat_draft(message, reading, ids, registry),
            key=f"wechat:{message.group_id}:{message.message_id}",
            not_a_dispute=recorded,
        )
        return await answer(outcome, settings, logger, key_field="message_id")

    @router.post(
        "/channels/grid/reports",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ReportAccepted,
        responses=UNAVAILABLE,
    )
    async def report_by_grid_worker(
        report: GridReport, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        key = report.report_id or idempotency_key
        outcome = intake.submit(
            lambda ids: grid_draft(report, ids, sealer, registry),
            key=f"grid:{key}" if key else None,
            fingerprint=fingerprint(report),
        )
        field = "report_id" if report.report_id else "Idempotency-Key"
        return await answer(outcome, settings, logger, key_field=field)

    @router.post(
        "/channels/petitions",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ReportAccepted,
        responses=UNAVAILABLE,
    )
    async def report_by_petition_agent(
        report: PetitionReport, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        key = f"{report.agent_id}:{report.petition_ref}" if report.petition_ref else idempotency_key
        outcome = intake.submit(
            lambda ids: petition_draft(report, ids, sealer, registry, radius),
            key=f"petition:{key}" if key else None,
            fingerprint=fingerprint(report),
        )
        field = "petition_ref" if report.petition_ref else "Idempotency-Key"
        return await answer(outcome, settings, logger, key_field=field)

    @router.get(
        "/disputes/{reference}",
        response_model=DisputeStatus,
        responses={404: {"description": "No acknowledged report with this id"}},
    )
    async def dispute_status_of(reference: str) -> DisputeStatus | JSONResponse:
        """`reference` is the dispute id or the tracking number."""
        found = await find_dispute(store, reference)
        if found is None:
            return JSONResponse(status_code=404, content={"error": "not_found"})
        return dispute_status(found, await store.status_entries(found["_id"]))

    return router


async def find_dispute(store: IntakeStore, reference: str) -> Document | None:
    if TRACKING_NUMBER.match(reference):
        return await store.dispute_by_tracking(reference)
    return await store.dispute(reference)
