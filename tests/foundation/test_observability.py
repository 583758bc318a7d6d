"""Access log lines, personal data kept out of logs, and ``/metrics``."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.jobs.mail import Mail, send_mail
from studyhall.kit.logging import JsonFormatter
from studyhall.study.service.quota import record_usage
from tests.accounts.conftest import sign_up
from tests.conftest import run_jobs
from tests.live import live_server

SECRET_QUESTION = "Why does my ex-husband Bartholomew owe me 4000 euros"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every record of every logger, formatted exactly as production writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_one_access_line_per_request_without_email_or_query(
    settings: Settings, db: Database, database_urls: Any, json_log: io.StringIO
) -> None:
    with live_server(settings, database_urls.app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            actor = await sign_up(http)
            response = await http.get(
                "/api/v1/me",
                params={"q": SECRET_QUESTION, "email": actor.email},
                headers=actor.headers | {"X-Request-ID": "access-line-1"},
            )
            assert response.status_code == 200
            missing = await http.get(f"/api/v1/nothing/{actor.email}")
            assert missing.status_code == 404
    access = [line for line in _lines(json_log) if line["logger"] == "studyhall.access"]
    [line] = [entry for entry in access if entry.get("request_id") == "access-line-1"]
    assert line["msg"] == "request"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/api/v1/me", 200)
    assert line["user_id"] == str(actor.id)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    # sign-up, its /me, the /me above and the 404: one line each
    assert len(access) == 4
    unmatched = [entry for entry in access if entry["status"] == 404]
    assert [entry["route"] for entry in unmatched] == ["<unmatched>"]
    # The test's own client logs its URLs through httpx (the server quiets that logger).
    server_lines = [json.dumps(entry) for entry in _lines(json_log) if entry["logger"] != "httpx"]
    whole_log = "\n".join(server_lines)
    assert actor.email.split("@")[0] not in whole_log
    assert "Bartholomew" not in whole_log


async def test_sending_mail_logs_no_address(
    db: Database, settings: Settings, json_log: io.StringIO
) -> None:
    async with db.transaction() as session:
        await send_mail(
            session, Mail(to="grace.hopper@example.org", subject="Hello", text="Body text")
        )
    await run_jobs()
    assert list((settings.outbox_dir).glob("*.eml"))
    whole_log = json_log.getvalue()
    assert "mail written to outbox" in whole_log
    assert "grace.hopper" not in whole_log


async def test_a_failing_statement_logs_neither_question_nor_parameters(
    db: Database, json_log: io.StringIO
) -> None:
    log = logging.getLogger("studyhall.test")
    with pytest.raises(sa_exc.DBAPIError) as raised:
        async with db.transaction() as session:
            await session.execute(
                text("SELECT CAST(:question AS integer), :email"),
                {"question": SECRET_QUESTION, "email": "ada@example.org"},
            )
    assert "Bartholomew" not in str(raised.value).split("[SQL")[1]  # SQLAlchemy hides parameters
    try:
        raise RuntimeError("answering failed") from raised.value
    except RuntimeError:
        log.exception("study answer failed")
    [line] = [entry for entry in _lines(json_log) if entry["msg"] == "study answer failed"]
    assert "SQLSTATE 22P02" in line["exc"]
    assert "answering failed" in line["exc"]
    assert "Bartholomew" not in json_log.getvalue()
    assert "ada@example.org" not in json_log.getvalue()


async def test_free_text_in_log_fields_has_addresses_removed(json_log: io.StringIO) -> None:
    logging.getLogger("studyhall.test").warning(
        "delivery to %s failed",
        "bob@example.com",
        extra={"error": "550 <bob@example.com> refused, call +44 20 7946 0958", "to": "x"},
    )
    [line] = _lines(json_log)
    assert line["msg"] == "delivery to [email] failed"
    assert line["error"] == "550 <[email]> refused, call [phone]"
    assert line["to"] == "[redacted]"


def _metrics_settings(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(update={"metrics_enabled": True} | update)


async def test_metrics_are_off_by_default(settings: Settings, database_urls: Any) -> None:
    assert settings.metrics_enabled is False
    with live_server(settings, database_urls.app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            response = await http.get("/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_metrics_with_a_token(settings: Settings, database_urls: Any, db: Database) -> None:
    token = uuid.uuid4().hex
    on = _metrics_settings(settings, metrics_token=SecretStr(token))
    async with db.transaction() as session:
        await send_mail(session, Mail(to="queued@example.org", subject="s", text="t"))
    with live_server(on, database_urls.app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/metrics")).status_code == 401
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert wrong.headers["www-authenticate"] == "Bearer"
            response = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert 'studyhall_http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert 'studyhall_http_request_duration_seconds_bucket{le="0.005",method="GET"' in body
    assert 'studyhall_db_pool_connections{pool="main",state="in_use"}' in body
    assert 'studyhall_jobs{status="todo",task="studyhall.send_mail"} 1.0' in body
    assert "# TYPE studyhall_webhook_lag_seconds gauge" in body
    assert "# TYPE studyhall_ai_tokens_total counter" in body
    assert "queued@example.org" not in body


async def test_metrics_measure_failures_webhook_lag_and_ai_tokens(
    settings: Settings,
    database_urls: Any,
    db: Database,
    owner_db: Database,
    client: httpx.AsyncClient,
) -> None:
    actor = await sign_up(client)
    feature = "summary"
    before = {
        kind: REGISTRY.get_sample_value(
            "studyhall_ai_tokens_total", {"feature": feature, "kind": kind}
        )
        or 0.0
        for kind in ("prompt", "completion")
    }
    async with db.transaction(actor.id) as session:
        await record_usage(session, actor.id, feature, "a-model", 120, 30, "succeeded")
    async with owner_db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO webhook_events "
                "(id, provider, event_id, event_type, payload, received_at) VALUES "
                "(gen_random_uuid(), 'stripe', 'evt_lagging', 'payment_intent.succeeded', '{}', "
                "now() - interval '90 seconds')"
            )
        )
        job_id = await session.scalar(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
                "VALUES ('default', 'studyhall.probe_task', '{}') RETURNING id"
            )
        )
        await session.execute(
            text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :id"), {"id": job_id}
        )
        await session.execute(
            text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :id"), {"id": job_id}
        )
    with live_server(_metrics_settings(settings), database_urls.app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            response = await http.get("/metrics")
    assert response.status_code == 200
    series = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in response.text.splitlines()
        if line and not line.startswith("#")
    }
    tokens = 'studyhall_ai_tokens_total{{feature="{}",kind="{}"}}'
    assert series[tokens.format(feature, "prompt")] == before["prompt"] + 120
    assert series[tokens.format(feature, "completion")] == before["completion"] + 30
    assert series['studyhall_jobs{status="failed",task="studyhall.probe_task"}'] == 1
    assert series['studyhall_webhook_backlog{provider="stripe"}'] == 1
    assert 90 <= series['studyhall_webhook_lag_seconds{provider="stripe"}'] < 600
