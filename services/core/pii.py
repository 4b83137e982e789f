"""Personal-data helpers for China's PIPL: field encryption, blind-index look-ups and masking.

Scheme
------
* ``DATA_KEY`` is 32 random bytes in URL-safe base64. It is never used directly: HKDF-SHA256
  derives two independent subkeys from it, one for encryption (info ``anju-pii-encrypt-v1``)
  and one for look-ups (info ``anju-pii-lookup-v1``), so a leak of one purpose's output cannot
  be turned against the other.
* Values are encrypted with AES-256-GCM under a random 12-byte nonce and stored as
  ``"v1." + urlsafe_b64(nonce + ciphertext_and_tag)`` without padding. The ``v1`` prefix lets a
  later scheme or key rotation tell old tokens apart.
* Because encryption is randomised, equality searches (unique phone numbers, ID numbers) use a
  blind index: HMAC-SHA256 under the lookup subkey over ``purpose + ":" + value``. A plain hash
  would be reversible by enumerating the small space of phone and ID numbers.
* Masking helpers show at most a short prefix and suffix, for display and logs.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy.engine import Dialect
from sqlalchemy.types import String, TypeDecorator

__all__ = [
    "PiiError", "load_key", "encrypt", "decrypt", "lookup_hash", "normalise_phone",
    "is_valid_cn_mobile", "mask_phone", "normalise_national_id", "is_valid_national_id",
    "mask_national_id", "EncryptedString",
]

_PREFIX = "v1."
_NONCE_BYTES = 12
_KEY_ERROR = "DATA_KEY must be 32 random bytes in URL-safe base64"
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class PiiError(ValueError):
    """Raised for undecryptable tokens or unusable keys."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64URL.match(text):
        raise binascii.Error("not URL-safe base64")
    stripped = text.rstrip("=")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def load_key(data_key: str) -> bytes:
    """Decode a URL-safe base64 DATA_KEY (padding optional) to its 32 raw bytes."""
    try:
        raw = _b64decode(data_key.strip())
    except (binascii.Error, ValueError, AttributeError) as exc:
        raise PiiError(_KEY_ERROR) from exc
    if len(raw) != 32:
        raise PiiError(_KEY_ERROR)
    return raw


@functools.lru_cache(maxsize=8)
def _subkeys(master: bytes) -> tuple[bytes, bytes]:
    """Derive (encryption, lookup) subkeys from the master key."""
    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

    return derive(b"anju-pii-encrypt-v1"), derive(b"anju-pii-lookup-v1")


def _keys(key: str | None) -> tuple[bytes, bytes]:
    if key is None:
        key = current_app.config["DATA_KEY"]
    return _subkeys(load_key(key))


def encrypt(value: str, *, key: str | None = None) -> str:
    """Encrypt text with AES-256-GCM and return a ``v1.`` token."""
    enc_key, _ = _keys(key)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(enc_key).encrypt(nonce, value.encode("utf-8"), None)
    return _PREFIX + _b64encode(nonce + ciphertext)


def decrypt(token: str, *, key: str | None = None) -> str:
    """Decrypt a token from :func:`encrypt`; raise PiiError if it was altered or the key is wrong."""
    enc_key, _ = _keys(key)
    if not isinstance(token, str) or not token.startswith(_PREFIX):
        raise PiiError("unknown token format")
    try:
        raw = _b64decode(token[len(_PREFIX):])
    except (binascii.Error, ValueError) as exc:
        raise PiiError("token is not valid base64") from exc
    if len(raw) < _NONCE_BYTES + 16:
        raise PiiError("token is too short")
    try:
        plain = AESGCM(enc_key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
        return plain.decode("utf-8")
    except (InvalidTag, UnicodeDecodeError) as exc:
        raise PiiError("token was tampered with or the key is wrong") from exc


def lookup_hash(value: str, *, purpose: str, key: str | None = None) -> str:
    """Keyed blind index (HMAC-SHA256, hex) of a value for one purpose, e.g. ``"phone"``."""
    _, lookup_key = _keys(key)
    message = f"{purpose}:{value}".encode("utf-8")
    return hmac.new(lookup_key, message, hashlib.sha256).hexdigest()


def normalise_phone(raw: str) -> str:
    """Strip separators and a +86/86 country prefix from a mainland phone number."""
    phone = re.sub(r"[\s\-]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    elif phone.startswith("86") and len(phone) == 13:
        # Only strip a bare 86 when what remains is a full 11-digit number.
        phone = phone[2:]
    return phone


def is_valid_cn_mobile(phone: str) -> bool:
    """Whether the input is a mainland China mobile number once normalised."""
    return bool(_MOBILE.match(normalise_phone(phone)))


def mask_phone(phone: str) -> str:
    """Mask a phone number as ``138****5678``; short input is masked entirely."""
    digits = normalise_phone(phone)
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def normalise_national_id(raw: str) -> str:
    """Strip whitespace and upper-case the check character of a resident ID number."""
    return re.sub(r"\s", "", raw or "").upper()


def is_valid_national_id(value: str) -> bool:
    """Validate an 18-character PRC resident ID (GB 11643-1999): checksum and birth date."""
    number = normalise_national_id(value)
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != number[17]:
        return False
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= birth <= date.today()


def mask_national_id(value: str) -> str:
    """Mask an ID number as ``3209**********123X``; short input is masked entirely."""
    number = normalise_national_id(value)
    if len(number) < 12:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


class EncryptedString(TypeDecorator[str]):
    """String column stored encrypted with the app's DATA_KEY; ``length`` is the token width."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value)
