"""Argo CD's admin password as the chart wants it: a bcrypt hash, stable across runs.

bcrypt needs a salt. A random one would give a new hash, hence new chart values and a
new argocd-secret, on every run. The salt is derived from the password instead
(HMAC-SHA256, keyed by the password, of a fixed label and the rotation time): the same
password always gives the same hash, and nothing but the password is needed to
reproduce it, so it works on a fresh checkout and during a stack's first preview. A
derived salt only stops table attacks across different passwords; the passwords come
from the stack's secrets with a minimum length (components/config/stack.py), so the
bcrypt work factor, not the salt, is what an offline attacker faces."""

from __future__ import annotations

import base64
import hashlib
import hmac

import bcrypt

# Argo CD hashes passwords it sets itself at Go's bcrypt.DefaultCost (10).
BCRYPT_COST = 10
_SALT_LABEL = b"delivery-platform argocd admin password salt"
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_BASE64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def bcrypt_salt(password: str, rotated_at: str) -> bytes:
    """The 16 salt bytes for `password`, in bcrypt's `$2a$<cost>$<salt>` form."""
    digest = hmac.new(password.encode(), _SALT_LABEL + rotated_at.encode(), hashlib.sha256).digest()[:16]
    encoded = base64.b64encode(digest).decode().rstrip("=").translate(str.maketrans(_BASE64, _BCRYPT_BASE64))
    return f"$2a${BCRYPT_COST:02d}${encoded}".encode()


def bcrypt_hash(password: str, rotated_at: str) -> str:
    """The bcrypt hash Argo CD expects in admin.password."""
    return bcrypt.hashpw(password.encode(), bcrypt_salt(password, rotated_at)).decode()
