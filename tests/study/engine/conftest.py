"""Shared fixtures for the study engine tests."""

from __future__ import annotations

from pathlib import Path

import pytest

# The repository is checked out with ``shared/`` beside it.
EVAL_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "eval"


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    if not (EVAL_DIR / "README.md").exists():
        pytest.fail(f"evaluation data not found at {EVAL_DIR.resolve()}")
    return EVAL_DIR
