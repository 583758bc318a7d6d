"""Jinja2 templates: one text template per type gives the subject, body, SMS and action; one
HTML layout wraps the body. Times are shown in the recipient's zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from studyhall.notifications.models import is_transactional

_SECTION = re.compile(r"^=====(\w+)=====$", re.MULTILINE)
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    sms: str


@pass_context
def _local(context: Context, value: Any, fmt: str | None = None) -> str:
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    local = moment.astimezone(context["zone"])
    if fmt is not None:
        return local.strftime(fmt)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} {local.tzname()}"


def _money(cents: Any, currency: Any = None) -> str:
    if cents is None or cents == "":
        return ""
    code = str(currency or "USD").upper()
    if code in _ZERO_DECIMAL:
        return f"{int(cents)} {code}"
    return f"{int(cents) / 100:.2f} {code}"


@lru_cache
def _environments() -> tuple[Environment, Environment]:
    loader = PackageLoader("studyhall.notifications", "templates")
    # Text goes out as text/plain and into SMS: escaping would show "&amp;" to people.
    text_env = Environment(loader=loader, autoescape=False, keep_trailing_newline=False)
    html_env = Environment(loader=loader, autoescape=select_autoescape(["html"]))
    for env in (text_env, html_env):
        env.filters["local"] = _local
        env.filters["money"] = _money
    return text_env, html_env


def _absolute(url: str, base_url: str | None) -> str:
    if base_url and url.startswith("/") and not url.startswith("//"):
        return base_url.rstrip("/") + url
    return url


def _sections(rendered: str) -> dict[str, str]:
    parts = _SECTION.split(rendered)
    sections = {"subject": parts[0].strip()}
    for name, content in zip(parts[1::2], parts[2::2], strict=True):
        sections[name] = content.strip("\n")
    return sections


def render(
    type_: str,
    payload: dict[str, Any],
    *,
    name: str,
    zone: ZoneInfo,
    unsubscribe_url: str | None = None,
    base_url: str | None = None,
) -> Rendered:
    """``base_url``: links in the payload are site paths (``/bookings/…``, which the in-app inbox
    opens as they are); an email needs them absolute, so they are joined to it."""
    text_env, html_env = _environments()
    sections = _sections(
        text_env.get_template(f"{type_}.txt").render(p=payload, name=name, zone=zone)
    )
    action_url = _absolute(sections["action_url"].strip(), base_url)
    subject = " ".join(sections["subject"].split())
    body = sections["body"].strip()
    paragraphs = [block.splitlines() for block in re.split(r"\n\s*\n", body) if block.strip()]
    html = html_env.get_template("layout.html").render(
        subject=subject,
        paragraphs=paragraphs,
        action_url=action_url,
        action_label=sections["action_label"].strip(),
        unsubscribe_url=unsubscribe_url,
        type_label=type_.replace("_", " "),
    )
    text = body
    if action_url:
        text += f"\n\n{sections['action_label'].strip()}: {action_url}"
    if unsubscribe_url and not is_transactional(type_):
        text += f"\n\n--\nUnsubscribe from these emails: {unsubscribe_url}"
    return Rendered(
        subject=subject, text=text + "\n", html=html, sms=" ".join(sections["sms"].split())
    )
