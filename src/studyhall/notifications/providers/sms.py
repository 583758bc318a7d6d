"""SMS providers: Twilio's REST shape (any compatible endpoint), and a log provider for dev."""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from studyhall.notifications.config import NotificationConfig

log = logging.getLogger(__name__)


class SmsError(Exception):
    """The provider refused or could not be reached; the delivery job retries."""


class SmsProvider(Protocol):
    async def send(self, to: str, body: str) -> str:
        """Send ``body`` to the E.164 number ``to``; the provider's message id."""
        ...


class LogSmsProvider:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, body: str) -> str:
        self.sent.append((to, body))
        log.info("sms (log provider)", extra={"length": len(body)})
        return f"log-{len(self.sent)}"


class TwilioSmsProvider:
    """``POST /2010-04-01/Accounts/{sid}/Messages.json``, form-encoded, HTTP basic auth."""

    def __init__(
        self, base_url: str, account_sid: str, auth_token: str, sender: str, timeout_s: float
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = httpx.BasicAuth(account_sid, auth_token)
        self.sender = sender
        self.timeout_s = timeout_s

    async def send(self, to: str, body: str) -> str:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as http:
                response = await http.post(
                    self.url, data={"To": to, "From": self.sender, "Body": body}, auth=self.auth
                )
        except httpx.HTTPError as exc:
            raise SmsError(f"SMS provider unreachable: {exc}") from exc
        if response.status_code >= 300:
            raise SmsError(f"SMS provider said {response.status_code}: {_twilio_error(response)}")
        sid = response.json().get("sid")
        if not isinstance(sid, str):
            raise SmsError("SMS provider answered without a message sid")
        return sid


def _twilio_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return f"{body.get('code')} {body.get('message')}"


_log_provider = LogSmsProvider()


def provider(config: NotificationConfig) -> SmsProvider:
    if config.sms_backend == "twilio":
        return TwilioSmsProvider(
            config.twilio_base_url,
            config.twilio_account_sid,
            config.twilio_auth_token.get_secret_value(),
            config.twilio_from,
            config.sms_timeout_s,
        )
    return _log_provider
