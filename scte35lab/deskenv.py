"""The settings ``scte35lab desk`` hands to its page's kernel, as ``SCTE35LAB_DESK_*``
environment variables: written by the command line, read by ``widgets.desk``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from scte35lab.errors import ComponentError

ENV_PREFIX = "SCTE35LAB_DESK_"
MODES = ("passthrough", "transcode")
# variable name -> (Desk argument, type)
FIELDS: dict[str, tuple[str, type]] = {
    "STORE": ("store", str),
    "STREAM": ("stream", str),
    "RTMP_HOST": ("rtmp_host", str),
    "RTMP_PORT": ("rtmp_port", int),
    "MODE": ("mode", str),
    "PREROLL": ("preroll", float),
    "SENDER": ("sender", str),
}


def desk_env(**settings: Any) -> dict[str, str]:
    """``SCTE35LAB_DESK_*`` variables for ``settings`` (Desk argument names; ``None`` and
    empty values are left out)."""
    by_arg = {arg: name for name, (arg, _kind) in FIELDS.items()}
    out = {}
    for arg, value in settings.items():
        if arg not in by_arg:
            raise ComponentError(f"{arg!r} is not a desk setting")
        if value is not None and value != "":
            out[ENV_PREFIX + by_arg[arg]] = str(value)
    return out


def desk_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``Desk`` arguments from ``SCTE35LAB_DESK_*`` variables (``STORE`` required)."""
    env = os.environ if env is None else env
    if not env.get(ENV_PREFIX + "STORE"):
        raise ComponentError(f"{ENV_PREFIX}STORE (the SQLite store of the desk) is not set")
    out: dict[str, Any] = {}
    for name, (arg, kind) in FIELDS.items():
        text = env.get(ENV_PREFIX + name)
        if not text:
            continue
        try:
            out[arg] = kind(text)
        except ValueError:
            raise ComponentError(f"{ENV_PREFIX}{name}={text!r} is not a {kind.__name__}") from None
    if out.get("mode", MODES[0]) not in MODES:
        raise ComponentError(f"{ENV_PREFIX}MODE={out['mode']!r} is not one of {', '.join(MODES)}")
    return out


__all__ = ["ENV_PREFIX", "FIELDS", "MODES", "desk_env", "desk_settings"]
