"""Forgetting sent outbox events: batched, off the request's thread, waited for at exit."""

from __future__ import annotations

import threading

from shared_lib.events.outbox import Forgetting


class SlowRemover:
    """Deletes nothing; records each batch, and holds the first until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.started, self.release = threading.Event(), threading.Event()

    def __call__(self, ids: list[str]) -> None:
        if not self.batches:
            self.started.set()
            self.release.wait(5)
        self.batches.append(ids)


def test_sends_during_a_delete_are_forgotten_together_in_the_next_one():
    remover = SlowRemover()
    forgetting = Forgetting(remover)
    forgetting.add(["a"])
    assert remover.started.wait(5)
    for name in "bcd":
        forgetting.add([name])
    assert not forgetting.flush(timeout=0.1), "the first delete is still running"
    remover.release.set()
    assert forgetting.flush(timeout=5)
    assert remover.batches == [["a"], ["b", "c", "d"]]


def test_a_failed_delete_is_logged_and_the_next_batch_still_goes(caplog):
    batches: list[list[str]] = []

    def remove(ids: list[str]) -> None:
        batches.append(ids)
        if ids == ["bad"]:
            raise ConnectionError("PostgreSQL is down")

    forgetting = Forgetting(remove)
    forgetting.add(["bad"])
    assert forgetting.flush(timeout=5)
    forgetting.add(["good"])
    assert forgetting.flush(timeout=5)
    assert batches == [["bad"], ["good"]]
    assert "could not forget 1 sent outbox events" in caplog.text


def test_flush_with_nothing_sent_returns_at_once():
    assert Forgetting(lambda ids: None).flush(timeout=0)


def test_sends_within_the_linger_are_forgotten_in_one_delete():
    batches: list[list[str]] = []
    removed = threading.Event()

    def remove(ids: list[str]) -> None:
        batches.append(ids)
        removed.set()

    forgetting = Forgetting(remove, linger=0.3)
    forgetting.add(["a"])
    forgetting.add(["b"])
    assert not removed.wait(0.1), "deleted before the linger was over"
    forgetting.add(["c"])
    assert removed.wait(5)
    assert batches == [["a", "b", "c"]]


def test_flush_does_not_wait_for_the_linger():
    batches: list[list[str]] = []
    forgetting = Forgetting(batches.append, linger=30)
    forgetting.add(["a"])
    assert forgetting.flush(timeout=5)
    assert batches == [["a"]]
