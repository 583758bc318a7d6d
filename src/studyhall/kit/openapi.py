"""The OpenAPI document declares what clients really receive when a request fails: every error is
``application/problem+json`` in the one shape ``studyhall.kit.errors.problem`` renders."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from studyhall.kit.errors import PROBLEM_JSON

_REF = "#/components/schemas/{model}"
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


class FieldProblem(BaseModel):
    """One invalid part of a request."""

    field: str = Field(description="Where: the location and name, e.g. body.email or query.limit.")
    message: str
    type: str = Field(description="A stable machine-readable kind of mistake.")


class Problem(BaseModel):
    """An RFC 9457 problem. Clients branch on ``code``, never on ``detail``; some problems add
    members of their own (a validation problem adds ``errors``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str
    instance: str
    request_id: str | None = None


class ValidationProblem(Problem):
    """The request cannot be processed: ``errors`` lists each invalid part when its shape was
    wrong (a business rule that refuses the values says why in ``detail`` and ``code``)."""

    errors: list[FieldProblem] = Field(default_factory=list)


def _content(model: type[BaseModel]) -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": _REF.format(model=model.__name__)}}}


_VALIDATION_RESPONSE = {
    "description": "The request does not match this operation's parameters or body",
    "content": _content(ValidationProblem),
}
_CLIENT_ERROR = {
    "description": "The request was refused (a problem with a stable `code`)",
    "content": _content(Problem),
}
_SERVER_ERROR = {
    "description": "Unavailable for now (the database is restarting, a provider is down): retry "
    "after `Retry-After`",
    "content": _content(Problem),
}


def _declare_problems(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "422" in responses:
        responses["422"] = _VALIDATION_RESPONSE
    for key, declared in responses.items():
        if key.startswith(("4", "5")) and "content" not in declared:
            declared["content"] = _content(Problem)
    responses.setdefault("4XX", _CLIENT_ERROR)
    responses.setdefault("5XX", _SERVER_ERROR)


def _problem_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (FieldProblem, Problem, ValidationProblem):
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def with_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation declares its 4xx and 5xx as problems and its 422 as a validation
    problem (FastAPI's own ``HTTPValidationError`` is not what the error handlers send)."""
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _METHODS:
                _declare_problems(operation)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_problem_schemas())
    for unused in ("HTTPValidationError", "ValidationError"):
        if _REF.format(model=unused) not in json.dumps(document):
            schemas.pop(unused, None)
    return document


def install_problem_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problem_responses(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
