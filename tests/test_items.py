"""Item ids and loader names: what is accepted, and the errors for what is not."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from graph_checkpoint import InvalidItemError, InvalidNameError
from graph_checkpoint._items import MAX_ID_BYTES, id_getter, validate_loader_name


@dataclass
class Person:
    id: int
    name: str


@pytest.mark.parametrize(
    ("spec", "item", "expected"),
    [
        (None, {"id": 7}, 7),
        (None, "plain-id", "plain-id"),
        (None, 42, 42),
        (None, Person(3, "ann"), 3),
        ("key", {"key": "k1"}, "k1"),
        ("name", Person(1, "bob"), "bob"),
        (lambda item: f"{item['a']}-{item['b']}", {"a": 1, "b": 2}, "1-2"),
    ],
)
def test_ids_are_read_by_key_attribute_or_callable(spec, item, expected):  # type: ignore[no-untyped-def]
    assert id_getter(spec)(item) == expected


@pytest.mark.parametrize(
    ("item", "needle"),
    [
        ({"id": None}, "got None"),
        ({"id": 1.5}, "got float"),
        ({"id": [1]}, "got list"),
        ({"id": {"a": 1}}, "got dict"),
        ({"id": True}, "got bool"),
        ({"other": 1}, "no 'id' key"),
        ({"id": ""}, "empty string"),
        ({"id": 2**70}, "64 bits"),
        ({"id": "x" * (MAX_ID_BYTES + 1)}, "longer than"),
    ],
)
def test_bad_ids_raise_an_error_naming_the_item(item, needle):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidItemError, match=needle) as info:
        id_getter("id")(item)
    assert info.value.item == item


def test_a_huge_id_is_not_echoed_whole():
    huge = "y" * 1_000_000
    with pytest.raises(InvalidItemError) as info:
        id_getter(None)({"id": huge})
    assert len(str(info.value)) < 500


@pytest.mark.parametrize(
    "name", ["load_items", "flights", "Personen-Ladung", "加载器", "a.b:c-d_1"]
)
def test_loader_names_allowed(name):  # type: ignore[no-untyped-def]
    assert validate_loader_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", " lead", "has space", "tab\there", "nul\x00", "x" * 201, "a'}) DETACH DELETE n//", 5],
)
def test_loader_names_refused(name):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidNameError, match="not allowed"):
        validate_loader_name(name)
