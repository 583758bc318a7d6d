"""Billing's part of the OpenAPI document: one tag, a written summary and description and a
``<resource>_<verb>`` name on every route, pages on every list, and an optional
``Idempotency-Key`` wherever money moves."""

from __future__ import annotations

import re

from studyhall.billing.routes import credits, payments, payouts, subscriptions
from tests.foundation.openapi_walk import OpenApi, Operation

NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def _billing() -> list[Operation]:
    return [op for op in OpenApi.of_app().operations() if op.path.startswith("/api/v1/billing/")]


def test_every_billing_route_has_one_tag_a_summary_a_description_and_a_resource_verb_name() -> None:
    names = [
        route.name
        for module in (credits, payments, payouts, subscriptions)
        for route in module.router.routes
    ]
    assert [name for name in names if not NAME.match(name)] == []
    assert len(names) == len(set(names))
    operations = _billing()
    assert len(operations) == len(names)
    for op in operations:
        assert op.spec["tags"] == ["billing"], (op.method, op.path)
        assert op.spec.get("summary"), (op.method, op.path)
        assert op.spec.get("description"), (op.method, op.path)


# Reads of one object each, not lists.
SINGLE_OBJECTS = {
    "/api/v1/billing/entitlements",
    "/api/v1/billing/subscriptions/current",
    "/api/v1/billing/payouts/account",
    "/api/v1/billing/payouts/balance",
    "/api/v1/billing/credits",
    "/api/v1/billing/admin/users/{user_id}/credits",
}


def test_every_billing_list_is_a_page() -> None:
    api = OpenApi.of_app()
    lists = [op for op in _billing() if op.method == "GET" and not op.path.endswith("}")]
    assert lists, "billing has list routes"
    for op in lists:
        if op.path in SINGLE_OBJECTS:
            continue
        answer = op.spec["responses"]["200"]["content"]["application/json"]["schema"]
        properties = api.properties(api.resolve(answer))
        assert {"items", "next_cursor"} <= set(properties), op.path
        parameters = {p["name"] for p in op.parameters}
        assert {"limit", "cursor"} <= parameters, op.path
        assert not {"offset", "before", "before_seq"} & parameters, op.path


def test_no_billing_route_requires_an_idempotency_key() -> None:
    for op in _billing():
        for parameter in op.parameters:
            if parameter["name"].lower() == "idempotency-key":
                assert parameter.get("required", False) is False, op.path
