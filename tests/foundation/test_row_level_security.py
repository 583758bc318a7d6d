"""Row level security is a second wall: what SQL run as the API role can and cannot do.

Every user-data table has FORCEd row level security; a connection of the API role that sets any
setting it likes still reads only what a signed identity allows; one request's identity never
reaches the next on a pooled connection; and the app refuses to start as a role that would pass
row level security.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import APIRouter, FastAPI
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from studyhall.accounts.deps import OptionalUser
from studyhall.app import create_app
from studyhall.bootstrap import DatabaseUrls, UnsafeAppRole, check_app_role
from studyhall.config import Settings
from studyhall.db.deps import Session
from studyhall.db.identity import Identity, key_pads, rls_key, signed_settings
from tests.live import live_server
from tests.pg import TEST_RLS_KEY, PgServer

API = "/api/v1"
PASSWORD = "correct horse battery staple"

# Tables that hold no personal data, so row level security has nothing to keep apart there.
NO_USER_DATA = {
    "alembic_version",  # the schema's revision
    "studyhall_rls_key",  # the identity key: no privilege at all for the API role
    "achievements",  # the catalogue of badges (who earned one: user_achievements)
    "subjects",  # catalogue
    "topics",  # catalogue
    "plans",  # subscription plans on sale
    "products",  # billing products on sale
    "credit_packs",  # credit packs on sale
    "courses",  # the public course catalogue (authors publish it to everyone)
    "course_sections",  # its structure
    "lessons",  # its lessons (the material behind a lesson is protected: materials)
    "course_products",  # what a course costs
    "procrastinate_events",  # job bookkeeping: ids, states, times
    "procrastinate_periodic_defers",
    "procrastinate_workers",
}
# User data still without policies: every read of these happens before an identity exists (sign
# in, token refresh, reset links, rate limits), or they are written by cross-user units of work
# only (jobs). They are listed here so that protecting one means removing it
# from this list, and a new table without row level security fails the test. See
# docs/privacy.md ("What row level security does not cover yet").
AWAITING_POLICIES = {
    "users",  # other people's names are read everywhere; a row policy cannot hide the e-mail
    "procrastinate_jobs",
}

TABLES = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
"""


def _owner(urls: DatabaseUrls) -> psycopg.Connection[Any]:
    return psycopg.connect(urls.owner, autocommit=True)


def test_every_table_with_user_data_forces_row_level_security(
    database_urls: DatabaseUrls,
) -> None:
    with _owner(database_urls) as conn:
        tables = {name: (enabled, forced) for name, enabled, forced in conn.execute(TABLES)}
    assert tables.keys() >= NO_USER_DATA
    assert tables.keys() >= AWAITING_POLICIES
    unprotected = {
        name
        for name, (enabled, forced) in tables.items()
        if not (enabled and forced) and name not in NO_USER_DATA
    }
    assert unprotected == AWAITING_POLICIES
    # A table with row level security but no policy would read empty for everyone: each has one.
    with _owner(database_urls) as conn:
        without_policy = conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relrowsecurity AND NOT EXISTS "
            "(SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)"
        ).fetchall()
    assert without_policy == []


def test_no_policy_reads_a_setting_directly(database_urls: DatabaseUrls) -> None:
    """Every policy asks the signature-checking functions, none reads ``app.*`` itself."""
    with _owner(database_urls) as conn:
        direct = conn.execute(
            "SELECT tablename, policyname FROM pg_policies "
            "WHERE coalesce(qual, '') || coalesce(with_check, '') LIKE '%current_setting%'"
        ).fetchall()
    assert direct == []


async def _signed_up(client: httpx.AsyncClient) -> tuple[uuid.UUID, dict[str, str]]:
    email = f"rls-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "name": "Rosa", "role": "student"}
    response = await client.post(f"{API}/auth/sign-up", json=body)
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = await client.get(f"{API}/me", headers=headers)
    return uuid.UUID(me.json()["id"]), headers


async def _with_feed(client: httpx.AsyncClient) -> tuple[uuid.UUID, dict[str, str]]:
    """A user who owns one calendar feed row (a table of owner-only rows)."""
    user_id, headers = await _signed_up(client)
    assert (await client.post(f"{API}/calendar/feed", headers=headers)).status_code == 201
    return user_id, headers


FEEDS_OF = "SELECT count(*) FROM calendar_feeds WHERE user_id = %s"


