"""Generate the sync API (``graph_checkpoint/_sync``) from its async source (``_async``).

    python scripts/unasync.py          # rewrite graph_checkpoint/_sync/*.py
    python scripts/unasync.py --check  # exit 1 if a generated file differs (scripts/lint)

The async modules are written by hand; their sync twins are made by token substitution
(``AsyncX`` -> ``X``, ``async def`` -> ``def``, ``await x`` -> ``x``, ``async with/for`` ->
``with/for``, the async dunders -> the sync ones), then ruff sorts the imports and formats
the result. What truly differs between threads and tasks lives in ``graph_checkpoint/_compat.py``
as ``AsyncX`` / ``X`` pairs, so the substitution stays mechanical.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "graph_checkpoint" / "_async"
TARGET = ROOT / "graph_checkpoint" / "_sync"

HEADER = (
    "# Generated from graph_checkpoint/_async/{name} by scripts/unasync.py: do not edit.\n"
    "# Change the async source, then run `python scripts/unasync.py`.\n"
)

SUBSTITUTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bAsync([A-Z]\w*)", r"\1"),
        (r"\basync def\b", "def"),
        (r"\basync with\b", "with"),
        (r"\basync for\b", "for"),
        (r"\bawait ", ""),
        (r"\b__aenter__\b", "__enter__"),
        (r"\b__aexit__\b", "__exit__"),
        (r"\b__aiter__\b", "__iter__"),
        (r"\b__anext__\b", "__next__"),
        (r"\bStopAsyncIteration\b", "StopIteration"),
    )
)


def unasync(text: str) -> str:
    """The sync twin of one async module's text, before formatting."""
    for pattern, replacement in SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    return text


def _ruff(args: list[str], text: str, filename: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(filename), "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"ruff {' '.join(args)} failed on {filename}:\n{result.stderr}")
    return result.stdout


def generate(source: Path) -> str:
    """The generated sync module for ``source``, formatted as it is committed."""
    target = TARGET / source.name
    if source.name == "__init__.py":
        return '"""The sync API, generated from ``_async`` by ``scripts/unasync.py``."""\n'
    text = HEADER.format(name=source.name) + unasync(source.read_text("utf-8"))
    text = _ruff(["check", "--fix", "--select", "I,F401", "--quiet", "--exit-zero"], text, target)
    return _ruff(["format", "--quiet"], text, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only report generated files that are stale"
    )
    args = parser.parse_args(argv)
    sources = sorted(SOURCE.glob("*.py"))
    expected = {TARGET / source.name: generate(source) for source in sources}
    stale = [
        path
        for path, text in expected.items()
        if not path.exists() or path.read_text("utf-8") != text
    ]
    extra = sorted(set(TARGET.glob("*.py")) - set(expected))
    if args.check:
        for path in stale:
            current = path.read_text("utf-8").splitlines() if path.exists() else []
            diff = difflib.unified_diff(
                current, expected[path].splitlines(), str(path), "generated", lineterm=""
            )
            print("\n".join(diff), file=sys.stderr)
        for path in extra:
            print(f"{path.relative_to(ROOT)} has no async source", file=sys.stderr)
        if stale or extra:
            print(
                "unasync: the sync API is stale: run `python scripts/unasync.py`", file=sys.stderr
            )
            return 1
        return 0
    TARGET.mkdir(exist_ok=True)
    for path in stale:
        path.write_text(expected[path], "utf-8")
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    for path in extra:
        path.unlink()
        print(f"removed {path.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
