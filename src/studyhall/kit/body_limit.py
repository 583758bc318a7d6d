"""One size limit for every request body, enforced while the body streams in.

Without it a client could send a 50 MB JSON body to a public route and the server would read
and parse all of it. ``BodyLimitMiddleware`` counts the body as the route reads it: a declared
``Content-Length`` over the limit is refused before a byte is read, a body without one
(chunked) is refused at the first message past the limit. Either way the answer is a 413
problem, whoever was reading the body when it was stopped.

A route that accepts more (file uploads) raises the limit for its own request with
``allow_body_bytes`` before it reads, and says how to word the refusal; the check happens at
the first read, not at the door, so the route has had its say by then.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from studyhall.kit.errors import PayloadTooLarge, problem

__all__ = ["BodyLimitMiddleware", "allow_body_bytes"]

_ALLOWANCE_KEY = "studyhall.body_allowance"


@dataclass(frozen=True)
class _Allowance:
    limit: int
    refusal: PayloadTooLarge


def allow_body_bytes(scope: Scope, limit: int, refusal: PayloadTooLarge) -> None:
    """Let this one request's body be up to ``limit`` bytes, refused past it with ``refusal``.

    Call it before the body is read (a route handler, before FastAPI parses the body).
    """
    scope[_ALLOWANCE_KEY] = _Allowance(limit, refusal)


def _request_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than the {limit}-byte limit.",
        code="request_too_large",
        limit_bytes=limit,
    )


class _BodyTooLarge(Exception):
    """Stops whoever is reading the body; the middleware answers 413."""


class _Guard:
    def __init__(self, scope: Scope, receive: Receive) -> None:
        self._scope = scope
        self._receive = receive
        self.received = 0
        self.exceeded = False

    @property
    def allowance(self) -> _Allowance:
        allowance: _Allowance = self._scope[_ALLOWANCE_KEY]
        return allowance

    @property
    def limit(self) -> int:
        return self.allowance.limit

    def _declared_length(self) -> int | None:
        value = Headers(scope=self._scope).get("content-length", "")
        return int(value) if value.isdigit() else None

    async def receive(self) -> Message:
        if self.received == 0:
            declared = self._declared_length()
            if declared is not None and declared > self.limit:
                self.exceeded = True
                raise _BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                raise _BodyTooLarge
        return message


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allow_body_bytes(scope, self.max_bytes, _request_too_large(self.max_bytes))
        guard = _Guard(scope, receive)
        answered = False
        replaced = False

        async def guarded_send(message: Message) -> None:
            nonlocal answered, replaced
            if message["type"] == "http.response.start":
                answered = True
                # Whoever caught the stop (FastAPI turns a failed body read into a 400) answered
                # for the wrong reason; a route's own 413 (an upload's file_too_large) stands.
                if guard.exceeded and message["status"] != 413:
                    replaced = True
                    await _too_large(scope, guard.allowance.refusal, send)
                    return
            if not replaced:
                await send(message)

        try:
            await self.app(scope, guard.receive, guarded_send)
        except _BodyTooLarge:
            if answered:
                raise
            await _too_large(scope, guard.allowance.refusal, send)


async def _too_large(scope: Scope, refusal: PayloadTooLarge, send: Send) -> None:
    response = problem(
        Request(scope),
        refusal.status,
        refusal.code,
        refusal.detail,
        headers=refusal.headers,
        **refusal.extra,
    )
    # The rest of the body is not read: the connection is closed after this answer.
    response.headers["Connection"] = "close"
    await response(scope, _no_more_body, send)


async def _no_more_body() -> Message:
    return {"type": "http.disconnect"}
