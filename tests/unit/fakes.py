"""In-memory stand-ins for the repositories and the unit of work."""

from __future__ import annotations

from local.event_store import EventStore, Leased
from shared_lib.accounts.repository import RefreshTokenRepository, RevokedTokenRepository, UserRepository


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
        self.recorded = []
        self.pending = []

    def after_commit(self, action):
        self.pending.append(action)

    def commit(self):
        self.committed += 1
        actions, self.pending = self.pending, []
        for action in actions:
            action()


class FakeEventStore(EventStore):
    """The broker's queue in memory. Retries are due at once; their delays are recorded."""

    def __init__(self):
        super().__init__("fake")
        self.events = {}       # id -> (headers, body, subscriber, routed)
        self.deliveries = {}   # id -> [event id, subscriber, attempts, leased]
        self.delays = []
        self._ids = iter(range(1, 1_000_000))

    def put(self, headers, body, *, subscriber=None):
        event_id = next(self._ids)
        self.events[event_id] = [headers, body, subscriber, False]
        return event_id

    def put_many(self, events):
        for headers, body in events:
            self.put(headers, body)

    def route(self, subscribers_of, *, limit=200, accepted=None):
        new = [(i, e) for i, e in self.events.items() if not e[3]][:limit]
        for event_id, event in new:
            event[3] = True
            for name in [event[2]] if event[2] else subscribers_of(event[0].get("ce-type", "")):
                self.deliveries[next(self._ids)] = [event_id, name, 0, False]
                if accepted is not None:
                    accepted(name)
            self._forget(event_id)
        return len(new)

    def lease(self, limit):
        due = [(i, d) for i, d in self.deliveries.items() if not d[3]][:limit]
        for _, delivery in due:
            delivery[3] = True
        return [Leased(i, d[1], d[2], *self.events[d[0]][:2]) for i, d in due]

    def done(self, delivery_id):
        event_id = self.deliveries.pop(delivery_id)[0]
        self._forget(event_id)

    def retry(self, delivery_id, *, attempts, delay, error):
        self.deliveries[delivery_id][2:] = [attempts, False]
        self.delays.append(delay)

    def _forget(self, event_id):
        if not any(d[0] == event_id for d in self.deliveries.values()):
            self.events.pop(event_id, None)

    def release_all(self):
        return 0

    def next_due(self):
        return 0.0 if any(not d[3] for d in self.deliveries.values()) else None

    def pending(self):
        return sum(not e[3] for e in self.events.values()) + len(self.deliveries)