def _feeds_seen(conn: psycopg.Connection[Any], settings: dict[str, str], owner: uuid.UUID) -> int:
    """Rows of ``owner`` seen in a transaction that states ``settings`` (no signature check by
    the client: the database decides)."""
    with conn.transaction():
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        row = conn.execute(FEEDS_OF, (owner,)).fetchone()
    assert row is not None
    return int(row[0])


def _as_app_settings(values: dict[str, str]) -> dict[str, str]:
    return {
        "app.user_id": values["uid"],
        "app.user_role": values["role"],
        "app.cross_users": values["crossing"],
        "app.identity_signature": values["signature"],
    }


async def test_the_api_role_setting_any_setting_still_reads_only_its_own_rows(
    client: httpx.AsyncClient, database_urls: DatabaseUrls
) -> None:
    victim, _ = await _with_feed(client)
    attacker, _ = await _with_feed(client)
    with psycopg.connect(database_urls.app) as conn:
        # The control: a signature the app made for the victim reads the victim's row.
        own = _as_app_settings(signed_settings(Identity(victim), TEST_RLS_KEY))
        assert _feeds_seen(conn, own, victim) == 1
        # What the attacker's own transaction legitimately holds: their signed identity.
        mine = _as_app_settings(signed_settings(Identity(attacker), TEST_RLS_KEY))
        assert _feeds_seen(conn, mine, attacker) == 1
        forgeries = [
            {"app.user_id": str(victim)},  # unsigned
            {"app.bypass_rls": "on"},  # the old switch
            {"app.cross_users": "on", "app.user_role": "admin"},
            {"app.user_id": str(victim), "app.identity_signature": "9999999999:" + "0" * 64},
            {"app.user_id": str(victim), "app.identity_signature": "garbage"},
            # The attacker's own valid signature, replayed for another claim.
            {**mine, "app.user_id": str(victim)},
            {**mine, "app.cross_users": "on"},
            {**mine, "app.user_role": "admin", "app.cross_users": "on"},
            # A signature made with another secret (the default one, in a deployment with its own).
            _as_app_settings(signed_settings(Identity(victim, crosses_users=True), rls_key("x"))),
        ]
        for forged in forgeries:
            assert _feeds_seen(conn, forged, victim) == 0, forged
        # An expired signature of the victim's own (the app's) no longer counts either.
        stale = signed_settings(Identity(victim), TEST_RLS_KEY, now=0)
        assert _feeds_seen(conn, _as_app_settings(stale), victim) == 0


# One row of each for a person: credentials, consents and stored answers are theirs alone.
SEED_CREDENTIALS = (
    "INSERT INTO auth_tokens (user_id, purpose, token_hash, expires_at) "
    "VALUES (%(u)s, 'password_reset', md5(%(u)s::text) || md5('r' || %(u)s), now() + '1 hour')",
    "INSERT INTO oauth_accounts (user_id, provider, provider_account_id, "
    "access_token_encrypted, encryption_key_id) VALUES (%(u)s, 'google', %(u)s, '\\x00', 'k')",
    "INSERT INTO guardian_consents (user_id, guardian_email, consent_type, consent_given, "
    "legal_text_hash) VALUES (%(u)s, 'guardian@example.com', 'account', true, md5('t'))",
    "INSERT INTO idempotency_keys (user_id, scope, key, request_hash) "
    "VALUES (%(u)s, 'POST /x', 'k', md5('b'))",
)
ACCOUNT_FUNCTIONS = (
    "studyhall_refresh_token_holder",
    "studyhall_auth_token_holder",
    "studyhall_oauth_connected",
    "studyhall_rate_limit_hit",
    "studyhall_rate_limit_give_back",
    "studyhall_guardian_wards",
)
CREDENTIAL_TABLES = (
    "refresh_tokens",  # made by signing up
    "auth_tokens",
    "oauth_accounts",
    "guardian_consents",
    "idempotency_keys",
)


def _credentials_seen(
    conn: psycopg.Connection[Any], settings: dict[str, str], owner: uuid.UUID
) -> dict[str, int]:
    with conn.transaction():
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        seen = {}
        for table in CREDENTIAL_TABLES:
            query = sql.SQL("SELECT count(*) FROM {} WHERE user_id = %s")
            row = conn.execute(query.format(sql.Identifier(table)), (owner,)).fetchone()
            assert row is not None
            seen[table] = int(row[0])
        counters = conn.execute("SELECT count(*) FROM auth_rate_limits").fetchone()
        assert counters is not None
        seen["auth_rate_limits"] = int(counters[0])
    return seen


