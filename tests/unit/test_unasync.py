"""scripts/unasync.py: how async source text becomes its sync twin."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "unasync.py"
_spec = importlib.util.spec_from_file_location("unasync", SCRIPT)
assert _spec is not None and _spec.loader is not None
unasync_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(unasync_module)


@pytest.mark.parametrize(
    ("source", "generated"),
    [
        ("async def run(self) -> AsyncRun:", "def run(self) -> Run:"),
        ("result = await tx.run(text)", "result = tx.run(text)"),
        ("async with self._lock:", "with self._lock:"),
        ("async for batch in batches:", "for batch in batches:"),
        ("async def __aenter__(self):", "def __enter__(self):"),
        ("async def __aexit__(self, *exc):", "def __exit__(self, *exc):"),
        ("neo4j.AsyncManagedTransaction", "neo4j.ManagedTransaction"),
        ("AsyncUtil.call(f)", "Util.call(f)"),
        ("except StopAsyncIteration:", "except StopIteration:"),
        # Words that only look alike stay as they are.
        ("asyncio_mode = 'Asynchronous'", "asyncio_mode = 'Asynchronous'"),
        ("awaited = wait_for(x)", "awaited = wait_for(x)"),
        ('"Async" + name', '"Async" + name'),
    ],
)
def test_tokens(source: str, generated: str) -> None:
    assert unasync_module.unasync(source) == generated
