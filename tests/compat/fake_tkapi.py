"""A small in-memory stand-in for the ``tkapi`` package the seed's loaders fetch from.

The seed loads the Dutch parliament's open data through ``tkapi.TKApi().get_items(Cls)``.
Here ``TKApi().get_items`` returns the objects of :data:`DATA`, which a test (or the
subprocess script) fills with :func:`make_dataset`. Like tkapi's own objects, a related
list (``Persoon.fractie_zetels``) is fetched lazily on first access, taking ``DELAY``
seconds, and a malformed date raises ``ValueError`` when read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

DELAY = 0.0
"""Seconds each lazy relation fetch takes (the subprocess slows itself down with it)."""


@dataclass
class Fractie:
    id: str
    naam: str


@dataclass
class FractieZetel:
    id: str
    fractie: Fractie


@dataclass
class Persoon:
    id: str
    achternaam: str
    roepnaam: str
    raw_geboortedatum: str = "1970-01-01"
    zetels: list[FractieZetel] = field(default_factory=list)

    @property
    def geboortedatum(self) -> str:
        # tkapi parses dates on access and raises on a malformed one (e.g. "1970-13").
        year, month, day = (int(part) for part in self.raw_geboortedatum.split("-"))
        if not 1 <= month <= 12:
            raise ValueError(f"month must be in 1..12: {self.raw_geboortedatum}")
        return f"{year:04d}-{month:02d}-{day:02d}"

    @property
    def fractie_zetels(self) -> list[FractieZetel]:
        if DELAY:
            time.sleep(DELAY)
        return self.zetels


@dataclass
class Activiteit:
    id: str
    onderwerp: str


@dataclass
class Zaal:
    id: str
    naam: str
    gebouw: str = "Tweede Kamer"
    activiteiten: list[Activiteit] = field(default_factory=list)


@dataclass
class Item:
    """The seed's ``MockItem`` of example_simple_loader."""

    id: str
    name: str
    nummer: str | None = None

    def __post_init__(self) -> None:
        self.nummer = self.nummer or self.id


DATA: dict[type, list[Any]] = {}


class TKApi:
    """``TKApi().get_items(Cls, max_items=None)`` over :data:`DATA`."""

    def get_items(self, cls: type, max_items: int | None = None) -> list[Any]:
        items = list(DATA.get(cls, []))
        return items[:max_items] if max_items else items


def make_personen(count: int, broken: frozenset[int] = frozenset()) -> list[Persoon]:
    """``count`` people, each with one seat in one of five parties; ``broken`` have bad dates."""
    fracties = [Fractie(f"fractie-{n}", f"Fractie {n}") for n in range(5)]
    return [
        Persoon(
            id=f"persoon-{n:05d}",
            achternaam=f"Achternaam {n}",
            roepnaam=f"Roepnaam {n}",
            raw_geboortedatum="1970-13-01" if n in broken else f"19{50 + n % 40}-05-17",
            zetels=[FractieZetel(f"zetel-{n:05d}", fracties[n % 5])],
        )
        for n in range(count)
    ]


def make_zalen(count: int) -> list[Zaal]:
    """``count`` rooms, each with two activities."""
    return [
        Zaal(
            id=f"zaal-{n:03d}",
            naam=f"Zaal {n}",
            activiteiten=[Activiteit(f"activiteit-{n}-{k}", f"Overleg {n}.{k}") for k in range(2)],
        )
        for n in range(count)
    ]


def make_dataset(personen: int, zalen: int, broken: frozenset[int] = frozenset()) -> None:
    """Fill :data:`DATA` with people and rooms (the same every time for the same arguments)."""
    DATA.clear()
    DATA[Persoon] = make_personen(personen, broken)
    DATA[Zaal] = make_zalen(zalen)
