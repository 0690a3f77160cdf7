"""In-memory stand-ins for the repositories and the unit of work."""

from __future__ import annotations

from shared_lib.repositories import RefreshTokenRepository, RevokedTokenRepository, UserRepository


class FakeUsers(UserRepository):
    def __init__(self):
        self.rows = {}

    def add(self, item):
        self.rows[item.id] = item
        return item

    def get(self, key):
        return self.rows.get(key)

    def get_by_username(self, username):
        return next((u for u in self.rows.values() if u.username == username.lower()), None)

    def get_by_email(self, email):
        return next((u for u in self.rows.values() if u.email == email.lower()), None)

    def get_by_stream_key_hash(self, digest):
        return next((u for u in self.rows.values() if u.stream_key_hash == digest), None)

    def lock(self, user_id):
        return self.rows.get(user_id)

    def is_live(self, user_id):
        return False

    def live_among(self, user_ids):
        return set()

    def search(self, prefix, *, after, limit):
        found = [u for u in self.rows.values() if u.username.startswith(prefix.lower())]
        return found[:limit]


class FakeRefreshTokens(RefreshTokenRepository):
    def __init__(self):
        self.rows = {}

    def add(self, item):
        self.rows[item.token_hash] = item
        return item

    def get(self, key):
        return next((t for t in self.rows.values() if t.id == key), None)

    def get_by_hash_for_update(self, token_hash):
        return self.rows.get(token_hash)

    def revoke_family(self, family_id, *, at):
        for token in self.rows.values():
            if token.family_id == family_id and token.revoked_at is None:
                token.revoked_at = at

    def family_revoked(self, family_id):
        return any(t.family_id == family_id and t.revoked_at for t in self.rows.values())

    def revoked_families_since(self, *, seconds):
        return sorted({t.family_id for t in self.rows.values() if t.revoked_at})


class FakeRevokedTokens(RevokedTokenRepository):
    def __init__(self):
        self.jtis = set()

    def revoke(self, jti, *, expires_at):
        self.jtis.add(jti)

    def is_revoked(self, jti):
        return jti in self.jtis

    def live(self):
        return [(jti, None) for jti in self.jtis]


class FakeUnitOfWork:
    def __init__(self):
        self.users = FakeUsers()
        self.refresh_tokens = FakeRefreshTokens()
        self.revoked_tokens = FakeRevokedTokens()
        self.committed = 0

    def commit(self):
        self.committed += 1
