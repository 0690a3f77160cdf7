"""Refresh-token families and revoked access tokens."""

from __future__ import annotations

import abc
import uuid
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared_lib.models import RefreshToken, RevokedAccessToken
from shared_lib.repositories.base import Repository, SqlRepository


class RefreshTokenRepository(Repository[RefreshToken]):
    @abc.abstractmethod
    def get_by_hash_for_update(self, token_hash: str) -> RefreshToken | None:
        """The token row, locked so two concurrent uses of one token serialize."""

    @abc.abstractmethod
    def revoke_family(self, family_id: uuid.UUID, *, at: datetime) -> None: ...

    @abc.abstractmethod
    def family_revoked(self, family_id: uuid.UUID) -> bool: ...

    @abc.abstractmethod
    def revoked_families_since(self, *, seconds: int) -> list[uuid.UUID]: ...


class SqlRefreshTokenRepository(SqlRepository[RefreshToken], RefreshTokenRepository):
    model = RefreshToken

    def get_by_hash_for_update(self, token_hash: str) -> RefreshToken | None:
        query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return self.session.scalar(query)

    def revoke_family(self, family_id: uuid.UUID, *, at: datetime) -> None:
        self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    def family_revoked(self, family_id: uuid.UUID) -> bool:
        query = select(RefreshToken.id).where(
            RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_not(None)
        )
        return self.session.scalar(query.limit(1)) is not None

    def revoked_families_since(self, *, seconds: int) -> list[uuid.UUID]:
        since = func.now() - text(f"interval '{int(seconds)} seconds'")
        query = select(RefreshToken.family_id).where(RefreshToken.revoked_at > since).distinct()
        return list(self.session.scalars(query))


class RevokedTokenRepository(abc.ABC):
    @abc.abstractmethod
    def revoke(self, jti: str, *, expires_at: datetime) -> None: ...

    @abc.abstractmethod
    def is_revoked(self, jti: str) -> bool: ...

    @abc.abstractmethod
    def live(self) -> list[tuple[str, datetime]]:
        """(jti, expires_at) of every revoked token not yet expired."""


class SqlRevokedTokenRepository(RevokedTokenRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    def revoke(self, jti: str, *, expires_at: datetime) -> None:
        statement = insert(RevokedAccessToken).values(jti=jti, expires_at=expires_at)
        self.session.execute(statement.on_conflict_do_nothing())

    def is_revoked(self, jti: str) -> bool:
        return self.session.get(RevokedAccessToken, jti) is not None

    def live(self) -> list[tuple[str, datetime]]:
        query = select(RevokedAccessToken.jti, RevokedAccessToken.expires_at).where(
            RevokedAccessToken.expires_at > func.now()
        )
        return [tuple(row) for row in self.session.execute(query)]
