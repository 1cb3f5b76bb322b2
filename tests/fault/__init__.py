"""Fault-injection tests: crashes, server restarts, concurrency, cleanup under load."""
