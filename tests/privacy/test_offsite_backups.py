"""Backups copied to S3-compatible storage, and their retention there, against a real S3 peer:
moto's server, started as a process of its own and spoken to over HTTP."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import botocore.session
import httpx
import pytest
from botocore.client import BaseClient
from pydantic import SecretStr

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.jobs import core as jobs
from studyhall.privacy.jobs import nightly_backup
from studyhall.study.service import S3Storage
from tests.foundation.smtp import free_port
from tests.foundation.test_cli import _studyhall

BUCKET = "studyhall-backups"
KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3(s3_endpoint: str) -> Iterator[BaseClient]:
    """An independent client (botocore) to arrange and inspect the bucket."""
    client = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(s3: BaseClient) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _offsite(settings: Settings, endpoint: str) -> Settings:
    return settings.model_copy(
        update={
            "backup_s3_bucket": BUCKET,
            "backup_s3_endpoint_url": endpoint,
            "backup_s3_access_key_id": KEY_ID,
            "backup_s3_secret_access_key": SecretStr(SECRET),
            "backup_s3_retention_days": 10,
        }
    )


async def test_the_nightly_backup_is_copied_off_site_and_old_copies_go(
    db: Database, settings: Settings, s3: BaseClient, s3_endpoint: str
) -> None:
    offsite = _offsite(settings, s3_endpoint)
    old = "backups/studyhall-20200101T023000Z.dump"
    recent = f"backups/studyhall-{datetime.now(UTC) - timedelta(days=1):%Y%m%dT%H%M%SZ}.dump"
    for key in (old, recent, "backups/README.txt", "elsewhere/studyhall-20200101T023000Z.dump"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"an older copy")
    older = [datetime(2019, 1, 1, tzinfo=UTC) + timedelta(hours=n) for n in range(3)]
    for taken in older:
        s3.put_object(Bucket=BUCKET, Key=f"backups/studyhall-{taken:%Y%m%dT%H%M%SZ}.dump", Body=b"")
    jobs.configure_runtime(jobs.Runtime(settings=offsite, database=db))

    await nightly_backup(timestamp=0)

    [dump] = sorted(offsite.backups_dir.glob("studyhall-*.dump"))
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    uploaded = f"backups/{dump.name}"
    body = s3.get_object(Bucket=BUCKET, Key=uploaded)["Body"].read()
    assert body == dump.read_bytes()
    assert _keys(s3) == sorted(
        [uploaded, recent, "backups/README.txt", "elsewhere/studyhall-20200101T023000Z.dump"]
    )


async def test_listing_reads_every_page(s3: BaseClient, s3_endpoint: str) -> None:
    for n in range(5):
        s3.put_object(Bucket=BUCKET, Key=f"backups/{n}", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="other/x", Body=b"")
    storage = S3Storage(s3_endpoint, BUCKET, KEY_ID, SECRET)
    assert await storage.keys("backups/", page_size=2) == [f"backups/{n}" for n in range(5)]


def test_db_backup_copies_off_site_from_the_command_line(
    database_urls: DatabaseUrls, tmp_path: Path, s3: BaseClient, s3_endpoint: str
) -> None:
    result = _studyhall(
        "db",
        "backup",
        "--directory",
        str(tmp_path / "dumps"),
        cwd=tmp_path,
        DATABASE_URL=database_urls.owner,
        STUDYHALL_APP_DATABASE_URL=database_urls.app,
        STUDYHALL_BACKUP_S3_BUCKET=BUCKET,
        STUDYHALL_BACKUP_S3_PREFIX="nightly/",
        STUDYHALL_S3_ENDPOINT_URL=s3_endpoint,
        STUDYHALL_S3_ACCESS_KEY_ID=KEY_ID,
        STUDYHALL_S3_SECRET_ACCESS_KEY=SECRET,
    )
    assert result.returncode == 0, result.stderr
    [dump] = (tmp_path / "dumps").glob("studyhall-*.dump")
    assert f"copied to {BUCKET}/nightly/{dump.name}" in result.stdout
    assert _keys(s3) == [f"nightly/{dump.name}"]
    assert s3.get_object(Bucket=BUCKET, Key=f"nightly/{dump.name}")["Body"].read() == (
        dump.read_bytes()
    )


def test_a_failed_upload_fails_the_command_and_keeps_the_local_dump(
    database_urls: DatabaseUrls, tmp_path: Path, s3: BaseClient, s3_endpoint: str
) -> None:
    result = _studyhall(
        "db",
        "backup",
        "--directory",
        str(tmp_path / "dumps"),
        cwd=tmp_path,
        DATABASE_URL=database_urls.owner,
        STUDYHALL_APP_DATABASE_URL=database_urls.app,
        STUDYHALL_BACKUP_S3_BUCKET="no-such-bucket",
        STUDYHALL_BACKUP_S3_ENDPOINT_URL=s3_endpoint,
        STUDYHALL_BACKUP_S3_ACCESS_KEY_ID=KEY_ID,
        STUDYHALL_BACKUP_S3_SECRET_ACCESS_KEY=SECRET,
    )
    assert result.returncode == 1
    assert "the off-site copy failed (the local dump is kept)" in result.stderr
    assert "HTTP 404" in result.stderr
    assert len(list((tmp_path / "dumps").glob("studyhall-*.dump"))) == 1
    assert _keys(s3) == []
