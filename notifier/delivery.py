"""Delivering one claimed job (an alert, or a digest) to one subscriber, under a lease.

Exactly once as the subscriber sees it: the job was claimed by an insert keyed by (alert,
subscription) or (subscription, digest window), so no second job for the same pair exists.
The holder renews the lease before every attempt; a holder that dies stops renewing and the
sweep resumes the job after the lease expires. A holder killed after the receiver got the
message but before the outcome was recorded makes the resumed job send it again, with the
same `Idempotency-Key` (webhook) or `Message-ID` (e-mail): receivers drop what they already
have by that key. Without the resume the alert could be lost, which is just as wrong.
"""

import asyncio
import json
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from faststream.kafka import KafkaBroker

from contracts import topics
from notifier import rules
from notifier.channels import (
    DeliveryError,
    EmailSender,
    Message,
    TargetRefusedError,
    WebhookSender,
)
from notifier.models import EmailDelivery, Subscription, WebhookDelivery
from notifier.settings import NotifierSettings
from notifier.store import CANCELLED, DELIVERED, FAILED, LeasedJobs
from services.mongo import Document


@dataclass(frozen=True)
class Job:
    jobs: LeasedJobs
    job_id: str
    token: str
    attempts: int
    """Attempts already made, by this process or one that died."""
    message: Message

    @classmethod
    def from_document(cls, jobs: LeasedJobs, document: Document) -> "Job":
        digest = "alerts" in document
        alerts = tuple(document["alerts"]) if digest else (document["alert"],)
        return cls(
            jobs=jobs,
            job_id=document["_id"],
            token=document["token"],
            attempts=int(document.get("attempts", 0)),
            message=Message(
                key=document["idempotency_key"],
                subscription_id=document["subscription_id"],
                alerts=alerts,
                digest=digest,
            ),
        )


def new_token() -> str:
    return secrets.token_hex(8)


class DeadLetters:
    """A delivery that used up its attempts goes to the dead-letter topic with the
    services/consumer.py headers, plus which subscription and delivery it was."""

    def __init__(self, broker: KafkaBroker, group_id: str, clock: Callable[[], datetime]) -> None:
        self._broker = broker
        self._group_id = group_id
        self._clock = clock

    async def publish(self, job: Job, reason: str, attempts: int) -> None:
        message = job.message
        if message.digest:
            body = rules.json_body(message.key, message.subscription_id, message.alerts, True)
            key = message.subscription_id
        else:
            body = json.dumps(message.alerts[0], ensure_ascii=False).encode()
            key = str(message.alerts[0].get("correlation_id") or message.subscription_id)
        headers = {
            "x-dlq-error": f"delivery failed: {reason}"[:2000],
            "x-dlq-original-topic": topics.ALERTS,
            "x-dlq-attempts": str(attempts),
            "x-dlq-consumer-group": self._group_id,
            "x-dlq-failed-at": self._clock().isoformat(),
            "x-dlq-subscription-id": message.subscription_id,
            "x-dlq-delivery-id": job.job_id,
            "x-dlq-idempotency-key": message.key,
        }
        await self._broker.publish(body, topics.DEAD_LETTER, key=key.encode(), headers=headers)


class Deliverer:
    def __init__(
        self,
        *,
        subscriptions: Callable[[str], Subscription | None],
        webhook: WebhookSender,
        email: EmailSender,
        dead_letters: DeadLetters,
        settings: NotifierSettings,
        logger: structlog.stdlib.BoundLogger,
        clock: Callable[[], datetime],
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._subscriptions = subscriptions
        self._webhook = webhook
        self._email = email
        self._dead_letters = dead_letters
        self._settings = settings
        self._log = logger
        self._clock = clock
        self._jitter = jitter
        self._slots = asyncio.Semaphore(settings.max_concurrent_deliveries)
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, job: Job) -> None:
        """Deliver in the background: the consumer commits once the claim is stored."""
        task = asyncio.create_task(self._guarded(job), name=f"deliver {job.job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Unfinished jobs keep their claim; the next process's sweep resumes them."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _guarded(self, job: Job) -> None:
        async with self._slots:
            try:
                await self.deliver(job)
            except Exception as error:
                # The claim stays; when its lease expires the sweep tries again.
                self._log.exception("delivery interrupted", job=job.job_id, error=repr(error))

    async def deliver(self, job: Job) -> None:
        settings = self._settings
        log = self._log.bind(job=job.job_id, key=job.message.key)
        subscription = self._subscriptions(job.message.subscription_id)
        if subscription is None:
            await job.jobs.finish(job.job_id, job.token, CANCELLED, {"ended_at": self._clock()})
            log.info("delivery cancelled: subscription deleted")
            return
        reason, made = "", job.attempts
        # A resumed job gets at least one attempt, even if its holder died during the last.
        first = min(job.attempts + 1, settings.delivery_attempts)
        for attempt in range(first, settings.delivery_attempts + 1):
            until = rules.lease_until(self._clock(), settings.delivery_lease_s)
            if not await job.jobs.renew(job.job_id, job.token, until, attempt):
                log.info("delivery taken over by another process")
                return
            made = attempt
            try:
                detail = await self._send(subscription, job.message, attempt)
            except TargetRefusedError as error:
                reason = str(error)
                log.warning("delivery refused", attempt=attempt, error=reason)
                break  # the next attempt would be refused the same way
            except DeliveryError as error:
                reason = str(error)
                log.warning("delivery attempt failed", attempt=attempt, error=reason)
            else:
                outcome = {"ended_at": self._clock(), "attempts": attempt, "detail": detail}
                await job.jobs.finish(job.job_id, job.token, DELIVERED, outcome)
                log.info("delivered", attempt=attempt, detail=detail)
                return
            if attempt < settings.delivery_attempts:
                wait = rules.backoff_s(
                    attempt, settings.retry_base_s, settings.retry_max_s, self._jitter
                )
                await asyncio.sleep(wait)
        # Dead-letter before recording the failure: a crash in between repeats the dead letter
        # rather than losing it.
        await self._dead_letters.publish(job, reason, made)
        outcome = {"ended_at": self._clock(), "attempts": made, "detail": reason}
        await job.jobs.finish(job.job_id, job.token, FAILED, outcome)
        log.error("delivery failed and dead-lettered", attempts=made, error=reason)

    async def _send(self, subscription: Subscription, message: Message, attempt: int) -> str:
        delivery: Any = subscription.delivery
        if isinstance(delivery, WebhookDelivery):
            return await self._webhook.send(delivery, message, attempt)
        if isinstance(delivery, EmailDelivery):
            return await self._email.send(delivery, message, attempt)
        raise DeliveryError(f"{delivery.type} subscriptions are read, not pushed")
