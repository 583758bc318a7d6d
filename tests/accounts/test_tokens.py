"""The token matrix: our access tokens and external OIDC ID tokens, against a local JWKS."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from studyhall.accounts.service import security
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.accounts.conftest import owner_rows, owner_value, sign_up

API = "/api/v1"
ISSUER = "https://id.example.test/"
AUDIENCE = "studyhall-client"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# --- our own access tokens --------------------------------------------------------------------


def _forge(claims: dict[str, Any], secret: str, alg: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=alg)


async def test_access_token_matrix(client: httpx.AsyncClient, settings: Settings) -> None:
    actor = await sign_up(client)
    secret = settings.secret_key.get_secret_value()
    now = datetime.now(UTC)
    good = {
        "sub": str(actor.id),
        "role": "student",
        "iss": security.ISSUER,
        "aud": security.AUDIENCE,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    valid = _forge(good, secret)
    header, payload, signature = valid.split(".")
    tampered_payload = _b64(json.dumps(good | {"sub": str(uuid.uuid4())}).encode())
    cases = {
        "valid": (valid, 200),
        "valid, exact issue time": (
            _forge(good | {"iat_us": security.to_micros(now)}, secret),
            200,
        ),
        "issued before sign-up": (
            _forge(good | {"iat_us": security.to_micros(now - timedelta(minutes=1))}, secret),
            401,
        ),
        "expired": (
            _forge(good | {"exp": int((now - timedelta(seconds=5)).timestamp())}, secret),
            401,
        ),
        "not yet valid": (
            _forge(good | {"nbf": int((now + timedelta(minutes=5)).timestamp())}, secret),
            401,
        ),
        "wrong audience": (_forge(good | {"aud": "someone-else"}, secret), 401),
        "wrong issuer": (_forge(good | {"iss": "https://evil.example"}, secret), 401),
        "alg none": (jwt.encode(good, None, algorithm="none"), 401),
        "wrong secret": (_forge(good, "another secret that is long enough!!"), 401),
        "tampered payload": (f"{header}.{tampered_payload}.{signature}", 401),
        "tampered signature": (f"{header}.{payload}.{signature[:-4]}AAAA", 401),
        "missing sub": (_forge({k: v for k, v in good.items() if k != "sub"}, secret), 401),
        "garbage": ("not.a.jwt", 401),
    }
    for name, (token, expected) in cases.items():
        response = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == expected, name
        if expected == 401:
            assert response.json()["code"] == "invalid_token", name
            assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


# --- a local OIDC provider --------------------------------------------------------------------


class Provider:
    """Key pairs and a JWKS endpoint served over real HTTP on a loopback port."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.published: list[str] = []
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                body = json.dumps({"keys": [provider.jwk(kid) for kid in provider.published]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def add_rsa(self, kid: str, publish: bool = True) -> None:
        self.keys[kid] = ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))
        if publish:
            self.published.append(kid)

    def add_ec(self, kid: str) -> None:
        self.keys[kid] = ("ES256", ec.generate_private_key(ec.SECP256R1()))
        self.published.append(kid)

    def jwk(self, kid: str) -> dict[str, Any]:
        alg, key = self.keys[kid]
        algorithm = RSAAlgorithm if alg == "RS256" else ECAlgorithm
        jwk: dict[str, Any] = algorithm.to_jwk(key.public_key(), as_dict=True)
        return jwk | {"kid": kid, "alg": alg, "use": "sig"}

    def token(self, kid: str = "k1", **overrides: Any) -> str:
        alg, key = self.keys[kid]
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-123",
            "email": "ada@example.org",
            "email_verified": True,
            "name": "Ada Lovelace",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        } | overrides
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def public_pem(self, kid: str) -> bytes:
        return bytes(
            self.keys[kid][1]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(settings: Settings) -> Iterator[Provider]:
    idp = Provider()
    idp.add_rsa("k1")
    idp.add_ec("e1")
    settings.oidc_issuer = ISSUER
    settings.oidc_audience = AUDIENCE
    settings.oidc_jwks_url = idp.url
    settings.oidc_provider = "clerk"
    settings.oidc_jwks_refresh_cooldown_s = 0
    yield idp
    idp.stop()


async def _exchange(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(f"{API}/auth/oidc", json={"id_token": token})


def _hs256_with_public_key(provider: Provider) -> str:
    """The classic key-confusion forgery: HMAC keyed with the provider's public key."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    now = int(time.time())
    body = _b64(
        json.dumps(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "user-123",
                "email": "ada@example.org",
                "iat": now,
                "exp": now + 300,
            }
        ).encode()
    )
    mac = hmac.new(provider.public_pem("k1"), f"{header}.{body}".encode(), hashlib.sha256)
    return f"{header}.{body}.{_b64(mac.digest())}"


async def test_oidc_token_matrix(
    client: httpx.AsyncClient, provider: Provider, owner_db: Database
) -> None:
    now = int(time.time())
    valid = provider.token()
    header, payload, signature = valid.split(".")
    forged_body = _b64(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "root"}).encode())
    none_token = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-123", "iat": now, "exp": now + 60},
        None,
        algorithm="none",
        headers={"kid": "k1"},
    )
    refused = {
        "expired": provider.token(exp=now - 10, iat=now - 400, nbf=now - 400),
        "not yet valid": provider.token(nbf=now + 600),
        "wrong audience": provider.token(aud="another-client"),
        "wrong issuer": provider.token(iss="https://evil.example/"),
        "alg none": none_token,
        "hs256 with the public key": _hs256_with_public_key(provider),
        "tampered signature": f"{header}.{payload}.{signature[:-6]}AAAAAA",
        "tampered payload": f"{header}.{forged_body}.{signature}",
        "missing exp": provider.token(exp=None),
    }
    for name, token in refused.items():
        response = await _exchange(client, token)
        assert (response.status_code, response.json()["code"]) == (401, "invalid_token"), name
    assert await owner_value(owner_db, "SELECT count(*) FROM users") == 0

    first = await _exchange(client, valid)
    assert first.status_code == 200, first.text
    again = await _exchange(client, provider.token(kid="e1"))
    assert again.status_code == 200
    assert await owner_rows(
        owner_db,
        "SELECT email, auth_provider, auth_provider_id, is_verified, password_hash FROM users",
    ) == [("ada@example.org", "clerk", "user-123", True, None)]
    me = await client.get(
        f"{API}/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"}
    )
    assert (me.status_code, me.json()["name"]) == (200, "Ada Lovelace")
    # The key set was fetched once and then served from the cache.
    assert provider.fetches == 1


async def test_oidc_unknown_kid_refetches_the_key_set(
    client: httpx.AsyncClient, provider: Provider
) -> None:
    assert (await _exchange(client, provider.token())).status_code == 200
    assert provider.fetches == 1
    provider.add_rsa("k2", publish=False)
    unknown = await _exchange(client, provider.token(kid="k2"))
    assert (unknown.status_code, unknown.json()["code"]) == (401, "invalid_token")
    assert provider.fetches == 2
    # The provider rotates: the new key is published, and picked up on first sight of its kid.
    provider.published.append("k2")
    assert (await _exchange(client, provider.token(kid="k2"))).status_code == 200
    assert provider.fetches == 3


async def test_oidc_refetch_on_unknown_kid_is_rate_limited(
    client: httpx.AsyncClient, provider: Provider, settings: Settings
) -> None:
    settings.oidc_jwks_refresh_cooldown_s = 3600
    assert (await _exchange(client, provider.token())).status_code == 200
    provider.add_rsa("k2", publish=False)
    for _ in range(5):
        assert (await _exchange(client, provider.token(kid="k2"))).status_code == 401
    # A flood of unknown kids does not turn into a flood of requests to the provider.
    assert provider.fetches == 1


async def test_oidc_links_existing_account_only_with_a_verified_email(
    client: httpx.AsyncClient, provider: Provider, owner_db: Database
) -> None:
    existing = await sign_up(client, email="ada@example.org")
    unverified = await _exchange(client, provider.token(email_verified=False))
    assert (unverified.status_code, unverified.json()["code"]) == (409, "email_taken")
    assert await owner_rows(owner_db, "SELECT auth_provider, auth_provider_id FROM users") == [
        ("password", None)
    ]
    linked = await _exchange(client, provider.token())
    assert linked.status_code == 200
    assert await owner_rows(owner_db, "SELECT id, auth_provider, auth_provider_id FROM users") == [
        (existing.id, "clerk", "user-123")
    ]
    no_email = await _exchange(client, provider.token(sub="other-user", email=None))
    assert (no_email.status_code, no_email.json()["code"]) == (401, "oidc_email_missing")


async def test_oidc_not_configured_is_503(client: httpx.AsyncClient) -> None:
    response = await _exchange(client, "a" * 40)
    assert (response.status_code, response.json()["code"]) == (503, "oidc_not_configured")


async def test_concurrent_first_sign_ins_create_one_user(
    client: httpx.AsyncClient, provider: Provider, owner_db: Database
) -> None:
    token = provider.token(sub="racer", email="racer@example.org")
    responses = await asyncio.gather(*(_exchange(client, token) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert await owner_rows(
        owner_db, "SELECT count(*), count(DISTINCT id) FROM users WHERE auth_provider_id = 'racer'"
    ) == [(1, 1)]
    ids = set()
    for response in responses:
        me = await client.get(
            f"{API}/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
        )
        ids.add(me.json()["id"])
    assert len(ids) == 1


# --- verified tokens are kept for their lifetime, and only for it ------------------------------


def _short_lived(user_id: uuid.UUID, secret: str, seconds: int) -> str:
    now = int(time.time())
    return _forge(
        {
            "sub": str(user_id),
            "role": "student",
            "iss": security.ISSUER,
            "aud": security.AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
        },
        secret,
    )


def test_a_kept_token_is_verified_once_and_refused_once_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "s" * 40
    calls: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(security.jwt, "decode", counting_decode)
    user = uuid.uuid4()
    token = _short_lived(user, secret, 2)
    first = security.decode_access_token(token, secret)
    assert security.decode_access_token(token, secret) == first
    assert first.user_id == user
    assert calls == [token]  # the second use did not verify again
    # Another secret is another key: the kept answer does not carry over, the signature fails.
    with pytest.raises(jwt.InvalidSignatureError):
        security.decode_access_token(token, "t" * 40)
    time.sleep(2.2)
    with pytest.raises(jwt.ExpiredSignatureError):
        security.decode_access_token(token, secret)
    with pytest.raises(jwt.ExpiredSignatureError):  # and stays refused
        security.decode_access_token(token, secret)


def test_the_kept_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "VERIFIED_TOKENS_KEPT", 3)
    monkeypatch.setattr(security, "_verified", {})
    secret = "s" * 40
    tokens = [_short_lived(uuid.uuid4(), secret, 60) for _ in range(5)]
    for token in tokens:
        security.decode_access_token(token, secret)
    assert [token for _, token in security._verified] == tokens[2:]


async def test_a_kept_token_still_ends_with_its_sign_in(client: httpx.AsyncClient) -> None:
    """Keeping a verified token saves the signature check only: signing out refuses the same
    token at once, although it verified a moment before."""
    actor = await sign_up(client)  # its token verified (and kept) on its first /me
    headers = {"Authorization": f"Bearer {actor.access_token}"}
    assert (await client.get(f"{API}/me", headers=headers)).status_code == 200
    out = await client.post(f"{API}/auth/sign-out", headers=headers)
    assert out.status_code < 300, out.text
    refused = await client.get(f"{API}/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
