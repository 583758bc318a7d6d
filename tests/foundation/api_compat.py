"""What a client generated from an earlier OpenAPI document relies on, and what breaks it.

``openapi_snapshot.json`` (next to this file) keeps each operation's id, method, path,
parameters, request body and success answers, and every component schema, reduced to what
matters to a client (types, properties, required members, enums). ``breaking_changes`` compares
the app's document with it under the rules docs/api.md promises for ``/api/v1``:

- an operation keeps its operationId, method and path;
- a request the server accepted is still accepted: no new required parameter, body or body
  member, no member removed (bodies refuse unknown members), no type narrowed, no enum value
  dropped;
- an answer keeps what clients read: no member removed or made optional, no type widened (a
  member that becomes nullable is a change). New operations, new optional request members, new
  answer members and new enum values in answers are not breaking.

After an intended change (a new ``/api/v2``, or a fix agreed to be breaking), write the
snapshot again: ``PYTHONPATH=src python -m tests.foundation.api_compat --write``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.foundation.openapi_walk import OpenApi

Schema = dict[str, Any]
SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")
_KEPT = ("type", "format", "enum", "const", "required", "additionalProperties", "$ref")
_METHODS = ("get", "post", "put", "patch", "delete")


def _reduce(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    reduced: Schema = {key: schema[key] for key in _KEPT if key in schema}
    if isinstance(reduced.get("additionalProperties"), dict):
        reduced["additionalProperties"] = _reduce(reduced["additionalProperties"])
    if "properties" in schema:
        reduced["properties"] = {k: _reduce(v) for k, v in schema["properties"].items()}
    if "items" in schema:
        reduced["items"] = _reduce(schema["items"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            reduced[key] = [_reduce(v) for v in schema[key]]
    return reduced


def _json_schema(content: Schema) -> Schema | None:
    for media, body in sorted(content.items()):
        if "json" in media or "form" in media:
            return _reduce(body.get("schema", {}))
    return None


def snapshot_of(document: Schema) -> Schema:
    """The parts of ``document`` a generated client depends on."""
    operations: dict[str, Schema] = {}
    for path, item in document["paths"].items():
        for method in _METHODS:
            if method not in item:
                continue
            spec = item[method]
            body = spec.get("requestBody")
            operations[spec["operationId"]] = {
                "method": method.upper(),
                "path": path,
                "parameters": {
                    f"{p['in']}:{p['name']}": {
                        "required": bool(p.get("required")),
                        "schema": _reduce(p.get("schema", {})),
                    }
                    for p in spec.get("parameters", [])
                },
                "body": None
                if body is None
                else {
                    "required": bool(body.get("required")),
                    "schema": _json_schema(body.get("content", {})),
                },
                "responses": {
                    status: _json_schema(answer.get("content", {}))
                    for status, answer in spec.get("responses", {}).items()
                    if status.startswith("2")
                },
            }
    schemas = document.get("components", {}).get("schemas", {})
    return {
        "operations": dict(sorted(operations.items())),
        "schemas": {name: _reduce(schemas[name]) for name in sorted(schemas)},
    }


class _Compare:
    def __init__(self, old: Schema, new: Schema) -> None:
        self.old_schemas: dict[str, Schema] = old["schemas"]
        self.new_schemas: dict[str, Schema] = new["schemas"]
        self.seen: set[tuple[str, str, str]] = set()

    def _resolve(self, schema: Schema | None, schemas: dict[str, Schema]) -> Schema:
        schema = schema or {}
        while "$ref" in schema:
            schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return schema

    def _variants(self, schema: Schema | None, schemas: dict[str, Schema]) -> list[Schema]:
        schema = self._resolve(schema, schemas)
        alternatives = schema.get("anyOf") or schema.get("oneOf")
        if alternatives:
            return [v for alt in alternatives for v in self._variants(alt, schemas)]
        return [schema]

    @staticmethod
    def _kind(variant: Schema) -> str:
        if "properties" in variant:
            return "object"
        return str(variant.get("type", "any"))

    def _kinds(self, schema: Schema | None, schemas: dict[str, Schema]) -> set[str]:
        return {self._kind(v) for v in self._variants(schema, schemas)}

    def _by_kind(self, schema: Schema | None, schemas: dict[str, Schema]) -> dict[str, Schema]:
        return {self._kind(v): v for v in self._variants(schema, schemas)}

    def schema(self, old: Schema | None, new: Schema | None, where: str, sent: bool) -> list[str]:
        """``sent``: the client sends this (a request); otherwise it reads it (an answer)."""
        key = (json.dumps(old, sort_keys=True), json.dumps(new, sort_keys=True), str(sent))
        if key in self.seen:
            return []
        self.seen.add(key)
        old_kinds = self._kinds(old, self.old_schemas)
        new_kinds = self._kinds(new, self.new_schemas)
        if "any" in old_kinds or "any" in new_kinds:
            return []
        if sent and not old_kinds <= new_kinds:
            return [f"{where}: no longer accepts {sorted(old_kinds - new_kinds)}"]
        if not sent and not new_kinds <= old_kinds:
            return [f"{where}: may now be {sorted(new_kinds - old_kinds)}"]
        problems = []
        old_by_kind = self._by_kind(old, self.old_schemas)
        new_by_kind = self._by_kind(new, self.new_schemas)
        for kind in old_kinds & new_kinds:
            problems += self._same_kind(old_by_kind[kind], new_by_kind[kind], where, sent)
        return problems

    def _same_kind(self, old: Schema, new: Schema, where: str, sent: bool) -> list[str]:
        if "properties" in old or "properties" in new:
            return self._object(old, new, where, sent)
        if "items" in old and "items" in new:
            return self.schema(old["items"], new["items"], f"{where}[]", sent)
        if sent and "enum" in old:
            dropped = set(old["enum"]) - set(new.get("enum", old["enum"]))
            if dropped:
                return [f"{where}: no longer accepts {sorted(dropped)}"]
        return []

    def _object(self, old: Schema, new: Schema, where: str, sent: bool) -> list[str]:
        old_props: Schema = old.get("properties", {})
        new_props: Schema = new.get("properties", {})
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        problems = []
        for name in sorted(old_props):
            if name not in new_props:
                problems.append(f"{where}.{name}: removed")
                continue
            if not sent and name in old_required and name not in new_required:
                problems.append(f"{where}.{name}: no longer always present")
            problems += self.schema(old_props[name], new_props[name], f"{where}.{name}", sent)
        if sent:
            for name in sorted(new_required - old_required):
                problems.append(f"{where}.{name}: newly required")
        return problems


def breaking_changes(old: Schema, new: Schema) -> Iterator[str]:
    compare = _Compare(old, new)
    for operation_id, was in old["operations"].items():
        now = new["operations"].get(operation_id)
        if now is None:
            yield f"{operation_id} ({was['method']} {was['path']}): removed or renamed"
            continue
        if (now["method"], now["path"]) != (was["method"], was["path"]):
            yield f"{operation_id}: moved to {now['method']} {now['path']}"
            continue
        yield from _parameters(compare, operation_id, was, now)
        yield from _body(compare, operation_id, was, now)
        for status, answer in was["responses"].items():
            if status not in now["responses"]:
                yield f"{operation_id}: no longer answers {status}"
                continue
            yield from compare.schema(
                answer, now["responses"][status], f"{operation_id} {status}", sent=False
            )


def _parameters(compare: _Compare, operation_id: str, was: Schema, now: Schema) -> Iterator[str]:
    for name, param in now["parameters"].items():
        before = was["parameters"].get(name)
        if param["required"] and (before is None or not before["required"]):
            yield f"{operation_id} {name}: newly required"
        if before is not None:
            yield from compare.schema(
                before["schema"], param["schema"], f"{operation_id} {name}", sent=True
            )


def _body(compare: _Compare, operation_id: str, was: Schema, now: Schema) -> Iterator[str]:
    before, after = was["body"], now["body"]
    if after is None:
        if before is not None and before["required"]:
            yield f"{operation_id} body: no longer accepted"
        return
    if after["required"] and (before is None or not before["required"]):
        yield f"{operation_id} body: newly required"
    if before is not None:
        yield from compare.schema(
            before["schema"], after["schema"], f"{operation_id} body", sent=True
        )


def main() -> None:
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.foundation.api_compat --write")
    snapshot = snapshot_of(OpenApi.of_app().document)
    SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT} ({len(snapshot['operations'])} operations)")


if __name__ == "__main__":
    main()
