"""A change that would break a client generated from the last agreed document fails here.

The rules are in ``tests/foundation/api_compat.py`` and docs/api.md ("What may change in
/api/v1"). After an intended change, write the snapshot again and commit it with the change:
``PYTHONPATH=src python -m tests.foundation.api_compat --write``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.foundation.api_compat import SNAPSHOT, breaking_changes, snapshot_of
from tests.foundation.openapi_walk import OpenApi


@pytest.fixture(scope="module")
def current() -> dict[str, Any]:
    return snapshot_of(OpenApi.of_app().document)


def test_the_api_keeps_what_clients_of_the_snapshot_rely_on(current: dict[str, Any]) -> None:
    agreed = json.loads(SNAPSHOT.read_text())
    broken = list(breaking_changes(agreed, current))
    assert not broken, f"{len(broken)} breaking change(s):\n  " + "\n  ".join(broken)


def test_the_snapshot_is_up_to_date(current: dict[str, Any]) -> None:
    """Additions are allowed but recorded, so the next change is compared with them too."""
    agreed = json.loads(SNAPSHOT.read_text())
    assert sorted(current["operations"]) == sorted(agreed["operations"])


def _sign_up(snapshot: dict[str, Any]) -> dict[str, Any]:
    [operation] = [
        op for op in snapshot["operations"].values() if op["path"] == "/api/v1/auth/sign-up"
    ]
    return operation


def test_breaking_changes_are_recognised(current: dict[str, Any]) -> None:
    """The checker itself: each kind of break is caught, and harmless additions are not."""
    assert list(breaking_changes(current, current)) == []
    changed = copy.deepcopy(current)
    schemas = changed["schemas"]
    schemas["TokenPair"]["properties"].pop("refresh_token")
    schemas["SignUp"]["required"].append("country")
    schemas["SignUp"]["properties"]["role"]["enum"] = ["student"]
    schemas["SignIn"]["properties"]["email"] = {"type": "integer"}
    schemas["TokenPair"]["properties"]["extra"] = {"type": "string"}  # an addition: fine
    operation = _sign_up(changed)
    operation["parameters"]["query:invite"] = {"required": True, "schema": {"type": "string"}}
    found = "\n".join(breaking_changes(current, changed))
    assert "refresh_token: removed" in found
    assert "country: newly required" in found
    assert "role: no longer accepts ['tutor']" in found
    assert "email: no longer accepts ['string']" in found
    assert "query:invite: newly required" in found
    assert "extra" not in found
    operation["path"] = "/api/v1/auth/register"
    assert any(
        "moved to POST /api/v1/auth/register" in b for b in breaking_changes(current, changed)
    )
    del changed["operations"][next(iter(changed["operations"]))]
    assert any("removed or renamed" in b for b in breaking_changes(current, changed))
