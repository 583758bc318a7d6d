"""Shared fixtures for the study engine tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The public evaluation sets live outside the repository, by default in ``shared/data/eval``
# beside the checkout; a checkout elsewhere (a worktree) names them with STUDYHALL_EVAL_DIR, as
# the benchmarks do.
EVAL_DIR = Path(
    os.environ.get("STUDYHALL_EVAL_DIR")
    or Path(__file__).resolve().parents[3].parent / "shared" / "data" / "eval"
)


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    if not (EVAL_DIR / "README.md").exists():
        pytest.fail(
            f"evaluation data not found at {EVAL_DIR.resolve()}; set STUDYHALL_EVAL_DIR to the "
            "directory of the public evaluation sets"
        )
    return EVAL_DIR
