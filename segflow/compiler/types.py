"""The value types of the rule language and which operators each one admits."""

from __future__ import annotations

from enum import Enum


class Type(Enum):
    STRING = "text"
    NUMBER = "number"
    INTEGER = "whole number"
    DATE = "date"
    BOOLEAN = "true/false"
    STRING_LIST = "list of text"

    @property
    def numeric(self) -> bool:
        return self in (Type.NUMBER, Type.INTEGER)


_EQUALITY = {"=", "!="}
_ORDERING = {"<", "<=", ">", ">="}
_TEXT = {"contains", "starts with"}

# Binary comparison operators admitted by each type (`in`, `between`, `is set` are separate).
COMPARE_OPS: dict[Type, set[str]] = {
    Type.STRING: _EQUALITY | _TEXT,
    Type.STRING_LIST: _EQUALITY | _TEXT,
    Type.NUMBER: _EQUALITY | _ORDERING,
    Type.INTEGER: _EQUALITY | _ORDERING,
    Type.DATE: _EQUALITY | _ORDERING,
    Type.BOOLEAN: _EQUALITY,
}
IN_TYPES = {Type.STRING, Type.STRING_LIST, Type.NUMBER, Type.INTEGER, Type.DATE}
BETWEEN_TYPES = {Type.NUMBER, Type.INTEGER, Type.DATE}


def value_type_for(field_type: Type) -> Type:
    """The type of literal a field is compared with (a list of text compares with text)."""
    if field_type is Type.STRING_LIST:
        return Type.STRING
    return field_type
