"""Sessions end when the user (or an admin) ends them, from the very next request, over a real
socket: sign-out ends that access token; sign-out everywhere, a password change, suspension and
deletion end every access token of the user."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx
import jwt

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.accounts.conftest import PASSWORD, owner_exec
from tests.live import live_server, slow_commits

API = "/api/v1"
ROUNDS = 8


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _sign_up(http: httpx.AsyncClient) -> tuple[str, str]:
    email = f"edge-{uuid.uuid4().hex[:10]}@example.org"
    body = {"email": email, "password": PASSWORD, "name": "Edge", "role": "student"}
    response = await http.post(f"{API}/auth/sign-up", json=body)
    assert response.status_code == 201, response.text
    return email, response.json()["access_token"]


async def _sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await http.post(f"{API}/auth/sign-in", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def _status(http: httpx.AsyncClient, token: str) -> int:
    return (await http.get(f"{API}/me", headers=_bearer(token))).status_code


async def test_sign_out_ends_that_access_token_at_once_100_of_100(
    settings: Settings, database_urls: DatabaseUrls, owner_db: Database
) -> None:
    settings.signin_limit_per_ip = 100_000
    await slow_commits(owner_db, ["refresh_tokens", "users"])
    still_valid = 0
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            email, other_session = await _sign_up(http)
            for _ in range(100):
                token = await _sign_in(http, email)
                assert await _status(http, token) == 200
                signed_out = await http.post(f"{API}/auth/sign-out", headers=_bearer(token))
                assert signed_out.status_code == 204, signed_out.text
                still_valid += await _status(http, token) != 401
            # Only the session that signed out ended.
            assert await _status(http, other_session) == 200
    assert still_valid == 0, f"{still_valid} of 100 signed-out tokens still worked"


async def test_a_signed_out_refresh_token_cannot_mint_new_access_tokens(
    settings: Settings, database_urls: DatabaseUrls
) -> None:
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            email = f"edge-{uuid.uuid4().hex[:10]}@example.org"
            body = {"email": email, "password": PASSWORD, "name": "Edge"}
            pair = (await http.post(f"{API}/auth/sign-up", json=body)).json()
            signed_out = await http.post(
                f"{API}/auth/sign-out", headers=_bearer(pair["access_token"])
            )
            assert signed_out.status_code == 204
            refreshed = await http.post(
                f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            assert refreshed.status_code == 401


async def test_a_token_with_a_malformed_session_id_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    _, token = await _sign_up(client)
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(
        claims | {"sid": "not-a-uuid"}, settings.secret_key.get_secret_value(), algorithm="HS256"
    )
    assert await _status(client, token) == 200
    assert await _status(client, forged) == 401


async def test_a_token_of_a_sign_in_that_is_not_the_users_own_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # Only our secret can mint a sid, but the check still binds it to the user it names.
    _, ana = await _sign_up(client)
    _, ben = await _sign_up(client)
    ben_sid = jwt.decode(ben, options={"verify_signature": False})["sid"]
    claims = jwt.decode(ana, options={"verify_signature": False})
    crossed = jwt.encode(
        claims | {"sid": ben_sid}, settings.secret_key.get_secret_value(), algorithm="HS256"
    )
    assert await _status(client, crossed) == 401


# Ends every session of a user, given one of the user's tokens, the user's id and an admin's token.
EndAll = Callable[[httpx.AsyncClient, str, str, str], Awaitable[None]]


async def _every_token_ends(
    settings: Settings,
    database_urls: DatabaseUrls,
    owner_db: Database,
    end_all: EndAll,
) -> None:
    """Each round: three sign-ins of one user, ``end_all`` with one of them, then every token
    of the three answered 401 by the very next request."""
    settings.signin_limit_per_ip = 100_000
    await slow_commits(owner_db, ["refresh_tokens", "users"])
    survivors = 0
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            _, admin_token = await _sign_up(http)
            await owner_exec(owner_db, "UPDATE users SET role = 'admin'")
            for _ in range(ROUNDS):
                email, first = await _sign_up(http)
                tokens = [first, await _sign_in(http, email), await _sign_in(http, email)]
                assert [await _status(http, t) for t in tokens] == [200, 200, 200]
                user_id = (await http.get(f"{API}/me", headers=_bearer(first))).json()["id"]
                await end_all(http, tokens[1], user_id, admin_token)
                survivors += sum([await _status(http, t) != 401 for t in tokens])
    assert survivors == 0, f"{survivors} tokens outlived the end of their sessions"


async def test_sign_out_everywhere_ends_every_token_at_once(
    settings: Settings, database_urls: DatabaseUrls, owner_db: Database
) -> None:
    async def end_all(http: httpx.AsyncClient, token: str, user_id: str, admin: str) -> None:
        response = await http.post(f"{API}/auth/sign-out-everywhere", headers=_bearer(token))
        assert response.status_code == 204, response.text

    await _every_token_ends(settings, database_urls, owner_db, end_all)


async def test_a_password_change_ends_every_other_token_at_once(
    settings: Settings, database_urls: DatabaseUrls, owner_db: Database
) -> None:
    async def end_all(http: httpx.AsyncClient, token: str, user_id: str, admin: str) -> None:
        response = await http.post(
            f"{API}/auth/change-password",
            json={"current_password": PASSWORD, "new_password": "a brand new passphrase 7"},
            headers=_bearer(token),
        )
        assert response.status_code == 200, response.text
        # The pair the change returns is the one session left.
        assert await _status(http, response.json()["access_token"]) == 200

    await _every_token_ends(settings, database_urls, owner_db, end_all)


async def test_suspension_ends_every_token_at_once(
    settings: Settings, database_urls: DatabaseUrls, owner_db: Database
) -> None:
    async def end_all(http: httpx.AsyncClient, token: str, user_id: str, admin: str) -> None:
        response = await http.post(
            f"{API}/admin/users/{user_id}/suspend",
            json={"reason": "chargebacks"},
            headers=_bearer(admin),
        )
        assert response.status_code == 200, response.text

    await _every_token_ends(settings, database_urls, owner_db, end_all)


async def test_deletion_ends_every_token_at_once(
    settings: Settings, database_urls: DatabaseUrls, owner_db: Database
) -> None:
    async def end_all(http: httpx.AsyncClient, token: str, user_id: str, admin: str) -> None:
        response = await http.delete(f"{API}/me", headers=_bearer(token))
        assert response.status_code == 204, response.text

    await _every_token_ends(settings, database_urls, owner_db, end_all)
