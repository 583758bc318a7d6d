from __future__ import annotations

import pytest
from pydantic import ValidationError

from studyhall.config import DEFAULT_SECRET_KEY, Settings


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="STUDYHALL_SECRET_KEY"):
        Settings(_env_file=None, environment="production", secret_key=DEFAULT_SECRET_KEY)  # type: ignore[call-arg]


def test_production_accepts_a_real_secret() -> None:
    settings = Settings(_env_file=None, environment="production", secret_key="x" * 48)  # type: ignore[call-arg]
    assert settings.environment == "production"


def test_pool_defaults_keep_six_processes_within_100_connections() -> None:
    # Every pool counts (main with overflow, quota, jobs, LISTEN), not only the main pool;
    # tests/foundation/test_connections.py proves the bound against pg_stat_activity.
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.connections_per_process == 16
    assert 6 * settings.connections_per_process <= 100 - 3
    assert settings.db_connect_timeout_s == 30
    assert settings.db_statement_timeout_s == 60


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYHALL_DB_POOL_SIZE", "7")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/x")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.db_pool_size, settings.database_url, settings.embedded) == (
        7,
        "postgresql://u@db.example/x",
        False,
    )


def test_unknown_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYHALL_MAIL_BACKEND", "pigeon")
    with pytest.raises(ValidationError, match="mail_backend"):
        Settings(_env_file=None)  # type: ignore[call-arg]
