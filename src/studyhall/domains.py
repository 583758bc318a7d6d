"""The one list of domain packages. Each may have ``models``, ``router``, ``jobs`` and
``reactions`` modules; importing them here registers tables with the metadata, routes with the app,
tasks with the queue and event subscriptions with ``kit.events``.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

DOMAINS = (
    "jobs",
    "audit",
    "accounts",
    "courses",
    "scheduling",
    "billing",
    "study",
    "progress",
    "notifications",
    "privacy",
)


def _modules(kind: str) -> list[ModuleType]:
    found = []
    for domain in DOMAINS:
        name = f"studyhall.{domain}.{kind}"
        if importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name))
    return found


def load_models() -> list[ModuleType]:
    importlib.import_module("studyhall.kit.idempotency")
    models = _modules("models")
    load_reactions()
    return models


def load_reactions() -> list[ModuleType]:
    """Subscribe every domain's reactions to other domains' events (``kit.events``)."""
    return _modules("reactions")


def load_routers() -> list[ModuleType]:
    load_reactions()
    # One module per domain: its ``routes`` package on the house layout, else a legacy
    # ``router.py`` (some domains keep one that re-exports ``routes.router``).
    found = []
    for domain in DOMAINS:
        for kind in ("routes", "router"):
            name = f"studyhall.{domain}.{kind}"
            if importlib.util.find_spec(name) is None:
                continue
            module = importlib.import_module(name)
            if hasattr(module, "router"):
                found.append(module)
                break
    return found


def task_module_names() -> list[str]:
    load_reactions()
    return [module.__name__ for module in _modules("jobs")]
