"""An event function used only by the idempotency tests; it counts its own effects."""

from __future__ import annotations

from shared_lib.http import event_function

EFFECTS: list[str] = []


@event_function("dev.streamfn.test.happened")
def on_test_happened(event, uow) -> None:
    EFFECTS.append(event["id"])
