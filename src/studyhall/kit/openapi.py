"""The OpenAPI document a client generator can trust.

- ``operationId`` is the route function's name (``bookings_create``), not FastAPI's
  ``create_booking_api_v1_bookings_post``.
- Security is declared as it is enforced: a route that needs a signed-in caller requires the
  bearer scheme; a public route that shows more to a signed-in caller lists the bearer scheme as
  optional (``[{}, {bearer}]``); a public route declares none.
- Every error is ``application/problem+json`` in the one shape ``studyhall.kit.errors.problem``
  renders, declared per status where the route can answer it (422 everywhere, 401/403 where a
  caller is checked, 404 where the path names something, 400/413 where a body is read, 409 on
  writes), with ``4XX``/``5XX`` for the rest. FastAPI's ``HTTPValidationError`` is not what the
  error handlers send, so it is replaced everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any, cast

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ConfigDict, Field

from studyhall.kit.errors import PROBLEM_JSON

_REF = "#/components/schemas/{model}"
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
_WRITES = {"post", "put", "patch", "delete"}


def operation_id(route: APIRoute) -> str:
    """The operationId of a route: its function's name (``generate_unique_id_function``)."""
    return route.name


class FieldProblem(BaseModel):
    """One invalid part of a request."""

    field: str | None = Field(
        description="The field's path inside its part, dotted (`email`, `subjects.1`, `limit`); "
        "null when the part as a whole is wrong (a missing or malformed body)."
    )
    # ``in`` is a Python keyword: the model field is ``in_`` and the wire name ``in``.
    in_: str = Field(
        alias="in",
        description="Which part of the request: `body`, `query`, `path`, `header` or `cookie`.",
    )
    message: str
    type: str = Field(description="A stable machine-readable kind of mistake.")


class Problem(BaseModel):
    """An RFC 9457 problem. Clients branch on ``code``, never on ``detail``. A problem about one
    field names it in ``field``; some problems add members of their own (a validation problem
    adds ``errors``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str = Field(description="Stable and machine-readable: branch on this.")
    instance: str
    request_id: str | None = None
    field: str | None = Field(
        default=None,
        description="The one field the problem is about, named as in `errors[].field`; absent "
        "when it concerns several or none.",
    )


class ValidationProblem(Problem):
    """The request cannot be processed: ``errors`` lists each invalid part when its shape was
    wrong (a business rule that refuses the values says why in ``detail`` and ``code``)."""

    errors: list[FieldProblem] = Field(default_factory=list)


def _content(model: type[BaseModel]) -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": _REF.format(model=model.__name__)}}}


def _problem(description: str, model: type[BaseModel] = Problem) -> dict[str, Any]:
    return {"description": description, "content": _content(model)}


_MALFORMED = _problem("The body is not valid JSON or not of the declared media type")
_UNAUTHORIZED = _problem("No valid access token: sign in and send `Authorization: Bearer …`")
_FORBIDDEN = _problem("The caller may not do this (role, ownership or guardian consent)")
_NOT_FOUND = _problem("Nothing the caller may see has this id")
_CONFLICT = _problem(
    "The request conflicts with the current state (or an `Idempotency-Key` was reused with "
    "another body)"
)
_TOO_LARGE = _problem("The request body is larger than the server accepts")
_VALIDATION = _problem(
    "The request does not match this operation's parameters or body, or a rule refuses its values",
    ValidationProblem,
)
_CLIENT_ERROR = _problem("The request was refused (a problem with a stable `code`)")
_SERVER_ERROR = _problem(
    "Unavailable for now (the database is restarting, a provider is down): retry after "
    "`Retry-After`"
)


def _expected_problems(method: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The errors this operation can answer, judged from what the operation declares."""
    expected: dict[str, dict[str, Any]] = {}
    if "requestBody" in operation:
        expected["400"] = _MALFORMED
    if operation.get("security"):
        expected["401"] = _UNAUTHORIZED
        if {} not in operation["security"]:
            expected["403"] = _FORBIDDEN
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        expected["404"] = _NOT_FOUND
    if method in _WRITES:
        expected["409"] = _CONFLICT
    if "requestBody" in operation:
        expected["413"] = _TOO_LARGE
    expected["422"] = _VALIDATION
    return expected


