"""Intake HTTP endpoints: validate, publish with acks=all, answer 202 only once Kafka has it."""

import asyncio
import uuid
from datetime import UTC, datetime

import structlog
from aiokafka.errors import KafkaError
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from contracts.events import DisputeReported
from intake.models import HotlineReport, ReportAccepted
from intake.service import hotline_dispute, new_tracking_number
from intake.settings import IntakeSettings
from services.privacy import Sealer
from services.publishing import EventPublisher

RETRY_AFTER_S = "5"


def create_router(
    publisher: EventPublisher,
    settings: IntakeSettings,
    sealer: Sealer,
    logger: structlog.stdlib.BoundLogger,
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["intake"])

    @router.post(
        "/disputes",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ReportAccepted,
        responses={503: {"description": "Kafka did not acknowledge; retry later"}},
    )
    async def report_dispute(report: HotlineReport) -> ReportAccepted | JSONResponse:
        now = datetime.now(UTC)
        dispute_id = str(uuid.uuid4())
        dispute = hotline_dispute(
            report,
            dispute_id=dispute_id,
            tracking_number=new_tracking_number(settings.tracking_prefix, now),
            sealer=sealer,
        )
        event = DisputeReported(occurred_at=now, correlation_id=dispute_id, dispute=dispute)
        try:
            async with asyncio.timeout(settings.publish_timeout_s):
                await publisher.publish(event)
        except (KafkaError, TimeoutError) as error:
            logger.warning("report not acknowledged by Kafka", error=repr(error))
            return JSONResponse(
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": RETRY_AFTER_S},
                content={"error": "unavailable", "message": "report not stored; retry later"},
            )
        logger.info("dispute reported", dispute_id=dispute_id, channel=dispute.channel)
        return ReportAccepted(dispute_id=dispute_id, tracking_number=dispute.tracking_number)

    return router
