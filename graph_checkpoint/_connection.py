"""Connecting to Neo4j: settings from the environment, and errors that say what to check."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import neo4j
import neo4j.exceptions as neo4j_errors

from .errors import ConnectionFailedError

__all__ = ["ConnectionSettings", "translate_error"]


@dataclass(frozen=True)
class ConnectionSettings:
    """Where a Neo4j server is and how to log in; ``repr`` never shows the password.

    ``ConnectionSettings.from_env()`` reads the variables Neo4j's own tools use, the one place
    graph-checkpoint reads them (the CLI's options default to the same variables)::

        settings = ConnectionSettings.from_env()
        with settings.driver() as driver:
            manager = CheckpointManager(driver, settings.database)
    """

    uri: str
    username: str = "neo4j"
    password: str = field(default="", repr=False)
    database: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ConnectionSettings | None:
        """Settings from ``NEO4J_URI``, ``NEO4J_USERNAME`` (or ``NEO4J_USER``),
        ``NEO4J_PASSWORD`` and ``NEO4J_DATABASE`` in ``env`` (default: ``os.environ``);
        None when ``NEO4J_URI`` is unset or empty."""
        env = os.environ if env is None else env
        uri = env.get("NEO4J_URI")
        if not uri:
            return None
        return cls(
            uri=uri,
            username=env.get("NEO4J_USERNAME") or env.get("NEO4J_USER") or "neo4j",
            password=env.get("NEO4J_PASSWORD", ""),
            database=env.get("NEO4J_DATABASE") or None,
        )

    def driver(self, **config: Any) -> neo4j.Driver:
        """A new ``neo4j.Driver`` for these settings (``config`` goes to the driver)."""
        return neo4j.GraphDatabase.driver(self.uri, auth=(self.username, self.password), **config)

    def async_driver(self, **config: Any) -> neo4j.AsyncDriver:
        """A new ``neo4j.AsyncDriver`` for these settings (``config`` goes to the driver)."""
        return neo4j.AsyncGraphDatabase.driver(
            self.uri, auth=(self.username, self.password), **config
        )


def translate_error(exc: BaseException, database: str | None) -> BaseException:
    """A :class:`ConnectionFailedError` for errors about reaching the server, else ``exc``.

    The messages name the server address the driver reports, never the credentials.
    """
    db = f"database {database!r}" if database else "the default database"
    if isinstance(exc, neo4j_errors.AuthError):
        return ConnectionFailedError(
            "Neo4j refused the credentials: check NEO4J_USERNAME and NEO4J_PASSWORD"
            " (or --username/--password)"
        )
    if isinstance(exc, neo4j_errors.ServiceUnavailable) and "handshake" in str(exc).lower():
        return ConnectionFailedError(
            "the server did not answer as Neo4j (no Bolt handshake): check that NEO4J_URI"
            " (or --uri) points at a Neo4j server's Bolt port"
        )
    if isinstance(exc, neo4j_errors.ServiceUnavailable):
        return ConnectionFailedError(
            f"cannot reach Neo4j ({_first_line(exc)}): check that the server is running and"
            " that NEO4J_URI (or --uri) points at its Bolt port",
            retryable=True,
        )
    if isinstance(exc, neo4j_errors.Neo4jError):
        code = exc.code or ""
        if code == "Neo.ClientError.Database.DatabaseNotFound":
            return ConnectionFailedError(
                f"{db} does not exist on this server: check NEO4J_DATABASE (or --database),"
                " or create it with CREATE DATABASE"
            )
        if code.startswith("Neo.ClientError.Security."):
            return ConnectionFailedError(
                f"Neo4j refused the request ({code}): check the user's credentials and roles"
            )
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    # The driver appends "(resolved to (...))" and a colon; the address before it says enough.
    return text[0].split(" (resolved to")[0].rstrip(":") if text else type(exc).__name__
