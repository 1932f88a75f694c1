"""The push channels: a signed webhook POST and an e-mail over SMTP. Each send is one attempt;
retries, leases and the ledger live in delivery.py."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from notifier import rules
from notifier.models import EmailDelivery, WebhookDelivery
from notifier.settings import NotifierSettings


class DeliveryError(Exception):
    """One attempt failed; the delivery may be retried."""


@dataclass(frozen=True)
class Message:
    """What one delivery carries: one alert, or a digest of several, under a stable key."""

    key: str
    subscription_id: str
    alerts: tuple[dict[str, Any], ...]
    digest: bool


class WebhookSender:
    def __init__(self, client: httpx.AsyncClient, clock: Callable[[], datetime]) -> None:
        self._client = client
        self._clock = clock

    async def send(self, delivery: WebhookDelivery, message: Message, attempt: int) -> str:
        if delivery.format == "wecom":
            body = rules.wecom_body(message.alerts, message.digest)
        else:
            body = rules.json_body(
                message.key, message.subscription_id, message.alerts, message.digest
            )
        assert delivery.secret is not None  # set when the subscription was created
        headers = rules.webhook_headers(delivery.secret, message.key, body, self._clock(), attempt)
        try:
            response = await self._client.post(str(delivery.url), content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from error
        if not response.is_success:
            raise DeliveryError(f"HTTP {response.status_code}")
        if delivery.format == "wecom":
            _check_wecom_answer(response)
        return f"HTTP {response.status_code}"


def _check_wecom_answer(response: httpx.Response) -> None:
    """The group robot answers 200 with a non-zero errcode when it refuses a message."""
    try:
        answer = response.json()
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        raise DeliveryError(f"wecom errcode {answer.get('errcode')}: {answer.get('errmsg')}")


class EmailSender:
    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings

    async def send(self, delivery: EmailDelivery, message: Message, attempt: int) -> str:
        settings = self._settings
        subject, text = rules.email_text(message.alerts, message.digest)
        email = EmailMessage()
        email["From"] = settings.smtp_from
        email["To"] = ", ".join(delivery.to)
        email["Subject"] = subject
        # Mail clients drop a second message with the same Message-ID: the receiver's dedupe.
        email["Message-ID"] = f"<{message.key}@tiaojie.notifier>"
        email["X-Tiaojie-Idempotency-Key"] = message.key
        email["X-Tiaojie-Attempt"] = str(attempt)
        email.set_content(text)
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                email,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.delivery_timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"{type(error).__name__}: {error}") from error
        return f"SMTP accepted for {len(delivery.to)} recipient(s)"
