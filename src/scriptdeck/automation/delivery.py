"""Sending the notifications outbox: each row claimed once, sent by email or HTTP, retried.

The rows are written by ``notifications.queue_deliveries`` when a run ends;
:func:`deliver_due` (the scheduler process calls it on every pass) sends them.

Each due row is claimed by a conditional UPDATE (status pending and the
``next_attempt_at`` seen), which moves ``next_attempt_at`` a lease ahead, so two processes
never send one row; a process that dies mid-send leaves the row to be retried once the
lease lapses. A 2xx answer (or an email handed to the backend) is ``sent``; anything else
is retried after 30 s, 2 min, 8 min, 30 min, 30 min… until ``SCRIPTDECK_NOTIFY_ATTEMPTS``
attempts, then ``failed``. A target that can never work (not an http(s) URL, no valid
address, a signing secret that no key decrypts) fails at once, with the reason.

The channels: ``email`` (Django's email backend) and HTTP, a signed JSON ``POST`` to the
rule's URL (stored as the channel value ``"webhook"``, which the admin and existing rows
already hold: see docs/automation.md).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db.models import F
from django.utils import timezone

from scriptdeck.security.crypto import DecryptError, decrypt_text

from .models import Channel, DeliveryStatus, NotificationDelivery, NotificationRule
from .notifications import ERROR_CHARS, compose, sign

log = logging.getLogger(__name__)

# How long a claimed row is left to the process that claimed it before another one may
# retry it: well above an HTTP POST's timeout and a slow mail server's answer.
LEASE_SECONDS = 120
BACKOFF_SECONDS = (30, 120, 480, 1800)
HTTP_TIMEOUT = 10.0
EMAIL_TIMEOUT = 30.0

# --- sending -------------------------------------------------------------------------------


class DeliveryRefused(Exception):
    """A delivery that can never succeed as configured: failed at once, not retried."""


class DeliveryFailed(Exception):
    """An attempt that did not get through; retried. ``status``: the HTTP answer, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def max_attempts() -> int:
    return max(1, int(getattr(settings, "SCRIPTDECK_NOTIFY_ATTEMPTS", 5)))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 2 min, 8 min, 30 min, 30 min…"""
    index = min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1
    return timedelta(seconds=BACKOFF_SECONDS[index])


def claim(delivery_id: int, seen_next_attempt_at: datetime, now: datetime) -> bool:
    """Take a due row for one attempt, if nobody else took it since it was read.

    A conditional UPDATE: only the process whose UPDATE matches the ``next_attempt_at`` it
    read wins; the lease moves that date on, and the attempt is counted up front, so a
    process that dies mid-send still uses up an attempt.
    """
    return bool(
        NotificationDelivery.objects.filter(
            pk=delivery_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at=seen_next_attempt_at,
        ).update(
            next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
            attempts=F("attempts") + 1,
        )
    )


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """Send the pending deliveries that are due; return how many were attempted."""
    now = now or timezone.now()
    due = list(
        NotificationDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    attempted = 0
    for delivery_id, seen in due:
        if not claim(delivery_id, seen, now):
            continue  # another process has it
        attempted += 1
        _attempt(delivery_id, now)
    return attempted


def _attempt(delivery_id: int, now: datetime) -> None:
    delivery = (
        NotificationDelivery.objects.select_related(
            "rule", "execution", "execution__user", "execution__script"
        )
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:  # deleted meanwhile (its rule or its run)
        return
    mine = NotificationDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
    try:
        if not delivery.rule.enabled:
            raise DeliveryRefused("the rule was disabled before this was sent")
        sender = SENDERS.get(delivery.channel)
        if sender is None:
            raise DeliveryRefused(f"unknown channel {delivery.channel!r}")
        response_status = sender(delivery)
    except DeliveryRefused as exc:
        log.warning("notification %s refused: %s", delivery_id, exc)
        mine.update(status=DeliveryStatus.FAILED, last_error=str(exc)[:ERROR_CHARS])
        return
    except Exception as exc:  # a network error, a 5xx, a mail server down: retried
        import httpx

        status = exc.status if isinstance(exc, DeliveryFailed) else None
        if not isinstance(exc, DeliveryFailed | httpx.HTTPError | OSError):
            log.exception("notification %s: unexpected error while sending", delivery_id)
        message = f"attempt {delivery.attempts}: {_describe(exc)}"[:ERROR_CHARS]
        if delivery.attempts >= max_attempts():
            log.warning("notification %s failed for good: %s", delivery_id, message)
            mine.update(status=DeliveryStatus.FAILED, last_error=message, response_status=status)
        else:
            log.info("notification %s will be retried: %s", delivery_id, message)
            mine.update(
                next_attempt_at=now + backoff(delivery.attempts),
                last_error=message,
                response_status=status,
            )
        return
    mine.update(
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
        response_status=response_status,
        last_error="",
    )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- channels ------------------------------------------------------------------------------


def email_addresses(target: str) -> list[str]:
    """The addresses of a comma-separated target; :class:`DeliveryRefused` if one is bad."""
    addresses = [part.strip() for part in (target or "").split(",") if part.strip()]
    if not addresses:
        raise DeliveryRefused("no email address in the target")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise DeliveryRefused(f"not an email address: {address!r}") from None
    return addresses


def http_url(target: str) -> str:
    """The target as an http(s) URL; :class:`DeliveryRefused` for anything else."""
    url = (target or "").strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise DeliveryRefused(f"not a valid URL: {url!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise DeliveryRefused(f"the target must be an http(s) URL, not {url!r}")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise DeliveryRefused("the URL contains whitespace or control characters")
    return url


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip_literal(host: str) -> Address | None:
    """The address a host names by itself, in any form a resolver reads as IPv4 too.

    ``2130706433``, ``0x7f000001``, ``0177.0.0.1`` and ``127.1`` are all 127.0.0.1 to the
    C resolver; ``inet_aton`` reads them the same way.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _resolved(host: str, port: int) -> list[Address]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []  # not resolvable now: sending will fail and be retried, checked again
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]


