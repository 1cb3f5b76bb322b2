"""Item ids and loader names: how they are read from items and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import InvalidItemError, InvalidNameError

ItemId = str | int
"""What an item id may be. ``1`` and ``"1"`` are different ids: the type is part of the key."""

IdSpec = str | Callable[[Any], Any] | None
"""How to find an item's id: a key or attribute name, a callable, or None for the default."""

# Neo4j's range index refuses keys of about 8 KiB; staying well under that leaves room for
# the run id and loader name in the same composite key.
MAX_ID_BYTES = 4000
_INT64 = (-(2**63), 2**63 - 1)

_REPR_LIMIT = 120

# Letters (any script), digits, and a few separators; no spaces or control characters.
_NAME_RE = re.compile(r"^\w[\w.:\-]{0,199}$")


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to a length that fits in an error message."""
    text = repr(value)
    if len(text) > _REPR_LIMIT:
        return text[: _REPR_LIMIT - 15] + f"... ({len(text)} chars)"
    return text


def validate_loader_name(name: Any) -> str:
    """Return ``name`` if it is a usable loader name, else raise :class:`InvalidNameError`."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidNameError(
            f"loader name {short_repr(name)} is not allowed: use 1 to 200 letters, digits,"
            " '_', '.', ':' or '-', starting with a letter, digit or '_'"
        )
    return name


def check_item_id(value: Any, item: Any) -> ItemId:
    """Return ``value`` if it is a valid item id for ``item``, else raise InvalidItemError."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        kind = "None" if value is None else type(value).__name__
        raise InvalidItemError(
            f"item id must be a str or int, got {kind} {short_repr(value)}"
            f" for item {short_repr(item)}: choose an id field with unique str or int values,"
            " or pass item_id=callable that returns one",
            item,
        )
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise InvalidItemError(
                f"item id {short_repr(value)} does not fit in 64 bits: use a str id instead",
                item,
            )
    else:
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            # Lone surrogates cannot cross the Bolt protocol, which speaks UTF-8.
            raise InvalidItemError(
                f"item id {short_repr(value)} is not valid Unicode text (it holds a lone"
                f" surrogate): decode the source with errors='replace' or use another id",
                item,
            ) from None
        if size > MAX_ID_BYTES:
            raise InvalidItemError(
                f"item id of {size} bytes is longer than {MAX_ID_BYTES}: use a shorter key,"
                f" e.g. a hash of it (item {short_repr(item)})",
                item,
            )
        if value == "":
            raise InvalidItemError(f"item id is an empty string for item {short_repr(item)}", item)
    return value


def id_getter(spec: IdSpec) -> Callable[[Any], ItemId]:
    """Build the function that reads and validates an item's id according to ``spec``."""
    if callable(spec):
        func = spec

        def by_callable(item: Any) -> ItemId:
            return check_item_id(func(item), item)

        return by_callable

    key = "id" if spec is None else spec
    if not isinstance(key, str):
        raise TypeError(f"item_id must be a key name or a callable, not {type(spec).__name__}")
    plain_items_allowed = spec is None

    def by_key(item: Any) -> ItemId:
        if plain_items_allowed and isinstance(item, (str, int)) and not isinstance(item, bool):
            return check_item_id(item, item)
        if isinstance(item, Mapping):
            if key not in item:
                raise InvalidItemError(
                    f"item has no {key!r} key: {short_repr(item)}; pass item_id= to name the"
                    " field that identifies an item",
                    item,
                )
            return check_item_id(item[key], item)
        try:
            value = getattr(item, key)
        except AttributeError:
            raise InvalidItemError(
                f"item has no {key!r} key or attribute: {short_repr(item)}; pass item_id= to"
                " name the field that identifies an item",
                item,
            ) from None
        return check_item_id(value, item)

    return by_key
