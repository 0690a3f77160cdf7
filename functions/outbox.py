"""The outbox relay: sends the events whose send right after their commit failed."""

from __future__ import annotations

from shared_lib.http import scheduled_function


@scheduled_function("* * * * *")
def relay_outbox() -> None:
    """Send what the outbox still holds (the broker was down, or a pod died mid-send)."""
    from shared_lib.events.outbox import relay

    while relay(limit=500) == 500:
        pass
