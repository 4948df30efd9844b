"""API tokens: `gf_<key id>_<secret>`, kept only as a salted SHA-256 digest of the secret.

The secret is 32 random bytes, so a fast hash is enough (no password stretching is needed for
a value that cannot be guessed); the key id finds the tenant without scanning.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NewToken:
    token: str  # shown once, never stored
    key_id: str
    salt: str
    digest: str


def digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def new_token() -> NewToken:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    return NewToken(f"gf_{key_id}_{secret}", key_id, salt, digest(salt, secret))


def split(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "gf" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def matches(salt: str, stored: str, secret: str) -> bool:
    return hmac.compare_digest(digest(salt, secret), stored)
