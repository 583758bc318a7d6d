"""The tutor's Google Calendar page over HTTP, against the local fake of Google's OAuth and
free/busy endpoints: connect (consent and the API's callback, which comes back to the page),
choose a calendar Google can read, disconnect (the grant is revoked)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from studyhall.scheduling.config import scheduling_settings
from tests.scheduling.conftest import sign_up
from tests.scheduling.fake_google_oauth import FakeGoogleAuth
from tests.scheduling.test_google_connect import fake, settings
from tests.web.test_pages import csrf_of
from tests.web.test_pages_marketplace import as_person

__all__ = ["fake", "settings"]  # the Google tests' fake and settings with a key ring, reused

PAGE = "/teach/google-calendar"


@pytest.fixture
def google(fake: FakeGoogleAuth, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGoogleAuth]:
    """The fake, with the API's callback sending the browser back to the web page."""
    monkeypatch.setenv("STUDYHALL_GOOGLE_OAUTH_DONE_URL", f"{PAGE}?notice=google_connected")
    scheduling_settings.cache_clear()
    yield fake
    scheduling_settings.cache_clear()


async def test_a_tutor_connects_chooses_a_calendar_and_disconnects(
    client: httpx.AsyncClient, google: FakeGoogleAuth
) -> None:
    google.busy["primary"] = []
    google.busy["work@group.calendar.google.com"] = []
    tutor = await sign_up(client, "tutor")
    as_person(client, tutor)
    shown = await client.get(PAGE)
    assert "Not connected" in shown.text and "Connect Google Calendar" in shown.text

    assert f'href="{PAGE}/connect"' in shown.text
    started = await client.get(f"{PAGE}/connect")
    assert started.status_code == 303
    consent_url = urlparse(started.headers["location"])
    assert f"{consent_url.scheme}://{consent_url.netloc}" == google.url
    query = {k: v[0] for k, v in parse_qs(consent_url.query).items()}
    code = google.consent(query["code_challenge"], query["redirect_uri"], query["client_id"])
    back = await client.get(
        "/api/v1/calendar/google/callback", params={"code": code, "state": query["state"]}
    )
    assert (back.status_code, back.headers["location"]) == (
        303,
        f"{PAGE}?notice=google_connected",
    )
    shown = await client.get(back.headers["location"])
    assert "Google Calendar is connected." in shown.text
    assert "Connected" in shown.text and 'value="primary"' in shown.text

    unreadable = await client.post(
        f"{PAGE}/calendar",
        data={"csrf_token": csrf_of(shown.text), "calendar_id": "nobody@example.com"},
    )
    assert unreadable.status_code == 422
    assert "Google cannot read that calendar with this connection." in unreadable.text
    malformed = await client.post(
        f"{PAGE}/calendar", data={"csrf_token": csrf_of(shown.text), "calendar_id": "a b"}
    )
    assert malformed.status_code == 422 and "Enter a calendar ID." in malformed.text
    chosen = await client.post(
        f"{PAGE}/calendar",
        data={
            "csrf_token": csrf_of(shown.text),
            "calendar_id": "work@group.calendar.google.com",
        },
    )
    assert chosen.status_code == 303
    shown = await client.get(chosen.headers["location"])
    assert "its busy times block your slots" in shown.text
    assert 'value="work@group.calendar.google.com"' in shown.text
    assert "Not yet" not in shown.text  # the busy times were fetched on choosing

    gone = await client.post(f"{PAGE}/disconnect", data={"csrf_token": csrf_of(shown.text)})
    assert gone.status_code == 303
    shown = await client.get(gone.headers["location"])
    assert "Google Calendar is disconnected and its access revoked." in shown.text
    assert "Not connected" in shown.text
    assert google.revoked, "the grant was not revoked at Google"
    again = await client.post(f"{PAGE}/disconnect", data={"csrf_token": csrf_of(shown.text)})
    assert again.status_code == 404
