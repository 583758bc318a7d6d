"""The accounts routes keep the API contract a client generator relies on: readable operation
ids, a summary and a description on each route, one tag, and pages (not bare arrays) from lists."""

from __future__ import annotations

import re
from typing import Any

import httpx

OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


async def _operations(client: httpx.AsyncClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = (await client.get("/openapi.json")).json()
    return [
        (method, path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
        if "accounts" in operation.get("tags", [])
    ]


async def test_every_accounts_route_is_named_described_and_tagged_once(
    client: httpx.AsyncClient,
) -> None:
    operations = await _operations(client)
    assert len(operations) > 10
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        assert OPERATION_ID.match(operation["operationId"]), where
        assert "api_v1" not in operation["operationId"], where
        assert operation.get("summary"), where
        assert operation.get("description"), where
        assert operation["tags"] == ["accounts"], where


async def test_every_accounts_list_answers_a_page(client: httpx.AsyncClient) -> None:
    for method, path, operation in await _operations(client):
        if method != "get":
            continue
        content = operation["responses"]["200"].get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        assert schema.get("type") != "array", path
        if "$ref" in schema and schema["$ref"].endswith("Page"):
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            assert {"limit", "cursor"} <= names, path
            assert not {"offset", "before"} & names, path
