"""Courses tests drive purchases by hand (``courses.complete_purchase``), so billing's manual
provider leaves their payments pending instead of paying at checkout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from studyhall.billing.config import BillingSettings, configure_billing


@pytest.fixture(autouse=True)
def pending_manual_payments() -> Iterator[BillingSettings]:
    settings = BillingSettings(  # type: ignore[call-arg]
        _env_file=None, manual_auto_succeed=False, enabled_providers=["manual", "stripe", "paymob"]
    )
    configure_billing(settings)
    yield settings
    configure_billing(None)
