"""The sync API, generated from ``_async`` by ``scripts/unasync.py``."""
