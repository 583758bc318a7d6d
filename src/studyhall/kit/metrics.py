"""The process's Prometheus series that code increments as things happen.

Series computed from the database at scrape time (queue depth, webhook lag, pool usage) are built
by ``studyhall.metrics`` when ``/metrics`` is read. Labels are route templates, task names and
features — never a user id, e-mail or path with ids in it, so the series stay few and anonymous.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "studyhall_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "studyhall_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
AI_TOKENS = Counter(
    "studyhall_ai_tokens",
    "Model tokens recorded in AI usage by this process, by feature and kind (prompt/completion).",
    ["feature", "kind"],
)


def count_ai_tokens(feature: str, prompt_tokens: int, completion_tokens: int) -> None:
    AI_TOKENS.labels(feature, "prompt").inc(prompt_tokens)
    AI_TOKENS.labels(feature, "completion").inc(completion_tokens)
