"""Password hashing (argon2id via argon2-cffi) and the password policy."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from services.core.i18n import lazy_gettext as _l

from services.core.errors import ValidationFailed

MAX_LENGTH = 128


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text("utf-8").splitlines() if line.strip())


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


def hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; never raises for a wrong or malformed hash."""
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


# A valid hash to verify against when the account does not exist, so that a wrong username
# takes as long as a wrong password (no timing hint that an account exists).
@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int) -> str:
    return _hasher(time_cost, memory_cost).hash("not-a-real-password")


def burn_time() -> None:
    config = current_app.config
    verify_password(_dummy_hash(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"]), "x")


def check_policy(password: str, *, username: str = "", field: str = "password") -> None:
    """Raise ValidationFailed when the password is too short, too long or too easy to guess."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        message = str(_l("Use at least %(n)d characters.", n=minimum))
    elif len(password) > MAX_LENGTH:
        message = str(_l("Use at most %(n)d characters.", n=MAX_LENGTH))
    elif password.lower() in common_passwords():
        message = str(_l("This password is too common; choose another."))
    elif username and password.lower() == username.lower():
        message = str(_l("The password must differ from the username."))
    else:
        return
    raise ValidationFailed(message, fields={field: message})
