"""The one list of domain packages. Each may have ``models``, ``routes``, ``jobs`` and
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
    "integrations",
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
    """Every domain's ``routes`` package (each builds one ``router``)."""
    load_reactions()
    return _modules("routes")


def task_module_names() -> list[str]:
    load_reactions()
    return [module.__name__ for module in _modules("jobs")]
