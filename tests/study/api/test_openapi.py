"""The study API's OpenAPI promises: every route named ``<resource>_<verb>``, with a written
summary and description, under the one ``study`` tag; every GET that lists is a page."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

from studyhall.study import routes

NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    # Operation ids are the route functions' names, as the app's OpenAPI document has them.
    app = FastAPI(generate_unique_id_function=lambda route: route.name)
    app.include_router(routes.router, prefix="/api/v1")
    paths = app.openapi()["paths"]
    return [(method, path, op) for path, ops in paths.items() for method, op in ops.items()]


def test_every_study_route_is_named_summarised_described_and_tagged_once() -> None:
    operations = _operations()
    assert len(operations) >= 20
    names = [op["operationId"] for _, _, op in operations]
    assert len(set(names)) == len(names)
    for method, path, op in operations:
        where = f"{method.upper()} {path}"
        assert NAME.match(op["operationId"]), where
        assert op.get("summary") and op.get("description"), where
        assert op["tags"] == ["study"], where


def test_every_study_list_answers_a_page() -> None:
    for method, path, op in _operations():
        if method != "get":
            continue
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema.get("type") != "array", f"GET {path} answers a bare array"
        if "$ref" in schema and schema["$ref"].endswith("Page"):
            params = {p["name"] for p in op.get("parameters", [])}
            assert {"limit", "cursor"} <= params, f"GET {path}"
