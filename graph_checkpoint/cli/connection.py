"""The connection options every command takes, and the lazy :class:`Connection` they make."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click
import neo4j
import neo4j.exceptions as neo4j_errors

from .. import CheckpointManager
from .._connection import translate_error
from ..errors import GraphCheckpointError
from .render import one_line

__all__ = ["DEFAULT_URI", "Connection", "connection_options"]

DEFAULT_URI = "neo4j://localhost:7687"
"""The server commands connect to when neither ``--uri`` nor ``NEO4J_URI`` says."""

_BOLT_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})


def _stdin_is_tty() -> bool:
    return sys.stdin.isatty()


class Connection:
    """Connection settings from the options or the environment.

    Nothing connects until :attr:`manager` is first used, so ``--help`` and usage errors
    never touch the network; the password is prompted for at that point when it was given
    nowhere and a terminal is attached. ``repr`` never shows the password. ``debug`` is
    ``--debug``, for commands that want to say more.
    """

    def __init__(
        self,
        uri: str,
        username: str,
        password: str | None,
        database: str | None,
        *,
        debug: bool = False,
    ) -> None:
        self.uri = uri
        self.username = username
        self._password = password
        self.database = database
        self.debug = debug
        self._driver: neo4j.Driver | None = None
        self._manager: CheckpointManager | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.username}@{self.uri} database={self.database or '(default)'}>"

    @property
    def where(self) -> str:
        """The server and database, for messages."""
        return f"{self.uri} (database {self.database or '(default)'})"

    @property
    def manager(self) -> CheckpointManager:
        """A :class:`CheckpointManager` on a driver that has verified it can log in.

        A URI that is not a Bolt URI is a usage error (``click.BadParameter``).
        """
        if self._manager is None:
            password = self._password
            if password is None and _stdin_is_tty():
                password = click.prompt(
                    f"Neo4j password for {self.username}", hide_input=True, err=True
                )
            scheme = self.uri.partition("://")[0].lower()
            if scheme not in _BOLT_SCHEMES:
                raise click.BadParameter(
                    f"{self.uri!r} is not a Bolt URI: use bolt://host:7687 or neo4j://host:7687"
                    " (+s or +ssc for TLS)",
                    param_hint="'--uri'",
                )
            auth = (self.username, password) if password is not None else None
            try:
                driver = neo4j.GraphDatabase.driver(
                    self.uri,
                    auth=auth,
                    connection_timeout=10.0,
                    # Bounds the Bolt handshake too, so a server that is not Neo4j fails
                    # in seconds rather than the driver's default minute.
                    connection_acquisition_timeout=15.0,
                    max_transaction_retry_time=5.0,
                )
            except (ValueError, neo4j_errors.ConfigurationError) as exc:
                raise click.BadParameter(one_line(str(exc)), param_hint="'--uri'") from None
            self._driver = driver
            # Fails fast on a server that is down or refuses the login, where the managed
            # transactions would retry for seconds first.
            driver.verify_connectivity()
            self._manager = CheckpointManager(driver, self.database)
        return self._manager

    def close(self) -> None:
        """Close the driver, if one was made."""
        if self._driver is not None:
            self._driver.close()
            self._driver = None
            self._manager = None


def _describe(exc: BaseException, conn: Connection) -> str:
    """One line saying what failed and what to check; never the password."""
    if isinstance(exc, neo4j_errors.ServiceUnavailable) and "handshake" in str(exc).lower():
        # translate_error says the same, but cannot name the URI the user gave.
        return (
            f"the server at {conn.uri} did not answer as Neo4j (no Bolt handshake): check"
            " that NEO4J_URI (or --uri) points at a Neo4j server's Bolt port"
        )
    return one_line(str(translate_error(exc, conn.database)))


def connection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the connection options and ``--debug`` to a command, which gets a ``Connection``.

    The command is called with the :class:`Connection` first, then its own parameters.
    Errors from the library and the driver become one line on stderr and exit code 1,
    unless ``--debug`` asks for the traceback. The driver is closed when the command ends.
    """

    @click.option(
        "--uri",
        envvar="NEO4J_URI",
        show_envvar=True,
        default=DEFAULT_URI,
        show_default=True,
        metavar="URI",
        help="Bolt URI of the server.",
    )
    @click.option(
        "--username",
        "-u",
        envvar="NEO4J_USERNAME",
        show_envvar=True,
        default="neo4j",
        show_default=True,
        help="User to log in as.",
    )
    @click.option(
        "--password",
        "-p",
        envvar="NEO4J_PASSWORD",
        show_envvar=True,
        default=None,
        help="Password; prompted for on a terminal when unset.",
    )
    @click.option(
        "--database",
        "-d",
        envvar="NEO4J_DATABASE",
        show_envvar=True,
        default=None,
        help="Database; the server's default when unset.",
    )
    @click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        uri: str,
        username: str,
        password: str | None,
        database: str | None,
        debug: bool,
        **kwargs: Any,
    ) -> Any:
        # An empty NEO4J_DATABASE means the server's default, like an unset one.
        conn = Connection(uri, username, password, database or None, debug=debug)
        try:
            return func(conn, *args, **kwargs)
        except (GraphCheckpointError, neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
            if debug:
                raise
            raise click.ClickException(_describe(exc, conn)) from None
        finally:
            conn.close()

    return wrapper