def _declare_problems(method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, declared in _expected_problems(method, operation).items():
        own = responses.get(status, {})
        # FastAPI's own 422 text describes its HTTPValidationError, which is never sent.
        description = own.get("description", "Validation Error")
        if description == "Validation Error":
            description = declared["description"]
        responses[status] = {**own, **declared, "description": description}
    for status, declared in responses.items():
        if status.startswith(("4", "5")):
            media = declared.get("content", {}).get(PROBLEM_JSON) or _content(Problem)[PROBLEM_JSON]
            declared["content"] = {PROBLEM_JSON: media}
    responses.setdefault("4XX", _CLIENT_ERROR)
    responses.setdefault("5XX", _SERVER_ERROR)
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: item[0]))


def _problem_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (FieldProblem, Problem, ValidationProblem):
        schema = model.model_json_schema(ref_template=_REF, by_alias=True)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def with_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation declares its errors as problems and its 422 as a validation problem."""
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _METHODS:
                _declare_problems(method, operation)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_problem_schemas())
    for unused in ("HTTPValidationError", "ValidationError"):
        if _REF.format(model=unused) not in json.dumps(document):
            schemas.pop(unused, None)
    return document


def _mark_binary(schema: Any) -> None:
    if isinstance(schema, dict):
        if schema.get("type") == "string" and "contentMediaType" in schema:
            schema.setdefault("format", "binary")
        for value in schema.values():
            _mark_binary(value)
    elif isinstance(schema, list):
        for value in schema:
            _mark_binary(value)


def with_binary_file_parts(document: dict[str, Any]) -> dict[str, Any]:
    """An uploaded file is ``{"type": "string", "contentMediaType": ...}`` in OpenAPI 3.1;
    generators (openapi-python-client, openapi-typescript) recognise a file by the 3.0 spelling
    ``format: binary`` and would otherwise send its text as a plain field. Both are said."""
    _mark_binary(document.get("components", {}).get("schemas", {}))
    return document


def _bearer_only_through(dependant: Dependant, optional: Collection[Callable[..., Any]]) -> bool:
    """True when every way this dependency tree reaches a security scheme passes through one of
    the ``optional`` dependencies (the caller may, but need not, sign in)."""
    found_required = False

    def walk(node: Dependant) -> None:
        nonlocal found_required
        for child in node.dependencies:
            if child.call in optional:
                continue
            if isinstance(child.call, SecurityBase):
                found_required = True
            walk(child)

    walk(dependant)
    return not found_required


def _optional_security_operations(
    app: FastAPI, optional: Collection[Callable[..., Any]]
) -> set[str]:
    found = set()
    # Routers are included lazily: their effective routes (with the app's prefix, dependencies
    # and operationId function applied) are what the document is made of.
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        route = cast(APIRoute, context)
        if route.include_in_schema and _bearer_only_through(route.dependant, optional):
            found.add(route.unique_id)
    return found


def mark_optional_security(document: dict[str, Any], operation_ids: set[str]) -> None:
    """OpenAPI's way to say "signing in is optional": an empty requirement beside the scheme."""
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in _METHODS and operation.get("operationId") in operation_ids:
                security = operation.get("security")
                if security and {} not in security:
                    operation["security"] = [{}, *security]


def install_api_openapi(
    app: FastAPI,
    *,
    optional_auth: Collection[Callable[..., Any]] = (),
) -> None:
    """``optional_auth``: dependencies through which a route reaches the bearer scheme without
    requiring it (``accounts.deps.optional_user``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            mark_optional_security(document, _optional_security_operations(app, optional_auth))
            with_problem_responses(document)
            with_binary_file_parts(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
