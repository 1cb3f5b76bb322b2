"""``@checkpoint_loader``'s arguments, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from graph_checkpoint import CheckpointedLoader, checkpoint_loader


def work(tx: Any, batch: list[Any]) -> None:
    """A loader that writes nothing."""


def test_the_loader_name_may_be_given_positionally():
    loader = checkpoint_loader("people", batch_size=10)(work)
    assert isinstance(loader, CheckpointedLoader)
    assert (loader.name, loader.options.batch_size) == ("people", 10)


def test_the_name_defaults_to_the_function_name():
    assert checkpoint_loader(work).name == "work"
    assert checkpoint_loader(name="other")(work).name == "other"


def test_two_different_names_are_refused():
    with pytest.raises(TypeError, match="once"):
        checkpoint_loader("people", name="persons")


def test_compaction_is_on_unless_turned_off():
    assert checkpoint_loader(work).options.compact is True
    assert checkpoint_loader(compact=False)(work).options.compact is False