async def test_the_api_role_reads_no_one_elses_credentials_whatever_it_sets(
    client: httpx.AsyncClient, database_urls: DatabaseUrls
) -> None:
    victim, _ = await _signed_up(client)
    attacker, _ = await _signed_up(client)
    wrong = {"email": "nobody@example.com", "password": "wrong password entirely"}
    assert (await client.post(f"{API}/auth/sign-in", json=wrong)).status_code == 401
    with _owner(database_urls) as conn:
        for statement in SEED_CREDENTIALS:
            conn.execute(statement, {"u": victim})
        assert conn.execute("SELECT count(*) FROM auth_rate_limits").fetchone() != (0,)
    nothing = dict.fromkeys((*CREDENTIAL_TABLES, "auth_rate_limits"), 0)
    with psycopg.connect(database_urls.app) as conn:
        own = _as_app_settings(signed_settings(Identity(victim), TEST_RLS_KEY))
        assert _credentials_seen(conn, own, victim) == {
            **nothing,
            **dict.fromkeys(CREDENTIAL_TABLES, 1),
        }
        mine = _as_app_settings(signed_settings(Identity(attacker), TEST_RLS_KEY))
        admin = _as_app_settings(signed_settings(Identity(attacker, admin=True), TEST_RLS_KEY))
        for forged in (
            {},
            mine,
            admin,  # an admin's own request does not read other people's credentials either
            {"app.user_id": str(victim), "app.cross_users": "on"},
            {**mine, "app.user_id": str(victim)},
            {**mine, "app.cross_users": "on"},
        ):
            assert _credentials_seen(conn, forged, victim) == nothing, forged
        # The functions the anonymous flows use answer for a presented hash only, and PUBLIC
        # may not call them.
        holder = conn.execute(
            "SELECT studyhall_refresh_token_holder(%s), studyhall_auth_token_holder(%s, %s)",
            ("0" * 64, "0" * 64, "password_reset"),
        ).fetchone()
        assert holder == (None, None)
        conn.rollback()
        public = conn.execute(
            "SELECT p.proname FROM pg_proc p, "
            "aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a "
            "WHERE a.grantee = 0 AND p.proname = ANY(%s)",
            (list(ACCOUNT_FUNCTIONS),),
        ).fetchall()
        assert public == []


def _wards_seen(conn: psycopg.Connection[Any], settings: dict[str, str]) -> list[uuid.UUID]:
    with conn.transaction():
        for name, value in settings.items():
            conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        return [row[0] for row in conn.execute("SELECT * FROM studyhall_guardian_wards()")]


async def test_a_guardian_learns_only_their_own_wards(
    client: httpx.AsyncClient, database_urls: DatabaseUrls
) -> None:
    """The consents are the wards' rows; the function a guardian's pages ask answers the signed
    person's own wards and nothing for anyone else, whatever they set."""
    ward, _ = await _signed_up(client)
    guardian, _ = await _signed_up(client)
    stranger, _ = await _signed_up(client)
    with _owner(database_urls) as conn:
        conn.execute(
            "INSERT INTO guardian_consents (user_id, guardian_email, consent_type, consent_given, "
            "legal_text_hash) SELECT %(w)s, upper(email), 'account', true, md5('t') "
            "FROM users WHERE id = %(g)s",
            {"w": ward, "g": guardian},
        )
    with psycopg.connect(database_urls.app) as conn:
        signed = _as_app_settings(signed_settings(Identity(guardian), TEST_RLS_KEY))
        assert _wards_seen(conn, signed) == [ward]
        other = _as_app_settings(signed_settings(Identity(stranger), TEST_RLS_KEY))
        for forged in ({}, other, {**other, "app.user_id": str(guardian)}):
            assert _wards_seen(conn, forged) == [], forged


