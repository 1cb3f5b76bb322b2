"""Unit tests of the sans-IO core, run against in-memory fakes (no Neo4j server)."""
