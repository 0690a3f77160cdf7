"""The local service-account issuer: what the Kubernetes API server is to a cluster's pods.

It holds an RSA key under .local/<profile>/keys/ (RS256, as Kubernetes signs its tokens) and
publishes its JWKS beside it, which every event function verifies with. It mints the
tokens the senders read from files, as the kubelet projects a service-account token for an
audience into a pod (and refreshes it well before it expires), and the tokens the broker's
dispatcher presents to each subscriber, as a Knative Trigger does.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

from shared_lib.events.sender import broker_audience, function_audience, service_account

ISSUER = "https://issuer.streamfn.local"
NAMESPACE = "streamfn"
BROKER = broker_audience(NAMESPACE, "default")
FUNCTIONS = service_account(NAMESPACE, "streamfn-functions")
INGEST = service_account(NAMESPACE, "rtmp-ingest")
# The EventPolicy of the Broker: who may send to it.
ALLOWED_SENDERS = frozenset({FUNCTIONS, INGEST})
TOKEN_SECONDS = 3600
REFRESH_SECONDS = 600


class Issuer:
    def __init__(self, keys: Path) -> None:
        import jwt
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        private, self.jwks_file = keys / "issuer-private.pem", keys / "issuer-jwks.json"
        if not private.exists():
            keys.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            private.touch(mode=0o600)
            private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            self.jwks_file.write_text(json.dumps({"keys": [{**jwk, "kid": uuid.uuid4().hex,
                                                             "alg": "RS256", "use": "sig"}]}))
        self._key = serialization.load_pem_private_key(private.read_bytes(), password=None)
        self._kid = json.loads(self.jwks_file.read_text())["keys"][0]["kid"]

    def mint(self, *, subject: str, audience: str, seconds: int = TOKEN_SECONDS) -> str:
        import jwt

        now = int(time.time())
        claims = {"iss": ISSUER, "sub": subject, "aud": audience, "iat": now, "nbf": now,
                  "exp": now + seconds, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})


class TokenFiles:
    """Each sender's token for the broker, in a file of its own, refreshed every ten
    minutes (they last an hour): the projected service-account tokens of one machine."""

    def __init__(self, issuer: Issuer, directory: Path) -> None:
        self.issuer, self.directory = issuer, directory
        self.paths = {FUNCTIONS: directory / "functions", INGEST: directory / "rtmp-ingest"}
        self._written = 0.0
        self._lock = threading.Lock()

    def refresh(self, *, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._written < REFRESH_SECONDS:
                return
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            for subject, path in self.paths.items():
                partial = path.with_suffix(".part")
                partial.touch(mode=0o600)
                partial.write_text(self.issuer.mint(subject=subject, audience=BROKER))
                partial.replace(path)
            self._written = time.monotonic()


class SubscriberTokens:
    """The tokens the dispatcher presents: one per subscriber's audience, minted again
    when less than ten minutes are left."""

    def __init__(self, issuer: Issuer, subject: str = service_account(NAMESPACE, "broker-filter")) -> None:
        self.issuer, self.subject = issuer, subject
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, subscriber: str) -> str:
        with self._lock:
            token, expires = self._tokens.get(subscriber, ("", 0.0))
            if expires - time.time() < REFRESH_SECONDS:
                token = self.issuer.mint(subject=self.subject, audience=function_audience(subscriber))
                self._tokens[subscriber] = (token, time.time() + TOKEN_SECONDS)
            return token
