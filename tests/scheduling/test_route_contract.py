"""Scheduling's routes keep the house API contract, read from the OpenAPI document: each route's
function name is a readable operation id, it has a written summary and description and the one
domain tag, and every list route answers a page."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from studyhall.scheduling.routes import router

NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
# GET routes that answer one thing (a document, a file, a connection), not a list.
SINGLE = {
    "offering_get",
    "schedule_settings_get",
    "booking_get",
    "booking_calendar_get",
    "calendar_feed_get",
    "review_get",
    "learner_totals_get",
    "google_connection_get",
    "google_connection_callback",
}


def _operation_id(route: APIRoute) -> str:
    return route.name


def _operations() -> list[tuple[str, dict[str, Any]]]:
    app = FastAPI(generate_unique_id_function=_operation_id)
    app.include_router(router)
    document = app.openapi()
    return [
        (method, operation)
        for item in document["paths"].values()
        for method, operation in item.items()
    ]


def test_every_route_is_named_summarized_described_and_tagged_once() -> None:
    operations = _operations()
    assert len(operations) > 30
    names = [operation["operationId"] for _, operation in operations]
    assert len(set(names)) == len(names)
    for _, operation in operations:
        name = operation["operationId"]
        assert NAME.match(name), name
        assert operation["summary"][0].isupper(), name
        assert operation.get("description", "").strip(), name
        assert operation["tags"] == ["scheduling"], (name, operation["tags"])


def test_every_list_route_answers_a_page() -> None:
    lists = [
        operation
        for method, operation in _operations()
        if method == "get" and operation["operationId"] not in SINGLE
    ]
    assert {operation["operationId"] for operation in lists} == {
        "offerings_list",
        "availability_rules_list",
        "time_off_list",
        "slots_list",
        "bookings_list",
        "tutor_reviews_list",
    }
    for operation in lists:
        name = operation["operationId"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("Page"), name
        params = {param["name"] for param in operation["parameters"]}
        assert {"limit", "cursor"} <= params and "offset" not in params, name
