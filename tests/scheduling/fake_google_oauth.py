"""A local stand-in for Google's OAuth 2.0 endpoints (token, revoke) and Calendar free/busy.

It checks what Google checks: the authorization code is single-use and bound to the PKCE
challenge, client and redirect it was issued for; refresh tokens mint new access tokens;
revoked tokens stop working. Free/busy answers the busy intervals a test gives each calendar,
and an error for a calendar it does not know.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

EVENTS = "https://www.googleapis.com/auth/calendar.events"
FREEBUSY = "https://www.googleapis.com/auth/calendar.freebusy"


@dataclass
class FakeGoogleAuth:
    url: str = ""
    client_id: str = "client-123.apps.googleusercontent.com"
    client_secret: str = "client-secret"
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access: dict[str, str] = field(default_factory=dict)  # access token -> refresh token
    refresh: set[str] = field(default_factory=set)
    revoked: list[str] = field(default_factory=list)
    busy: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    granted_scope: str = f"{EVENTS} {FREEBUSY}"

    def consent(self, challenge: str, redirect_uri: str, client_id: str) -> str:
        """What the user's "Allow" on Google's page produces: a single-use code."""
        code = f"4/{secrets.token_urlsafe(12)}"
        self.codes[code] = {
            "challenge": challenge,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
        }
        return code

    def _issue(self, refresh: str) -> dict[str, Any]:
        token = f"ya29.{secrets.token_urlsafe(12)}"
        self.access[token] = refresh
        return {
            "access_token": token,
            "expires_in": 3599,
            "scope": self.granted_scope,
            "token_type": "Bearer",
        }

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") == "authorization_code":
            issued = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if (
                issued is None
                or issued["challenge"] != challenge
                or issued["redirect_uri"] != form.get("redirect_uri")
            ):
                return 400, {"error": "invalid_grant"}
            refresh = f"1//{secrets.token_urlsafe(12)}"
            self.refresh.add(refresh)
            return 200, {**self._issue(refresh), "refresh_token": refresh}
        if form.get("grant_type") == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh:
                return 400, {"error": "invalid_grant"}
            return 200, self._issue(refresh)
        return 400, {"error": "unsupported_grant_type"}

    def revoke(self, token: str) -> int:
        self.revoked.append(token)
        if token in self.refresh:
            self.refresh.discard(token)
            for access, refresh in list(self.access.items()):
                if refresh == token:
                    del self.access[access]
            return 200
        return 200 if self.access.pop(token, None) is not None else 400

    def free_busy(self, auth: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        token = (auth or "").removeprefix("Bearer ")
        if token not in self.access:
            return 401, {"error": {"code": 401, "message": "Invalid Credentials"}}
        calendars = {}
        for item in body.get("items", []):
            calendar = item["id"]
            if calendar in self.busy:
                calendars[calendar] = {"busy": self.busy[calendar]}
            else:
                calendars[calendar] = {"errors": [{"domain": "global", "reason": "notFound"}]}
        return 200, {"kind": "calendar#freeBusy", "calendars": calendars}


def _handler(fake: FakeGoogleAuth) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any] | None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            auth = self.headers.get("Authorization")
            if self.path == "/token":
                form = dict(parse_qsl(raw))
                fake.requests.append({"path": "/token", "form": form})
                self._answer(*fake.token(form))
            elif self.path == "/revoke":
                form = dict(parse_qsl(raw))
                fake.requests.append({"path": "/revoke", "form": form})
                self._answer(fake.revoke(form.get("token", "")), {})
            elif self.path == "/calendar/v3/freeBusy":
                body = json.loads(raw or "{}")
                fake.requests.append({"path": "/freeBusy", "auth": auth, "body": body})
                self._answer(*fake.free_busy(auth, body))
            else:
                self._answer(404, {"error": "not found"})

    return Handler


@contextmanager
def serve() -> Iterator[FakeGoogleAuth]:
    fake = FakeGoogleAuth()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
