"""PATCH bodies: a field left out keeps its value; ``null`` clears it only where it may be empty.

Every field of a PATCH body is optional, so its Python type says ``X | None`` and, left alone,
Pydantic would take an explicit ``null`` for any of them. For a column that is NOT NULL that
``null`` reached the database (a 500) or was silently ignored, depending on the route.
``PatchBody`` makes it one rule: a model lists in ``clearable`` the fields whose stored value
may be empty, and ``null`` for any other field is a 422 naming it. The OpenAPI document says
the same: only clearable fields are nullable there.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["PatchBody"]


def _without_null(schema: dict[str, Any]) -> None:
    """Drop ``null`` from a property's JSON schema (``anyOf: [X, null]`` becomes ``X``)."""
    variants = schema.get("anyOf")
    if variants is None:
        return
    kept = [variant for variant in variants if variant.get("type") != "null"]
    schema.pop("anyOf")
    if len(kept) == 1:
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept


def _document_clearable(schema: dict[str, Any], model: type[BaseModel]) -> None:
    clearable: frozenset[str] = getattr(model, "clearable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name not in clearable:
            _without_null(prop)
            prop.pop("default", None)


class PatchBody(BaseModel):
    """Base of every PATCH body; subclasses name their nullable fields in ``clearable``."""

    model_config = ConfigDict(json_schema_extra=_document_clearable)

    clearable: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        unknown = cls.clearable - set(cls.model_fields)
        if unknown:
            raise TypeError(f"{cls.__name__}.clearable names no field: {sorted(unknown)}")

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.clearable:
            raise PydanticCustomError(
                "null_not_allowed",
                "{field} cannot be null: leave it out to keep its current value",
                {"field": info.field_name},
            )
        return value
