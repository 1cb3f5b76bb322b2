"""The source of the sync and the async API; ``scripts/unasync.py`` generates ``_sync`` from it."""
