"""The driver's clean-up failure after a failed transaction is undone (``io.execute``)."""

from __future__ import annotations

from typing import Any

import neo4j.exceptions as neo4j_errors
import pytest

from graph_checkpoint._sync.io import execute

from ._fakes import neo4j_error


class CleanupFailingSession:
    """Raises, per call, ResultFailedError from each given error, then answers ``value``."""

    def __init__(self, *errors: BaseException, value: Any = "done") -> None:
        self.errors = list(errors)
        self.value = value
        self.calls = 0

    def execute_write(self, work: Any, *args: Any) -> Any:
        self.calls += 1
        if self.errors:
            original = self.errors.pop(0)
            try:
                raise original
            except neo4j_errors.Neo4jError as exc:
                raise neo4j_errors.ResultFailedError(None, "The result has failed.") from exc
        return work(*args)


def test_a_transient_error_hidden_by_the_cleanup_is_tried_again() -> None:
    deadlock = neo4j_error("Neo.TransientError.Transaction.DeadlockDetected")
    session = CleanupFailingSession(deadlock, deadlock)
    assert execute(session, True, lambda x: x * 2, 21) == 42  # type: ignore[arg-type]
    assert session.calls == 3


def test_the_original_error_comes_out_when_it_is_not_transient() -> None:
    clash = neo4j_error("Neo.ClientError.Schema.ConstraintValidationFailed", "already exists")
    session = CleanupFailingSession(clash)
    with pytest.raises(neo4j_errors.ConstraintError, match="already exists"):
        execute(session, True, lambda: None)  # type: ignore[arg-type]
    assert session.calls == 1


def test_a_transient_error_that_keeps_coming_is_raised_as_itself() -> None:
    deadlock = neo4j_error("Neo.TransientError.Transaction.DeadlockDetected")
    session = CleanupFailingSession(*[deadlock] * 9)
    with pytest.raises(neo4j_errors.TransientError):
        execute(session, True, lambda: None)  # type: ignore[arg-type]
    assert session.calls == 5
