"""Item ids and loader names: the cases tests/test_items.py leaves out."""

from __future__ import annotations

from collections import namedtuple
from types import MappingProxyType

import pytest

from graph_checkpoint._items import MAX_ID_BYTES, id_getter, validate_loader_name
from graph_checkpoint.errors import InvalidItemError, InvalidNameError

Point = namedtuple("Point", ["key", "x"])


class Node:
    def __init__(self, **attributes: object) -> None:
        self.__dict__.update(attributes)


@pytest.mark.parametrize(
    ("spec", "item", "expected"),
    [
        ("key", Point("p1", 0), "p1"),
        ("key", MappingProxyType({"key": 9}), 9),
        ("id", Node(id="n1"), "n1"),
        (None, {"id": "1"}, "1"),
        (None, -5, -5),
        (len, "abc", 3),
        (str.upper, "abc", "ABC"),
        (lambda item: item["a"]["b"], {"a": {"b": 4}}, 4),
    ],
    ids=repr,
)
def test_more_ways_to_read_an_id(spec, item, expected):  # type: ignore[no-untyped-def]
    assert id_getter(spec)(item) == expected


def test_an_int_id_and_its_str_twin_keep_their_types():
    get = id_getter(None)
    assert type(get({"id": 1})) is int
    assert type(get({"id": "1"})) is str


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (None, "got None"),
        (True, "got bool"),
        (2.0, "got float"),
        (b"id", "got bytes"),
        ("", "empty string"),
        ("\ud800", "not valid Unicode"),
        (2**64, "64 bits"),
    ],
    ids=repr,
)
def test_a_callable_returning_a_bad_id_is_refused_with_the_item_attached(value, needle):  # type: ignore[no-untyped-def]
    item = {"row": 17}
    with pytest.raises(InvalidItemError, match=needle) as info:
        id_getter(lambda _: value)(item)
    assert info.value.item is item


def test_an_error_inside_the_id_callable_is_not_disguised():
    def broken(item: object) -> str:
        raise KeyError("sku")

    with pytest.raises(KeyError, match="sku"):
        id_getter(broken)({"id": 1})


@pytest.mark.parametrize("item", ["plain", 5])
def test_plain_items_are_their_own_id_only_with_the_default_spec(item):  # type: ignore[no-untyped-def]
    assert id_getter(None)(item) == item
    with pytest.raises(InvalidItemError, match="no 'key' key or attribute"):
        id_getter("key")(item)


@pytest.mark.parametrize("item", [True, False])
def test_a_bool_item_is_not_taken_for_an_int_id(item):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidItemError, match="no 'id' key or attribute"):
        id_getter(None)(item)


@pytest.mark.parametrize(
    ("spec", "item", "needle"),
    [
        ("key", {"id": 1}, "no 'key' key"),
        (None, {"ID": 1}, "no 'id' key"),
        (None, Node(name="x"), "no 'id' key or attribute"),
        ("key", Point("k", 1)._replace(key=None), "got None"),
        (None, None, "no 'id' key or attribute"),
        (None, 1.5, "no 'id' key or attribute"),
    ],
    ids=repr,
)
def test_items_without_a_usable_id_say_how_to_name_it(spec, item, needle):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidItemError, match=needle) as info:
        id_getter(spec)(item)
    assert info.value.item is item
    if "no '" in needle:
        assert "item_id=" in str(info.value)


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0])
def test_ids_at_the_64_bit_limits_are_accepted(value):  # type: ignore[no-untyped-def]
    assert id_getter(None)({"id": value}) == value


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1])
def test_ids_just_past_the_64_bit_limits_are_refused(value):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidItemError, match="64 bits"):
        id_getter(None)({"id": value})


def test_the_id_length_limit_counts_utf8_bytes_not_characters():
    get = id_getter(None)
    assert get({"id": "x" * MAX_ID_BYTES}) == "x" * MAX_ID_BYTES
    two_byte = "é" * (MAX_ID_BYTES // 2)
    assert get({"id": two_byte}) == two_byte
    with pytest.raises(InvalidItemError, match=f"{MAX_ID_BYTES + 2} bytes"):
        get({"id": two_byte + "é"})


def test_an_id_with_a_lone_surrogate_is_refused():
    with pytest.raises(InvalidItemError, match="not valid Unicode"):
        id_getter(None)("abc\udc80")


@pytest.mark.parametrize("spec", [5, b"id", ["id"]])
def test_an_id_spec_that_is_neither_a_name_nor_a_callable_is_a_type_error(spec):  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="key name or a callable"):
        id_getter(spec)


@pytest.mark.parametrize("name", ["_private", "x" * 200, "9lives", "a:b", "v1.2-beta"])
def test_more_loader_names_allowed(name):  # type: ignore[no-untyped-def]
    assert validate_loader_name(name) == name


@pytest.mark.parametrize("name", ["-lead", ".lead", ":lead", "trailing\n", "a/b", "a b", None])
def test_more_loader_names_refused(name):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidNameError, match="not allowed"):
        validate_loader_name(name)
