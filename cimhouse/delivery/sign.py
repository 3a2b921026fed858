"""Signing of outbound bodies (HMAC-SHA256 over timestamp and body) and the secrets' storage.

Every delivery carries three headers (names in :data:`SIGNATURE_HEADER` etc.)::

    X-Cimhouse-Timestamp: 1764662400               (Unix seconds when this attempt was sent)
    X-Cimhouse-Signature: v1=5d41402abc4b2a76...     (hex HMAC-SHA256 of "<timestamp>.<body>")
    X-Cimhouse-Delivery: 42                         (the delivery's id: the same on every retry)

A receiver recomputes the HMAC with its secret over the timestamp, a dot and the raw body bytes,
compares in constant time, and refuses a timestamp older than a few minutes (a captured request
replayed later fails); the delivery id lets it drop a batch it has already taken (deliveries
are at least once). :func:`verify_signature` does exactly that and is what docs/feed.md shows.

Secrets are stored encrypted (AES-256-GCM with a key derived from the master key, like
personal data, but a key of its own): the sender needs the secret itself, not a hash.

Example::

    >>> headers = signed_headers("whsec_abc", b'{"a":1}', delivery_id=7, now=1764662400)
    >>> headers["X-Cimhouse-Signature"][:3]
    'v1='
    >>> verify_signature("whsec_abc", b'{"a":1}', headers, now=1764662460)
    True
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cimhouse.pii import load_master_key
from cimhouse.settings import Settings

SIGNATURE_HEADER = "X-Cimhouse-Signature"
TIMESTAMP_HEADER = "X-Cimhouse-Timestamp"
DELIVERY_HEADER = "X-Cimhouse-Delivery"
ATTEMPT_HEADER = "X-Cimhouse-Attempt"
VERSION = "v1"
#: a receiver refuses signatures older (or newer) than this many seconds
TOLERANCE_S = 300
_NONCE = 12


def new_secret() -> str:
    """A fresh signing secret (shown to the operator once, stored encrypted)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256 of b"<timestamp>." + body>``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body,
                   hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, *, delivery_id: int, attempt: int = 1,
                   now: int | None = None) -> dict[str, str]:
    """The headers of one attempt: content type, timestamp, signature, delivery id, attempt."""
    stamp = int(time.time()) if now is None else now
    return {"Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, body),
            DELIVERY_HEADER: str(delivery_id), ATTEMPT_HEADER: str(attempt)}


def verify_signature(secret: str, body: bytes, headers: Mapping[str, str], *,
                     tolerance_s: int = TOLERANCE_S, now: int | None = None) -> bool:
    """What a receiver does: True when the signature matches and the timestamp is fresh."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not raw_stamp.isdigit():
        return False
    stamp = int(raw_stamp)
    current = int(time.time()) if now is None else now
    if abs(current - stamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), given)


class SecretBox:
    """Encrypts signing secrets for storage; the key is derived from the master key."""

    def __init__(self, master_key: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"cimhouse/delivery-secret").derive(master_key)
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(load_master_key(settings))

    def seal(self, secret: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE)
        return nonce + self._aead.encrypt(nonce, secret.encode("utf-8"), None)

    def open(self, blob: bytes) -> str:
        data = bytes(blob)
        return self._aead.decrypt(data[:_NONCE], data[_NONCE:], None).decode("utf-8")
