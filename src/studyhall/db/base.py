"""The declarative base and column mixins of every table, where the models look for them.

They live in ``studyhall.kit.orm`` so the toolkit's own tables (idempotency keys) can use them
without the toolkit importing this layer above it."""

from studyhall.kit.orm import NAMING_CONVENTION, Base, SoftDelete, Timestamps, UUIDPrimaryKey

__all__ = ["NAMING_CONVENTION", "Base", "SoftDelete", "Timestamps", "UUIDPrimaryKey"]
