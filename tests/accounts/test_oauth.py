"""OAuth accounts: AES-GCM at rest, row-bound ciphertexts, key rotation, the admin CLI."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from studyhall.accounts.service import oauth
from studyhall.accounts.service.encryption import EncryptionKeyError, KeyRing, new_key
from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.db.rls import cross_users_transaction
from tests.accounts.conftest import PASSWORD, owner_exec, owner_rows, owner_value, sign_up

API = "/api/v1"
ACCESS = "ya29.access-token-PLAINTEXT-1234567890"
REFRESH = "1//refresh-token-PLAINTEXT-abcdefghij"
REPO = Path(__file__).resolve().parents[2]


def _raw_dump(url: str) -> bytes:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        out = bytearray()
        with cur.copy("COPY oauth_accounts TO STDOUT") as copy:
            for chunk in copy:
                out += bytes(chunk)
        return bytes(out)


async def _link(db: Database, keys: KeyRing, user_id: uuid.UUID, account: str = "g-1") -> uuid.UUID:
    async with db.transaction(user_id) as session:
        row = await oauth.link(
            session,
            keys,
            user_id,
            provider="google",
            provider_account_id=account,
            access_token=ACCESS,
            refresh_token=REFRESH,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            scopes=["calendar.events"],
        )
        return row.id


async def test_tokens_are_encrypted_at_rest_and_bound_to_their_row(
    client: httpx.AsyncClient, db: Database, owner_db: Database, database_urls: DatabaseUrls
) -> None:
    keys = KeyRing.parse(f"k1:{new_key()}")
    user = await sign_up(client)
    other = await sign_up(client)
    first = await _link(db, keys, user.id, "g-1")
    second = await _link(db, keys, other.id, "g-2")
    dump = _raw_dump(database_urls.owner)
    assert b"PLAINTEXT" not in dump and b"ya29" not in dump
    assert await owner_rows(owner_db, "SELECT DISTINCT encryption_key_id FROM oauth_accounts") == [
        ("k1",)
    ]
    async with db.transaction(user.id) as session:
        plain = await oauth.tokens(session, keys, first)
    assert (plain.access_token, plain.refresh_token) == (ACCESS, REFRESH)
    # A ciphertext moved onto another row does not decrypt: the row id is associated data.
    await _copy_ciphertext(owner_db, frm=first, to=second)
    with pytest.raises(EncryptionKeyError):
        async with db.transaction(other.id) as session:
            await oauth.tokens(session, keys, second)
    listed = await client.get(f"{API}/me/oauth-accounts", headers=user.headers)
    assert listed.json()["next_cursor"] is None
    assert [(a["provider"], a["scopes"]) for a in listed.json()["items"]] == [
        ("google", ["calendar.events"])
    ]
    assert "token" not in str(listed.json()).replace("token_expires_at", "")
    taken = await client.delete(f"{API}/me/oauth-accounts/{second}", headers=user.headers)
    assert (taken.status_code, taken.json()["code"]) == (404, "oauth_account_not_found")
    gone = await client.delete(f"{API}/me/oauth-accounts/{first}", headers=user.headers)
    assert gone.status_code == 204
    assert await owner_rows(
        owner_db,
        "SELECT length(access_token_encrypted), refresh_token_encrypted, "
        "deleted_at IS NOT NULL FROM oauth_accounts WHERE id = :id",
        id=first,
    ) == [(0, None, True)]


async def _copy_ciphertext(owner_db: Database, *, frm: object, to: object) -> None:
    await owner_exec(
        owner_db,
        "UPDATE oauth_accounts SET access_token_encrypted = "
        "(SELECT access_token_encrypted FROM oauth_accounts WHERE id = :frm) WHERE id = :to",
        frm=frm,
        to=to,
    )


def test_keyring_refuses_bad_configuration() -> None:
    for spec, message in [
        ("", "no encryption keys"),
        ("k1", "kid:base64key"),
        ("k1:!!!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "16, 24 or 32 bytes"),
        (f"k1:{new_key()},k1:{new_key()}", "appears twice"),
    ]:
        with pytest.raises(EncryptionKeyError, match=message):
            KeyRing.parse(spec)


async def _cli(urls: DatabaseUrls, keys: str, *args: str) -> tuple[int, str]:
    env = os.environ | {
        "DATABASE_URL": urls.owner,
        "STUDYHALL_APP_DATABASE_URL": urls.app,
        "STUDYHALL_ENCRYPTION_KEYS": keys,
        "STUDYHALL_LOG_JSON": "false",
        "PYTHONPATH": str(REPO / "src"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "studyhall.cli",
        *args,
        env=env,
        cwd=str(REPO / "tests"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_rotate_keys_cli_reencrypts_every_row(
    client: httpx.AsyncClient, db: Database, owner_db: Database, database_urls: DatabaseUrls
) -> None:
    old, new = new_key(), new_key()
    old_ring = KeyRing.parse(f"old:{old}")
    ids = [await _link(db, old_ring, (await sign_up(client)).id, f"g-{i}") for i in range(3)]
    before = await owner_rows(owner_db, "SELECT access_token_encrypted FROM oauth_accounts")
    code, output = await _cli(database_urls, f"new:{new},old:{old}", "admin", "rotate-keys")
    assert code == 0, output
    assert "re-encrypted 3 oauth account(s) under key new" in output
    assert await owner_rows(owner_db, "SELECT DISTINCT encryption_key_id FROM oauth_accounts") == [
        ("new",)
    ]
    after = await owner_rows(owner_db, "SELECT access_token_encrypted FROM oauth_accounts")
    assert set(before).isdisjoint(after)
    new_only = KeyRing.parse(f"new:{new}")
    async with cross_users_transaction(db) as session:  # three people's accounts
        for account_id in ids:
            plain = await oauth.tokens(session, new_only, account_id)
            assert (plain.access_token, plain.refresh_token) == (ACCESS, REFRESH)
    code, output = await _cli(database_urls, f"new:{new}", "admin", "rotate-keys")
    assert (code, "re-encrypted 0" in output) == (0, True)
    assert (
        await owner_value(
            owner_db, "SELECT count(*) FROM audit_log WHERE action = 'oauth_account.rotate_keys'"
        )
        == 1
    )


async def test_admin_create_cli(
    client: httpx.AsyncClient, owner_db: Database, database_urls: DatabaseUrls
) -> None:
    env_keys = f"k:{new_key()}"
    code, output = await _cli(
        database_urls,
        env_keys,
        "admin",
        "create",
        "--email",
        "root@example.org",
        "--name",
        "Root",
        "--password",
        PASSWORD,
    )
    assert code == 0, output
    assert await owner_rows(owner_db, "SELECT email, role, is_verified FROM users") == [
        ("root@example.org", "admin", True)
    ]
    signed_in = await client.post(
        f"{API}/auth/sign-in", json={"email": "root@example.org", "password": PASSWORD}
    )
    admin_headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert (await client.get(f"{API}/admin/users", headers=admin_headers)).status_code == 200
    code, output = await _cli(
        database_urls,
        env_keys,
        "admin",
        "create",
        "--email",
        "root@example.org",
        "--name",
        "Root",
        "--password",
        PASSWORD,
    )
    assert code == 1 and "already exists" in output


def test_settings_accept_encryption_keys() -> None:
    settings = Settings(_env_file=None, encryption_keys=SecretStr(f"a:{new_key()}"))  # type: ignore[call-arg]
    assert KeyRing.from_settings(settings).current == "a"
