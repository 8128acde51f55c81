"""Secrets out of text: ``redact`` hides passphrases, stream keys and URL passwords in
anything we print, log or store.

A base module: the live layer (process argv and output), the store (logged messages) and the
command line all redact through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SECRET_PARAMS = ("passphrase", "password", "passwd", "key", "stream_key", "streamkey", "token")
"""Names of URL query parameters and ``name=value`` pairs whose value is a secret."""
REDACTED = "***"
"""What a hidden secret reads as."""
_SECRET_IN_TEXT = re.compile(
    r"(?i)\b(" + "|".join(SECRET_PARAMS) + r")\s*([=:])\s*(\"[^\"]*\"|'[^']*'|[^\s&,;\"']+)"
)
# URL forms: an RTMP URL's path after the application is the stream key
# (rtmp://host/live/KEY), and user:password@ in any URL.
_RTMP_KEY_IN_URL = re.compile(r"(?i)\b(rtmps?://[^/\s\"']+/[^/\s\"'?]+/)([^\s\"']+)")
_PASSWORD_IN_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s\"']+:)([^@/\s\"']+)@")


def redact(text: str, secrets_: Iterable[str] = ()) -> str:
    """``text`` with every string in ``secrets_``, ``passphrase=...``-style values, the
    stream key of an RTMP URL (``rtmp://host/app/KEY``) and URL passwords hidden."""
    out = text
    # Known secrets first, longest first: a pattern pass before them could split one (a
    # passphrase with spaces) and leave its tail in the text.
    for s in sorted((s for s in secrets_ if s), key=len, reverse=True):
        out = out.replace(s, REDACTED)
    out = _RTMP_KEY_IN_URL.sub(lambda m: f"{m[1]}{REDACTED}", out)
    out = _PASSWORD_IN_URL.sub(lambda m: f"{m[1]}{REDACTED}@", out)
    return _SECRET_IN_TEXT.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", out)
