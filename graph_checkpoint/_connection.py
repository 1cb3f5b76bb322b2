"""Turns the driver's connection-level errors into messages that say what to check."""

from __future__ import annotations

import neo4j.exceptions as neo4j_errors

from .errors import ConnectionFailedError


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
            " that NEO4J_URI (or --uri) points at its Bolt port"
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
