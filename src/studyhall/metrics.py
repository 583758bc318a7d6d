"""``GET /metrics``: Prometheus text format, off unless ``STUDYHALL_METRICS_ENABLED``.

Request and AI token series are counted in the process (``kit.metrics``); job queue depth,
job failures and webhook lag are read from the database at scrape time, and pool usage from the
process's pools. With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve --workers N``), the counted
series of every worker are merged; the scrape-time series are the same from any worker.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable, Iterator
from typing import Any

import procrastinate
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from studyhall.jobs import core as jobs
from studyhall.kit.errors import problem

router = APIRouter(include_in_schema=False)

_JOBS_SQL = text(
    "SELECT task_name, status::text AS status, count(*) AS n FROM procrastinate_jobs "
    "WHERE status IN ('todo', 'doing', 'failed') GROUP BY task_name, status"
)
_WEBHOOK_LAG_SQL = text(
    "SELECT provider, extract(epoch FROM now() - min(received_at)) AS lag_s, count(*) AS n "
    "FROM webhook_events WHERE processed_at IS NULL AND rejected_reason IS NULL "
    "GROUP BY provider"
)


class _Snapshot(Collector):
    """Gauges measured once for this scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _pool_family(database: Database) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "studyhall_db_pool_connections",
        "Connections of this process's pools, by pool and state (in_use, idle).",
        labels=["pool", "state"],
    )
    pools: list[tuple[str, Any]] = [("main", database.engine.pool)]
    quota_side = getattr(database, "_quota_side", None)
    if quota_side is not None:
        pools.append(("quota", quota_side.engine.pool))
    for name, pool in pools:
        if isinstance(pool, QueuePool):
            family.add_metric([name, "in_use"], pool.checkedout())
            family.add_metric([name, "idle"], pool.checkedin())
    job_pool = getattr(jobs.queue.connector, "_async_pool", None)
    if isinstance(jobs.queue.connector, procrastinate.PsycopgConnector) and job_pool is not None:
        stats = job_pool.get_stats()
        size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
        family.add_metric(["jobs", "in_use"], size - available)
        family.add_metric(["jobs", "idle"], available)
    return family


async def _database_families(database: Database) -> list[Metric]:
    queued = GaugeMetricFamily(
        "studyhall_jobs",
        "Jobs in the queue by task and status (todo = waiting, doing, failed = gave up).",
        labels=["task", "status"],
    )
    lag = GaugeMetricFamily(
        "studyhall_webhook_lag_seconds",
        "Age of the oldest received, unprocessed payment webhook event, by provider.",
        labels=["provider"],
    )
    backlog = GaugeMetricFamily(
        "studyhall_webhook_backlog",
        "Received payment webhook events not processed yet, by provider.",
        labels=["provider"],
    )
    # The scrape measures the whole platform (only counts and ages leave it): a unit of work
    # that crosses users, as the webhook events are an admin's and the system's.
    async with cross_users_transaction(database) as session:
        for row in await session.execute(_JOBS_SQL):
            queued.add_metric([row.task_name, row.status], row.n)
        for row in await session.execute(_WEBHOOK_LAG_SQL):
            lag.add_metric([row.provider], float(row.lag_s))
            backlog.add_metric([row.provider], row.n)
    return [queued, lag, backlog]


def _counted_series() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)
    return generate_latest(REGISTRY)


def _measured_series(families: Iterable[Metric]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(list(families)))
    return generate_latest(registry)


def _token_matches(request: Request, settings: Settings) -> bool:
    if settings.metrics_token is None:
        return True
    expected = f"Bearer {settings.metrics_token.get_secret_value()}"
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), expected.encode())


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.metrics_enabled:
        return problem(request, 404, "route_not_found", f"No route matches GET {request.url.path}.")
    if not _token_matches(request, settings):
        return problem(
            request,
            401,
            "unauthenticated",
            "Give the metrics token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    database: Database = request.app.state.database
    families = [_pool_family(database), *await _database_families(database)]
    body = _counted_series() + _measured_series(families)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
