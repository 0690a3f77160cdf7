"""The tables of event delivery: receipts (idempotent consumers), the outbox, dead letters,
and the one-machine broker's queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared_lib.db import Base, now_column


class ProcessedEvent(Base):
    """CloudEvents already handled, keyed on (source, id), so redelivery has no effect."""

    __tablename__ = "processed_events"

    source: Mapped[str] = mapped_column(String(500), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(200), nullable=False)
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime] = now_column()


class OutboxEvent(Base):
    """An event written in the same transaction as the change it announces. It is sent
    right after the commit and deleted once the broker has it; what a failed send leaves
    behind, the relay-outbox schedule sends later. Nothing acknowledged is lost."""

    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(500), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # The W3C trace context of the work that recorded it, sent as the CloudEvents
    # distributed-tracing extension (DESIGN.md §12).
    traceparent: Mapped[str | None] = mapped_column(String(55))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_at: Mapped[datetime] = now_column()

    __table_args__ = (Index("ix_outbox_created", "created_at"),)


class DeadLetter(Base):
    """An event that a subscriber never accepted, kept for an operator to read and replay."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    subscriber: Mapped[str] = mapped_column(String(100), nullable=False)
    event_type: Mapped[str] = mapped_column(String(200), nullable=False)
    event_source: Mapped[str] = mapped_column(String(500), nullable=False)
    event_id: Mapped[str] = mapped_column(String(200), nullable=False)
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = now_column()
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BrokerEvent(Base):
    """An event the one-machine broker's ingress accepted (local/event_store.py keeps the
    queue; this mapping holds the schema to its migration)."""

    __tablename__ = "broker_events"
    __table_args__ = (Index("ix_broker_events_unrouted", "queue", "id",
                            postgresql_where=text("NOT routed")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(100), nullable=False)
    event_type: Mapped[str] = mapped_column(String(200), nullable=False)
    subscriber: Mapped[str | None] = mapped_column(String(100))
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    body: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    routed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    accepted_at: Mapped[datetime] = now_column()


class BrokerDelivery(Base):
    """One event's delivery to one subscriber, until it is delivered or dead-lettered."""

    __tablename__ = "broker_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscriber", name="uq_broker_deliveries_once"),
        Index("ix_broker_deliveries_due", "queue", "due_at", postgresql_where=text("NOT leased")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("broker_events.id", ondelete="CASCADE"), nullable=False)
    queue: Mapped[str] = mapped_column(String(100), nullable=False)
    subscriber: Mapped[str] = mapped_column(String(100), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    due_at: Mapped[datetime] = now_column()
    leased: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    last_error: Mapped[str | None] = mapped_column(Text)
