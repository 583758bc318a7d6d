"""A provider's callback is answered 200 only once its event row is committed: the provider
stops retrying at the 200, so an event still in flight then would be an event lost."""

from __future__ import annotations

import uuid

import httpx
import pytest

from studyhall.bootstrap import DatabaseUrls
from studyhall.config import Settings
from studyhall.db.engine import Database
from tests.billing.conftest import scalar
from tests.billing.fakes import FakeApi
from tests.billing.test_paymob import callback, transaction
from tests.billing.test_stripe import deliver, event
from tests.live import live_server, slow_commits

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

DELIVERIES = 40


async def _stored(db: Database, provider: str, event_id: str) -> bool:
    found = await scalar(
        db,
        f"SELECT count(*) FROM webhook_events WHERE provider = '{provider}' "
        f"AND event_id = '{event_id}'",
    )
    return bool(found)


async def test_a_stripe_event_is_stored_when_its_200_arrives(
    settings: Settings, database_urls: DatabaseUrls, owner_db: Database, fake_stripe: FakeApi
) -> None:
    await slow_commits(owner_db, ["webhook_events"])
    missing = 0
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for i in range(DELIVERIES):
                event_id = f"evt_edge_{i}_{uuid.uuid4().hex[:8]}"
                payload = event(
                    "customer.created", {"id": f"cus_{i}", "object": "customer"}, event_id
                )
                answered = await deliver(http, payload)
                assert answered.status_code == 200, answered.text
                missing += not await _stored(owner_db, "stripe", event_id)
    assert missing == 0, f"{missing} of {DELIVERIES} events were not stored at their 200"


async def test_a_paymob_callback_is_stored_when_its_200_arrives(
    settings: Settings, database_urls: DatabaseUrls, owner_db: Database, fake_paymob: FakeApi
) -> None:
    await slow_commits(owner_db, ["webhook_events"])
    missing = 0
    with live_server(settings, database_urls.app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for i in range(DELIVERIES):
                obj = transaction(str(uuid.uuid4()), id=700_000 + i, success=False)
                answered = await callback(http, obj)
                assert answered.status_code == 200, answered.text
                missing += not await _stored(owner_db, "paymob", answered.json()["event_id"])
    assert missing == 0, f"{missing} of {DELIVERIES} callbacks were not stored at their 200"
