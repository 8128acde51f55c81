"""Secrets kept out of the store: salted scrypt hashes of stream keys, passphrases by reference.

The RTMP ``on_publish`` check needs only to *verify* a stream key, so the store keeps a salted
hash. An SRT passphrase must be sent, so the store keeps the name of the environment variable
that holds it and reads the value only when asked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from urllib.parse import parse_qsl, urlsplit

from scte35lab.redaction import REDACTED, SECRET_PARAMS, redact  # noqa: F401 (re-exported)
from scte35lab.schedule.errors import StoreError

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def new_stream_key() -> str:
    """A fresh random stream key (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def hash_stream_key(key: str) -> str:
    """``scrypt$N$r$p$salt$hash`` for ``key`` with a fresh 16-byte salt."""
    if not isinstance(key, str) or len(key) < 8:
        raise StoreError(
            "a stream key must be a string of at least 8 characters", field="stream_key"
        )
    salt = os.urandom(16)
    digest = hashlib.scrypt(
        key.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_stream_key_hash(stored: str, key: str) -> bool:
    """Whether ``key`` hashes to ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            key.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def check_env_name(name: str) -> str:
    """``name`` when it can name an environment variable; an error that says why otherwise."""
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        # Do not echo the value: a caller may have passed the passphrase itself by mistake.
        raise StoreError(
            "srt_passphrase_env must be the NAME of an environment variable holding the "
            "passphrase (letters, digits, _), not the passphrase itself",
            field="srt_passphrase_env",
        )
    return name


def check_srt_destination(url: str) -> str:
    """``url`` when it is an ``srt://host:port`` URL without a passphrase in it."""
    parts = urlsplit(url)
    if parts.scheme != "srt" or not parts.hostname or parts.port is None:
        raise StoreError(
            "srt_destination must look like srt://host:port[?options]", field="srt_destination"
        )
    if parts.password or any(k.lower() in SECRET_PARAMS for k, _ in parse_qsl(parts.query)):
        raise StoreError(
            "srt_destination must not carry the passphrase: keep it in an environment "
            "variable and pass srt_passphrase_env=<its name>",
            field="srt_destination",
        )
    return url
