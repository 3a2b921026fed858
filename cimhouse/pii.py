"""Personal data protection (PIPL): encryption, keyed lookup hashes, masking, key handling.

ID numbers and phone numbers are stored as AES-256-GCM ciphertext plus, for ID numbers, an
HMAC-SHA256 lookup hash; both sub-keys are derived (HKDF-SHA256) from one master key that
comes from ``CIMHOUSE_SECRET_KEY`` or, with the embedded database, ``var/secret.key``
(generated on first use, mode 0600).

Example::

    vault = PiiVault.from_settings(settings)
    cipher = vault.encrypt("330402199001011234")
    vault.decrypt(cipher)          # only on a path that audits the read
    vault.lookup_hash("330402199001011234")   # 32 bytes, same for the same number
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cimhouse.errors import ConfigurationError
from cimhouse.i18n import _
from cimhouse.idnumber import mask_id_number, normalize_id_number
from cimhouse.settings import Settings

NONCE_BYTES = 12


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"cimhouse/" + purpose).derive(master)


class PiiVault:
    """Encrypts, decrypts and hashes personal identifiers with keys derived from one secret."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ConfigurationError(_("the personal-data master key must be 32 bytes"))
        self._aead = AESGCM(_derive(master_key, b"pii-encryption"))
        self._mac_key = _derive(master_key, b"pii-lookup")

    def __repr__(self) -> str:
        return "PiiVault(<keys hidden>)"

    @classmethod
    def from_settings(cls, settings: Settings) -> PiiVault:
        return _vault_for_key(load_master_key(settings))

    def encrypt(self, plain: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain.encode("utf-8"), None)

    def decrypt(self, blob: bytes) -> str:
        data = bytes(blob)
        return self._aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None).decode("utf-8")

    def lookup_hash(self, id_number: str) -> bytes:
        """Keyed hash of a normalised ID number, for exact-match lookups and joins."""
        normal = normalize_id_number(id_number)
        return hmac.digest(self._mac_key, normal.encode("ascii"), "sha256")


@lru_cache(maxsize=4)
def _vault_for_key(key: bytes) -> PiiVault:
    return PiiVault(key)


def load_master_key(settings: Settings) -> bytes:
    """The master key from settings, or from ``var/secret.key`` (created when missing)."""
    if settings.secret_key_b64:
        try:
            key = base64.b64decode(settings.secret_key_b64, validate=True)
        except ValueError as exc:
            raise ConfigurationError(_("CIMHOUSE_SECRET_KEY is not valid base64")) from exc
        if len(key) != 32:
            raise ConfigurationError(_("CIMHOUSE_SECRET_KEY must decode to 32 bytes"))
        return key
    return _key_file(settings.secret_key_path)


def _key_file(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    key = base64.b64decode(path.read_text().strip())
    if len(key) != 32:
        raise ConfigurationError(_("{path} does not hold a 32-byte base64 key", path=path))
    return key


def mask_phone(phone: str) -> str:
    """``13812345678`` -> ``138****5678``: first 3 and last 4 digits kept, the rest starred."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(0, len(digits) - 2) + digits[-2:]


__all__ = ["PiiVault", "load_master_key", "mask_id_number", "mask_phone"]
