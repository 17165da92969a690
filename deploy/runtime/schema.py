"""A small structural validator for the JSON the runtime trusts (no pydantic on the vehicle).

A spec is a callable ``spec(value, where)`` that raises ``SchemaError`` naming the offending field;
``integer``, ``number``, ``text``, ``choice``, ``either``, ``list_of``, ``tuple_of``, ``map_of``,
``record``, ``nullable`` and ``optional`` build them. Numbers must be finite (JSON's NaN/Infinity are
refused); ``record`` requires its fields unless ``optional`` and ignores others (reference-only sections).
"""

from __future__ import annotations

import math


class SchemaError(ValueError):
    """A value of the wrong type or range; the message names the field."""


def _fail(where: str, expected: str, value) -> None:
    shown = repr(value)
    raise SchemaError(f"{where or '<root>'} must be {expected}, got {shown if len(shown) <= 40 else shown[:37] + '...'}")


def integer(minimum: int | None = None):
    def check(value, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
            _fail(where, "an integer" + (f" ≥ {minimum}" if minimum is not None else ""), value)

    return check


def number(value, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(where, "a finite number", value)


def text(value, where: str) -> None:
    if not isinstance(value, str):
        _fail(where, "a string", value)


def choice(*allowed):
    def check(value, where: str) -> None:
        if value not in allowed:
            _fail(where, f"one of {list(allowed)}", value)

    return check


def either(*specs):
    """The first spec's error when none accepts the value."""

    def check(value, where: str) -> None:
        errors = []
        for spec in specs:
            try:
                return spec(value, where)
            except SchemaError as error:
                errors.append(error)
        raise errors[0]

    return check


def list_of(item):
    def check(value, where: str) -> None:
        if not isinstance(value, list):
            _fail(where, "a list", value)
        for i, element in enumerate(value):
            item(element, f"{where}[{i}]")

    return check


def tuple_of(*items):
    def check(value, where: str) -> None:
        if not isinstance(value, list) or len(value) != len(items):
            _fail(where, f"a list of {len(items)} values", value)
        for i, (element, item) in enumerate(zip(value, items)):
            item(element, f"{where}[{i}]")

    return check


def map_of(item):
    def check(value, where: str) -> None:
        if not isinstance(value, dict):
            _fail(where, "an object", value)
        for key, element in value.items():
            item(element, f"{where}.{key}" if where else key)

    return check


def record(**fields):
    def check(value, where: str) -> None:
        if not isinstance(value, dict):
            _fail(where, "an object", value)
        for key, spec in fields.items():
            name = f"{where}.{key}" if where else key
            if key not in value:
                if getattr(spec, "optional", False):
                    continue
                raise SchemaError(f"{name} is missing")
            spec(value[key], name)

    return check


def nullable(spec):
    def check(value, where: str) -> None:
        if value is not None:
            spec(value, where)

    return check


def optional(spec):
    """A ``record`` field that may be absent (and must match ``spec`` when present)."""

    def check(value, where: str) -> None:
        spec(value, where)

    check.optional = True
    return check
