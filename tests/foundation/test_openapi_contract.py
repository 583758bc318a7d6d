"""The API contract (docs/api.md), checked on every operation of the app's own OpenAPI document.

A route that breaks a rule fails here by name: a new route cannot forget one.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from studyhall import domains
from tests.foundation.openapi_walk import OpenApi, Operation

OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
PROBLEM_JSON = "application/problem+json"
# One tag per domain; ``health`` is the process's own liveness and readiness.
DOMAIN_TAGS = {*domains.DOMAINS, "integrations", "health"} - {"jobs"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def api() -> OpenApi:
    return OpenApi.of_app()


def _broken(found: list[str]) -> str:
    return f"{len(found)} operation(s):\n  " + "\n  ".join(found)


def _name(operation: Operation) -> str:
    return f"{operation.method} {operation.path} ({operation.spec.get('operationId')})"


def test_operation_ids_are_readable_and_unique(api: OpenApi) -> None:
    unreadable = [
        _name(op) for op in api.operations() if not OPERATION_ID.match(op.spec["operationId"])
    ]
    assert not unreadable, _broken(unreadable)
    counts = Counter(op.spec["operationId"] for op in api.operations())
    repeated = [_name(op) for op in api.operations() if counts[op.spec["operationId"]] > 1]
    assert not repeated, _broken(repeated)


def _generated_summary(operation_id: str) -> str:
    # What FastAPI writes when a route has no summary: its function name, title-cased.
    return operation_id.replace("_", " ").title()


def _undocumented(operation: Operation) -> str | None:
    summary = operation.spec.get("summary", "").strip()
    if not summary:
        return "no summary"
    if summary == _generated_summary(operation.spec["operationId"]):
        return f"summary {summary!r} is generated from the function name"
    if not operation.spec.get("description", "").strip():
        return "no description (the route function's docstring)"
    return None


def test_every_operation_has_a_written_summary_and_a_description(api: OpenApi) -> None:
    missing = [
        f"{_name(op)}: {reason}"
        for op in api.operations()
        if (reason := _undocumented(op)) is not None
    ]
    assert not missing, _broken(missing)


def test_every_operation_has_exactly_one_domain_tag(api: OpenApi) -> None:
    wrong = [
        f"{_name(op)} tags={op.spec.get('tags')}"
        for op in api.operations()
        if len(op.spec.get("tags", [])) != 1 or op.spec["tags"][0] not in DOMAIN_TAGS
    ]
    assert not wrong, _broken(wrong)


def _json_schema(api: OpenApi, response: dict[str, Any]) -> dict[str, Any] | None:
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return None if schema is None else api.resolve(schema)


def _query(operation: Operation) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.parameters if p["in"] == "query"}


def _page_problems(api: OpenApi, operation: Operation) -> list[str]:
    """Why a GET's answer is not a page of the paging contract (empty when it is one, or when
    it is not a list at all)."""
    schema = _json_schema(api, operation.spec.get("responses", {}).get("200", {}))
    if schema is None:
        return []
    if any(v.get("type") == "array" for v in api.variants(schema)):
        return ["answers a bare JSON array"]
    properties = schema.get("properties", {})
    items = properties.get("items")
    if items is None or api.resolve(items).get("type") != "array":
        return []
    problems = []
    if set(properties) != {"items", "next_cursor"} or set(schema.get("required", [])) != {
        "items",
        "next_cursor",
    }:
        problems.append(f"page has members {sorted(properties)}, not exactly items, next_cursor")
    query = _query(operation)
    limit = api.resolve(query["limit"]["schema"]) if "limit" in query else None
    if limit is None or (limit.get("minimum"), limit.get("maximum"), limit.get("default")) != (
        1,
        200,
        50,
    ):
        problems.append(f"limit is not 1..200 with default 50: {limit}")
    if "cursor" not in query:
        problems.append("no cursor parameter")
    return problems


def test_every_list_answers_a_page_with_limit_and_cursor(api: OpenApi) -> None:
    wrong = [
        f"{_name(op)}: {problem}"
        for op in api.operations()
        if op.method == "GET"
        for problem in _page_problems(api, op)
    ]
    assert not wrong, _broken(wrong)


def test_no_operation_pages_by_offset_or_before(api: OpenApi) -> None:
    wrong = [
        f"{_name(op)}: {p['name']}"
        for op in api.operations()
        for p in op.parameters
        if p["name"] in {"offset", "before", "page", "skip"}
    ]
    assert not wrong, _broken(wrong)


def test_no_delete_takes_a_body(api: OpenApi) -> None:
    wrong = [
        _name(op) for op in api.operations() if op.method == "DELETE" and "requestBody" in op.spec
    ]
    assert not wrong, _broken(wrong)


def test_an_idempotency_key_is_always_optional(api: OpenApi) -> None:
    wrong = [
        _name(op)
        for op in api.operations()
        for p in op.parameters
        if p["in"] == "header" and p["name"].lower() == "idempotency-key" and p.get("required")
    ]
    assert not wrong, _broken(wrong)


def test_every_error_is_declared_as_a_problem(api: OpenApi) -> None:
    wrong = []
    for op in api.operations():
        responses: dict[str, Any] = op.spec.get("responses", {})
        if "422" not in responses:
            wrong.append(f"{_name(op)}: no 422")
        for status, response in responses.items():
            if not status.startswith(("4", "5")):
                continue
            content = response.get("content", {})
            if set(content) != {PROBLEM_JSON}:
                wrong.append(f"{_name(op)} {status}: {sorted(content)}")
                continue
            expected = "ValidationProblem" if status == "422" else "Problem"
            if content[PROBLEM_JSON]["schema"] != {"$ref": f"#/components/schemas/{expected}"}:
                wrong.append(f"{_name(op)} {status}: {content[PROBLEM_JSON]['schema']}")
    assert not wrong, _broken(wrong)
    assert "HTTPValidationError" not in api.components


def test_a_caller_checked_is_a_caller_declared(api: OpenApi) -> None:
    """A route that needs a token requires the bearer scheme and declares 401 and 403; one
    where signing in is optional lists an empty requirement too and declares 401."""
    schemes = api.document["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http"}
    assert {s["scheme"] for s in schemes.values()} == {"bearer"}
    wrong = []
    for op in api.operations():
        security = op.spec.get("security")
        if not security:
            continue
        if any(set(requirement) - set(schemes) for requirement in security):
            wrong.append(f"{_name(op)}: undeclared scheme in {security}")
        expected = {"401"} if {} in security else {"401", "403"}
        missing = expected - set(op.spec["responses"])
        if missing:
            wrong.append(f"{_name(op)}: does not declare {sorted(missing)}")
    assert not wrong, _broken(wrong)


def test_component_schemas_have_one_name_each(api: OpenApi) -> None:
    """Two models with one name in different domains become ``studyhall__x__schemas__Name``:
    generated clients then drop one of them. Each model a client sees needs its own name."""
    clashing = sorted(name for name in api.components if "__" in name)
    assert not clashing, clashing


def test_a_deprecated_operation_says_until_when(api: OpenApi) -> None:
    wrong = [
        _name(op)
        for op in api.operations()
        if op.spec.get("deprecated") and not {"x-deprecated-since", "x-sunset"} <= set(op.spec)
    ]
    assert not wrong, _broken(wrong)


def test_the_main_request_bodies_carry_examples(api: OpenApi) -> None:
    for name in ("SignUp", "SignIn", "BookingCreate", "SearchRequest"):
        assert api.components[name].get("examples"), name
