"""The one list of domain packages. Each may have ``models``, ``routes`` (a package whose
``__init__`` builds ``router``), ``jobs`` and ``reactions`` modules; importing them here registers
tables with the metadata, routes with the app, tasks with the queue and event subscriptions with
``kit.events``.
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
    modules = (_module(f"studyhall.{domain}.{kind}") for domain in DOMAINS)
    return [module for module in modules if module is not None]


def load_models() -> list[ModuleType]:
    importlib.import_module("studyhall.kit.idempotency")
    models = _modules("models")
    load_reactions()
    return models


def load_reactions() -> list[ModuleType]:
    """Subscribe every domain's reactions to other domains' events (``kit.events``)."""
    return _modules("reactions")


def load_routers() -> list[ModuleType]:
    """Each domain's ``routes`` package; a domain still laid out the old way is found by its
    ``router`` module (while the layout moves domain by domain)."""
    load_reactions()
    found = []
    for domain in DOMAINS:
        for kind in ("routes", "router"):
            module = _module(f"studyhall.{domain}.{kind}")
            if module is not None and hasattr(module, "router"):
                found.append(module)
                break
    return found


def _module(name: str) -> ModuleType | None:
    return importlib.import_module(name) if importlib.util.find_spec(name) is not None else None


def task_module_names() -> list[str]:
    load_reactions()
    return [module.__name__ for module in _modules("jobs")]
