"""Start-up without collections: the collector is back on afterwards, whatever happened."""

from __future__ import annotations

import gc

import pytest

from desktop.cli.start_up import loading


def _fail_while_loading(seen: list[bool]) -> None:
    with loading():
        seen.append(gc.isenabled())
        raise ValueError("a bad flag")


def test_loading_collects_nothing_inside_and_freezes_what_it_loaded() -> None:
    assert gc.isenabled()
    seen: list[bool] = []
    try:
        with pytest.raises(ValueError, match="a bad flag"):
            _fail_while_loading(seen)
        frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()  # the rest of the test session is collected as before
    assert seen == [False]
    assert gc.isenabled()
    assert frozen > 0


def test_loading_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    try:
        with loading():
            pass
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
