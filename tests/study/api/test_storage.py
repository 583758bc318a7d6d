"""File storage: local disk by default; S3-compatible storage signed with SigV4."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import botocore.auth
import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pydantic import SecretStr

from studyhall.config import Settings
from studyhall.study.providers.storage import LocalStorage, S3Storage, StorageError, get_storage

KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_sigv4_matches_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = S3Storage("http://minio.local:9000", "notes", KEY_ID, SECRET, "eu-west-1")
    when = dt.datetime(2026, 11, 22, 1, 2, 3, tzinfo=dt.UTC)
    url = "http://minio.local:9000/notes/user%201/file.pdf"
    ours = storage.sign("PUT", url, b"hello", now=when)

    request = AWSRequest(method="PUT", url=url, data=b"hello")
    request.headers["x-amz-content-sha256"] = ours["x-amz-content-sha256"]
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when.replace(tzinfo=None))
    S3SigV4Auth(Credentials(KEY_ID, SECRET), "s3", "eu-west-1").add_auth(request)
    assert ours["authorization"] == request.headers["Authorization"]
    assert ours["x-amz-date"] == "20261122T010203Z"


async def test_s3_round_trip_against_a_fake_server() -> None:
    objects: dict[str, bytes] = {}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"].split(" ", 1)[0])
        path = request.url.path
        if request.method == "PUT":
            objects[path] = request.content
            return httpx.Response(200)
        if request.method == "GET":
            return (
                httpx.Response(200, content=objects[path])
                if path in objects
                else httpx.Response(404)
            )
        objects.pop(path, None)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    storage = S3Storage("http://s3.local", "bucket", KEY_ID, SECRET, client=client)
    await storage.put("u1/m1", b"%PDF-1.7 data")
    assert objects == {"/bucket/u1/m1": b"%PDF-1.7 data"}
    assert await storage.get("u1/m1") == b"%PDF-1.7 data"
    await storage.delete("u1/m1")
    with pytest.raises(StorageError):
        await storage.get("u1/m1")
    assert seen == ["AWS4-HMAC-SHA256"] * 4
    await client.aclose()


async def test_local_storage_refuses_paths_outside_its_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    await storage.put("a/b", b"x")
    assert (tmp_path / "a" / "b").read_bytes() == b"x"
    for key in ("../etc/passwd", "/abs", "a/../../x", ""):
        with pytest.raises(StorageError):
            await storage.put(key, b"x")


def test_s3_backend_needs_its_settings(settings: Settings) -> None:
    with pytest.raises(StorageError):
        get_storage(settings.model_copy(update={"storage_backend": "s3"}))
    configured = settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_endpoint_url": "http://s3.local",
            "s3_bucket": "b",
            "s3_access_key_id": KEY_ID,
            "s3_secret_access_key": SecretStr(SECRET),
        }
    )
    assert isinstance(get_storage(configured), S3Storage)