def test_the_api_role_cannot_mint_a_signature(database_urls: DatabaseUrls) -> None:
    """The key lives in a table the API role has no privilege on, and no function, setting or
    catalogue entry the role can read reveals it."""
    with psycopg.connect(database_urls.app, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM studyhall_rls_key")
        for statement in (
            "SET ROLE studyhall_owner",
            "ALTER TABLE calendar_feeds NO FORCE ROW LEVEL SECURITY",
            "ALTER TABLE calendar_feeds DISABLE ROW LEVEL SECURITY",
            "DROP POLICY calendar_feeds_owner ON calendar_feeds",
            "SET row_security = off; SELECT count(*) FROM calendar_feeds",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        sources = conn.execute(
            "SELECT string_agg(prosrc, ' ') FROM pg_proc WHERE proname LIKE 'studyhall%%'"
        ).fetchone()
        assert sources is not None
        inner, outer = (pad.hex() for pad in key_pads(TEST_RLS_KEY))
        assert inner not in sources[0] and outer not in sources[0]
        assert TEST_RLS_KEY.hex() not in sources[0]


def _probe() -> APIRouter:
    """What the request's transaction is, as the database sees it."""
    router = APIRouter()

    @router.get("/probe/identity")
    async def probe(user: OptionalUser, session: Session) -> dict[str, Any]:
        row = (
            await session.execute(
                text(
                    "SELECT studyhall_current_user(), studyhall_crosses_users(), "
                    "array(SELECT user_id::text FROM calendar_feeds ORDER BY 1)"
                )
            )
        ).one()
        return {
            "caller": None if user is None else str(user.id),
            "identity": None if row[0] is None else str(row[0]),
            "crosses": row[1],
            "feeds": row[2],
        }

    return router


@pytest.fixture
def small_pool(settings: Settings) -> Settings:
    """One connection and one overflow: consecutive requests share a connection."""
    return settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 1})


@pytest.fixture
def live_url(small_pool: Settings, database_urls: DatabaseUrls) -> Iterator[str]:
    with live_server(small_pool, database_urls.app, routes=_probe()) as url:
        yield url


async def test_one_requests_identity_never_reaches_the_next_on_a_pooled_connection(
    live_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as http:
        ana, ana_headers = await _with_feed(http)
        ben, ben_headers = await _with_feed(http)
        callers = [(str(ana), ana_headers), (str(ben), ben_headers), (None, {})] * 40

        async def ask(caller: str | None, headers: dict[str, str]) -> None:
            response = await http.get(f"{API}/probe/identity", headers=headers)
            assert response.status_code == 200, response.text
            seen = response.json()
            assert seen == {
                "caller": caller,
                "identity": caller,
                "crosses": False,
                "feeds": [] if caller is None else [caller],
            }

        for caller, headers in callers:  # one after another: each takes the last one's connection
            await ask(caller, headers)
        for start in range(0, len(callers), 6):  # and interleaved, several at once
            batch = callers[start : start + 6]
            await asyncio.gather(*(ask(caller, headers) for caller, headers in batch))


def _role_url(urls: DatabaseUrls, role: str) -> str:
    return make_url(urls.app).set(username=role).render_as_string(hide_password=False)


@pytest.fixture
def risky_role(pg_server: PgServer) -> Iterator[str]:
    role = f"risky_{uuid.uuid4().hex[:8]}"
    pg_server.execute(sql.SQL("CREATE ROLE {} LOGIN BYPASSRLS").format(sql.Identifier(role)))
    yield role
    pg_server.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_startup_refuses_a_role_that_passes_row_level_security(
    settings: Settings, database_urls: DatabaseUrls, pg_server: PgServer, risky_role: str
) -> None:
    check_app_role(database_urls.app, settings)  # the proper role passes
    database = make_url(database_urls.app).database
    assert database is not None
    for url, power in (
        (database_urls.owner, "a table owner"),
        (pg_server.url(database), "a superuser"),
        (_role_url(database_urls, risky_role), "BYPASSRLS"),
    ):
        with pytest.raises(UnsafeAppRole, match=power):
            check_app_role(url, settings)
    # A member of the owner role has the owner's privileges: refused as well.
    member = f"member_{uuid.uuid4().hex[:8]}"
    pg_server.execute(
        sql.SQL("CREATE ROLE {} LOGIN IN ROLE studyhall_owner").format(sql.Identifier(member))
    )
    try:
        with pytest.raises(UnsafeAppRole, match="a table owner"):
            check_app_role(_role_url(database_urls, member), settings)
    finally:
        pg_server.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(member)))


def test_startup_refuses_a_database_holding_another_secrets_key(
    settings: Settings, database_urls: DatabaseUrls
) -> None:
    other = settings.model_copy(update={"secret_key": settings.secret_key.__class__("x" * 40)})
    with pytest.raises(UnsafeAppRole, match="another STUDYHALL_SECRET_KEY"):
        check_app_role(database_urls.app, other)


async def test_the_app_does_not_start_on_the_owner_role(
    settings: Settings, database_urls: DatabaseUrls
) -> None:
    """Without an app URL the owner's would be used; the app refuses instead of warning."""
    on_owner = settings.model_copy(update={"app_database_url": None})
    app: FastAPI = create_app(on_owner)
    with pytest.raises(UnsafeAppRole, match="STUDYHALL_APP_DATABASE_URL is not set"):
        async with app.router.lifespan_context(app):
            pass
