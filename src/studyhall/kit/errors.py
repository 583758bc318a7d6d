"""Domain exceptions and their one rendering: RFC 9457 ``application/problem+json``:
every error a client sees has this one shape."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("studyhall.errors")

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """A business rule said no. ``code`` is stable: clients branch on it, never on ``detail``."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.headers = headers or {}
        self.extra = extra


class BadRequest(DomainError):
    status = 400
    default_code = "bad_request"


class Unauthorized(DomainError):
    status = 401
    default_code = "unauthorized"


class PaymentRequired(DomainError):
    status = 402
    default_code = "payment_required"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"


class Gone(DomainError):
    status = 410
    default_code = "gone"


class PayloadTooLarge(DomainError):
    status = 413
    default_code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    default_code = "unsupported_media_type"


class Unprocessable(DomainError):
    status = 422
    default_code = "unprocessable"


class RateLimited(DomainError):
    status = 429
    default_code = "rate_limited"

    def __init__(self, detail: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"Retry-After": str(max(1, retry_after_s))})


class ServiceUnavailable(DomainError):
    status = 503
    default_code = "service_unavailable"


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://studyhall.dev/problems/{code.replace('_', '-')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def field_error(location: Sequence[str | int], message: str, kind: str) -> dict[str, Any]:
    """One entry of a validation problem's ``errors``: ``in`` names the part of the request
    (``body``, ``query``, ``path``, ``header``, ``cookie``) and ``field`` the dotted path inside
    it (``email``, ``subjects.1``), or null when the part as a whole is wrong."""
    part, *path = location
    return {
        "field": ".".join(str(step) for step in path) or None,
        "in": str(part),
        "message": message,
        "type": kind,
    }


def _label(error: dict[str, Any]) -> str:
    return str(error["field"]) if error["field"] else f"the {error['in']}"


def validation_failed(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """``detail``, ``errors`` and, when they all concern one field, the top-level ``field`` of a
    ``validation_failed`` problem (the keyword arguments of ``problem`` or ``Unprocessable``)."""
    labels = ", ".join(sorted({_label(error) for error in errors}))
    named = {(error["in"], error["field"]) for error in errors}
    extra: dict[str, Any] = {"detail": f"Invalid request: check {labels}.", "errors": errors}
    if len(named) == 1 and errors[0]["field"]:
        extra["field"] = errors[0]["field"]
    return extra


def _malformed_json(request: Request, exc: RequestValidationError) -> JSONResponse | None:
    """FastAPI reports a body that does not parse as a validation error at ``body.<offset>``;
    it is a different mistake (the client's encoder, not its values) with a code of its own."""
    broken = [error for error in exc.errors() if error.get("type") == "json_invalid"]
    if not broken:
        return None
    error = broken[0]
    reason = str(error.get("ctx", {}).get("error", error["msg"]))
    offset = error["loc"][1] if len(error["loc"]) > 1 else None
    where = "" if offset is None else f" at character {offset}"
    return problem(
        request,
        400,
        "malformed_json",
        f"The body is not valid JSON: {reason}{where}.",
        errors=[field_error(("body",), reason, "json_invalid")],
    )


async def domain_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem(request, exc.status, exc.code, exc.detail, headers=exc.headers, **exc.extra)


async def validation_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    malformed = _malformed_json(request, exc)
    if malformed is not None:
        return malformed
    errors = [field_error(e["loc"], e["msg"], e["type"]) for e in exc.errors()]
    return problem(request, 422, "validation_failed", **validation_failed(errors))


async def http_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = {404: "route_not_found", 405: "method_not_allowed"}.get(
        status, HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    )
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).description
    if status == 404 and exc.detail == "Not Found":
        detail = f"No route matches {request.method} {request.url.path}."
    return problem(request, status, code, detail, headers=dict(exc.headers or {}))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception(
        "unhandled error",
        extra={"request_id": getattr(request.state, "request_id", None), "path": request.url.path},
    )
    response = problem(
        request, 500, "internal_error", "Something went wrong on our side; it has been logged."
    )
    # This answer is sent from outside the middleware that adds security headers to the others.
    for name, value in getattr(request.app.state, "security_headers", ()):
        response.headers.setdefault(name, value)
    return response


# What PostgreSQL says when a value the API let through does not fit the column: too large for
# its type, invalid for it, missing where required, or outside a CHECK. The schemas are meant to
# refuse all of these first; this is the last line, so a missed bound is a 422, never a 500.
_REFUSED_VALUES = (pg_errors.DataError, pg_errors.NotNullViolation, pg_errors.CheckViolation)


async def _database_refused_value(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, sa_exc.DBAPIError)
    if not isinstance(exc.orig, _REFUSED_VALUES):
        return await _unexpected_error(request, exc)
    # A warning, not an error: the client gets a precise answer, but the schema missed a bound.
    log.warning(
        "database refused a request value: %s",
        type(exc.orig).__name__,
        extra={"request_id": getattr(request.state, "request_id", None), "path": request.url.path},
    )
    extra: dict[str, Any] = {}
    column = getattr(getattr(exc.orig, "diag", None), "column_name", None)
    if column:
        extra["field"] = column
    return problem(
        request,
        422,
        "value_not_storable",
        "A value in the request is out of range, invalid or missing for where it is stored.",
        **extra,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error_response)
    app.add_exception_handler(sa_exc.DataError, _database_refused_value)
    app.add_exception_handler(sa_exc.IntegrityError, _database_refused_value)
    app.add_exception_handler(RequestValidationError, validation_error_response)
    app.add_exception_handler(StarletteHTTPException, http_error_response)
    app.add_exception_handler(Exception, _unexpected_error)
