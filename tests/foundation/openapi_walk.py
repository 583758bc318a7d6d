"""Walking the app's own OpenAPI document: every operation, parameter and body property.

The input rules (text PostgreSQL can store, bounded integers, nulls only where a field may be
empty) hold for every route; these helpers let a test check all of them instead of a sample.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from studyhall.app import create_app
from studyhall.config import Settings

Schema = dict[str, Any]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: Schema

    def url(self, **values: str) -> str:
        """The path with every ``{param}`` filled: ``values`` or a fresh UUID."""
        return re.sub(
            r"\{([^}]+)\}", lambda m: values.get(m.group(1), str(uuid.uuid4())), self.path
        )

    @property
    def parameters(self) -> list[Schema]:
        params: list[Schema] = self.spec.get("parameters", [])
        return params

    def json_body_schema(self) -> Schema | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        schema: Schema | None = content.get("application/json", {}).get("schema")
        return schema

    def form_body_schema(self) -> Schema | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        schema: Schema | None = content.get("multipart/form-data", {}).get("schema")
        return schema


class OpenApi:
    def __init__(self, document: Schema) -> None:
        self.document = document
        self.components: dict[str, Schema] = document.get("components", {}).get("schemas", {})

    @classmethod
    def of_app(cls) -> OpenApi:
        app = create_app(Settings(_env_file=None, environment="test"))  # type: ignore[call-arg]
        return cls(app.openapi())

    def operations(self) -> Iterator[Operation]:
        for path, item in self.document["paths"].items():
            for method, spec in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    yield Operation(method.upper(), path, spec)

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def variants(self, schema: Schema) -> list[Schema]:
        """The concrete alternatives of a schema (``anyOf``/``oneOf`` unfolded, refs resolved)."""
        schema = self.resolve(schema)
        alternatives = schema.get("anyOf") or schema.get("oneOf")
        if alternatives:
            return [v for alt in alternatives for v in self.variants(alt)]
        return [schema]

    def properties(self, schema: Schema) -> dict[str, Schema]:
        found: dict[str, Schema] = {}
        for variant in self.variants(schema):
            found.update(variant.get("properties", {}))
        return found

    def nullable(self, schema: Schema) -> bool:
        return any(v.get("type") == "null" for v in self.variants(schema))

    def string_paths(
        self, schema: Schema, path: tuple[str | int, ...] = (), seen: frozenset[str] = frozenset()
    ) -> Iterator[tuple[str | int, ...]]:
        """Where a string may go in a body of this schema, through objects and arrays."""
        ref = schema.get("$ref", "")
        if ref in seen:
            return
        seen = seen | {ref} if ref else seen
        for variant in self.variants(schema):
            kind = variant.get("type")
            if kind == "string":
                yield path
            elif kind == "array" and "items" in variant:
                yield from self.string_paths(variant["items"], (*path, 0), seen)
            for name, prop in variant.get("properties", {}).items():
                yield from self.string_paths(prop, (*path, name), seen)

    def integer_places(self) -> Iterator[tuple[str, Schema]]:
        """Every integer a client can send: parameters and request body properties."""
        for operation in self.operations():
            where = f"{operation.method} {operation.path}"
            for param in operation.parameters:
                yield from self._integers(param["schema"], f"{where} {param['name']}", frozenset())
            for schema in (operation.json_body_schema(), operation.form_body_schema()):
                if schema is not None:
                    yield from self._integers(schema, f"{where} body", frozenset())

    def _integers(
        self, schema: Schema, where: str, seen: frozenset[str]
    ) -> Iterator[tuple[str, Schema]]:
        ref = schema.get("$ref", "")
        if ref in seen:
            return
        seen = seen | {ref} if ref else seen
        for variant in self.variants(schema):
            if variant.get("type") == "integer":
                yield where, variant
            if "items" in variant:
                yield from self._integers(variant["items"], f"{where}[]", seen)
            for name, prop in variant.get("properties", {}).items():
                yield from self._integers(prop, f"{where}.{name}", seen)
            extra = variant.get("additionalProperties")
            if isinstance(extra, dict):
                yield from self._integers(extra, f"{where}{{}}", seen)


def nest(path: tuple[str | int, ...], leaf: Any) -> Any:
    """A body holding ``leaf`` at ``path``: ``("a", 0, "b")`` becomes ``{"a": [{"b": leaf}]}``."""
    for part in reversed(path):
        leaf = [leaf] if isinstance(part, int) else {part: leaf}
    return leaf


def ascii_json(value: Any) -> bytes:
    """JSON with every non-ASCII character escaped, so a lone surrogate travels as ``\\ud800``."""
    return json.dumps(value, ensure_ascii=True).encode()