def _inside(address: Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if any(address in network for network in settings.SCRIPTDECK_ALLOW_PRIVATE_TARGETS):
        return False
    return not address.is_global or address.is_multicast


def public_target(url: str) -> None:
    """Refuse a URL whose host is, or resolves to, a loopback, link-local, private or
    reserved address (the server's own services, its cloud's metadata, the LAN), unless
    ``SCRIPTDECK_ALLOW_PRIVATE_TARGETS`` names it. Checked when a rule is saved and again
    before each send, since a name may resolve elsewhere by then."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = _ip_literal(host)
    default_port = 443 if parts.scheme.lower() == "https" else 80
    addresses = [literal] if literal else _resolved(host, parts.port or default_port)
    for address in addresses:
        if _inside(address):
            raise DeliveryRefused(
                f"the target {host} is {address}, a loopback, link-local, private or "
                "reserved address; list it in SCRIPTDECK_ALLOW_PRIVATE_TARGETS to allow it"
            )


def send_email(delivery: NotificationDelivery) -> int | None:
    addresses = email_addresses(delivery.target)
    message = compose(delivery)
    connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or EMAIL_TIMEOUT)
    EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=addresses,
        connection=connection,
        headers={"X-Scriptdeck-Event": message.event},
    ).send(fail_silently=False)
    return None


def signing_secret(rule: NotificationRule) -> str:
    """The rule's secret in clear ("" when none); :class:`DeliveryRefused` when unreadable."""
    if not rule.signing_secret:
        return ""
    try:
        return decrypt_text(rule.signing_secret)
    except DecryptError as exc:
        raise DeliveryRefused(f"the rule's signing secret cannot be decrypted: {exc}") from None


def send_http(delivery: NotificationDelivery) -> int:
    url = http_url(delivery.target)
    public_target(url)
    secret = signing_secret(delivery.rule)
    message = compose(delivery)
    body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "scriptdeck",
        "X-Scriptdeck-Event": message.event,
        "X-Scriptdeck-Delivery": str(delivery.pk),
        "X-Scriptdeck-Timestamp": timestamp,
    }
    if secret:
        headers["X-Scriptdeck-Signature"] = sign(secret, timestamp, body)
    # Imported here: only the process that sends notifications needs it (its command-line
    # part alone, which it imports, weighs on every web and worker process).
    import httpx

    response = httpx.post(
        url, content=body, headers=headers, timeout=HTTP_TIMEOUT, follow_redirects=False
    )
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(
            f"the receiver answered HTTP {response.status_code}", status=response.status_code
        )
    return response.status_code


# Looked up at each attempt (tests may replace one).
SENDERS: dict[str, Callable[[NotificationDelivery], int | None]] = {
    Channel.EMAIL: send_email,
    Channel.HTTP: send_http,
}
