"""Passwords and PINs, hashed with Argon2id (argon2-cffi, its RFC 9106 low-memory profile);
nothing else here stores or compares a secret."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ingestd.errors import UserError

_HASHER = PasswordHasher()
# Checked against when the account does not exist or has no password, so that a wrong badge
# takes as long as a wrong password and does not tell which badges exist.
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 10
MIN_PIN, MAX_PIN = 4, 8


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def matches(stored: str | None, given: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, given) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def temporary_password() -> str:
    """A one-time password to hand over in person: 16 characters, unambiguous to read aloud."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def check_new_password(password: str, badge: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password for {badge} is too short: at least {MIN_PASSWORD} characters")
    if password.strip().lower() == badge.lower() or len(set(password)) < 4:
        raise UserError(f"the password for {badge} is too easy to guess")


def check_new_pin(pin: str, badge: str) -> None:
    if not pin.isdigit() or not MIN_PIN <= len(pin) <= MAX_PIN or len(set(pin)) == 1:
        raise UserError(f"the PIN for {badge} must be {MIN_PIN}–{MAX_PIN} digits, not all the same")
