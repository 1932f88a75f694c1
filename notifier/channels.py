"""The push channels: a signed webhook POST and an e-mail over SMTP. Each send is one attempt;
retries, leases and the ledger live in delivery.py."""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx

from notifier import rules, targets
from notifier.models import EmailDelivery, WebhookDelivery
from notifier.settings import NotifierSettings


class DeliveryError(Exception):
    """One attempt failed; the delivery may be retried."""


class TargetRefusedError(DeliveryError):
    """The webhook's target is one the notifier must not reach: no attempt will change that."""


Resolver = Callable[[str, int], Awaitable[list[targets.IPAddress]]]
"""A host name and port to the addresses a connection would go to."""


async def resolve_host(host: str, port: int) -> list[targets.IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # Without an IPv6 zone ("%eth0"): it has no place in a URL, and no global address has one.
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    return list(dict.fromkeys(addresses))


@dataclass(frozen=True)
class PinnedTarget:
    """Where one POST goes: the URL with its host replaced by the address that was checked,
    so no second lookup can lead the connection elsewhere (DNS rebinding). The name still
    goes in the Host header and, for https, in SNI and the certificate check."""

    url: httpx.URL
    host_header: str
    extensions: dict[str, Any]


class TargetGuard:
    """Checks a webhook URL before each attempt, on the URL and on every address its host
    resolves to now (notifier/targets.py decides), and pins the connection to the address."""

    def __init__(
        self, allow: targets.AllowList, resolve: Resolver = resolve_host, timeout_s: float = 10
    ) -> None:
        self._allow = allow
        self._resolve = resolve
        self._timeout_s = timeout_s

    async def pin(self, url: str) -> PinnedTarget:
        refused = targets.refuse_url(url, self._allow)
        if refused is not None:
            raise TargetRefusedError(f"target refused: {refused.message}")
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")  # an IDN in its punycode form, as DNS knows it
        address = targets.parse_address(host)
        if address is None:
            address = await self._checked_address(host, parsed)
            extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
        else:
            extensions = {}
        return PinnedTarget(
            url=parsed.copy_with(host=str(address)),
            host_header=parsed.netloc.decode("ascii"),
            extensions=extensions,
        )

    async def _checked_address(self, host: str, url: httpx.URL) -> targets.IPAddress:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            async with asyncio.timeout(self._timeout_s):
                addresses = await self._resolve(host, port)
        except (OSError, TimeoutError) as error:
            raise DeliveryError(f"cannot resolve {host}: {error or 'timed out'}") from error
        if not addresses:
            raise DeliveryError(f"cannot resolve {host}: no addresses")
        if not self._allow.permits_name(host):
            # Every answer, not just the one used: a name that mixes public and private
            # answers is a name someone is playing with.
            for address in addresses:
                refused = targets.refuse_address(address, self._allow)
                if refused is not None:
                    message = f"{host} resolves to {refused.message}"
                    raise TargetRefusedError(f"target refused: {message}")
        return addresses[0]


@dataclass(frozen=True)
class Message:
    """What one delivery carries: one alert, or a digest of several, under a stable key."""

    key: str
    subscription_id: str
    alerts: tuple[dict[str, Any], ...]
    digest: bool


class WebhookSender:
    def __init__(
        self, client: httpx.AsyncClient, guard: TargetGuard, clock: Callable[[], datetime]
    ) -> None:
        self._client = client
        self._guard = guard
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
        target = await self._guard.pin(str(delivery.url))
        headers["Host"] = target.host_header
        try:
            response = await self._client.post(
                target.url, content=body, headers=headers, extensions=target.extensions
            )
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
