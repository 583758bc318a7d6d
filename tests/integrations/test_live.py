"""The webhook API at the real edge: an admin's client over a socket to a running server, the
receiver on another socket, the job worker in between."""

from __future__ import annotations

import json

import httpx

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from studyhall.integrations.service.targets import resolve
from tests.courses.helpers import make_admin, sign_up
from tests.integrations.conftest import API, booking_created, emit_as, register, settle
from tests.integrations.receiver import Receiver
from tests.live import live_server


async def test_an_admin_over_a_socket_registers_and_reads_the_delivery_log(
    settings: Settings,
    database_urls: DatabaseUrls,
    db: Database,
    owner_db: Database,
    receiver: Receiver,
) -> None:
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            admin = await make_admin(client, owner_db)
            student = await sign_up(client)
            endpoint = await register(client, admin, receiver, ["booking.created"])

            await emit_as(db, student.id, booking_created(student.id))
            await settle()

            page = await client.get(f"{API}/{endpoint['id']}/deliveries", headers=admin.headers)
            assert page.status_code == 200, page.text
            [delivery] = page.json()["items"]
            forbidden = await client.get(
                f"{API}/{endpoint['id']}/deliveries", headers=student.headers
            )
    [message] = receiver.received
    assert message.verified
    assert delivery["status"] == "delivered"
    assert delivery["payload"] == json.loads(message.body)
    assert forbidden.status_code == 403


async def test_production_connects_to_the_checked_address_of_a_public_host() -> None:
    v4 = await resolve("https://93.184.216.34/hooks?x=1", production=True)
    assert (v4.url, v4.host, v4.pinned) == (
        "https://93.184.216.34:443/hooks?x=1",
        "93.184.216.34",
        True,
    )
    v6 = await resolve("https://[2606:4700:4700::1111]:8443/h", production=True)
    assert v6.url == "https://[2606:4700:4700::1111]:8443/h"
    assert v6.host_header == "[2606:4700:4700::1111]:8443"
    local = await resolve("http://127.0.0.1:9/h", production=False)
    assert (local.url, local.pinned) == ("http://127.0.0.1:9/h", False)
