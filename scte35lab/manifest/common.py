"""What the playlist and MPD readers share: fetching, cue fields, the result table."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, ClassVar

import pandas as pd

from scte35lab.cue import Cue
from scte35lab.cue.summary import cue_summary
from scte35lab.errors import CrcError, Scte35Error, StreamError
from scte35lab.ts.cuecolumns import CUE_COLUMNS, CUE_FLOAT_COLUMNS, CUE_INT_COLUMNS

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 10.0

# The columns of probe(...).cues, in order; those that need the transport stream stay NA.
PROBE_COLUMNS = CUE_COLUMNS

# What only manifests have: where the tag is and when it says the cue happens.
MANIFEST_COLUMNS = [
    "source",
    "tag",
    "line",
    "kind",
    "id",
    "segment",
    "uri",
    "segment_start",
    "signalled_time",
    "actual_time",
    "position_error",
    "signalled_duration",
    "elapsed",
    "problem",
]

# packet and offset stay NA here (no transport stream), so they are nullable too.
_INT_COLUMNS = ["packet", "offset", *CUE_INT_COLUMNS, "segment", "line"]
_FLOAT_COLUMNS = [
    *CUE_FLOAT_COLUMNS,
    "segment_start",
    "signalled_time",
    "actual_time",
    "position_error",
    "signalled_duration",
    "elapsed",
]


def is_url(path: str | os.PathLike) -> bool:
    return isinstance(path, str) and urllib.parse.urlsplit(path).scheme in ("http", "https")


def fetch(location: str | os.PathLike) -> bytes:
    """The bytes at a path or http(s) URL; a clear error when it cannot be had."""
    if is_url(location):
        try:
            with urllib.request.urlopen(str(location), timeout=FETCH_TIMEOUT) as resp:
                return resp.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise StreamError(f"cannot fetch {location}: {exc}") from exc
    with open(location, "rb") as f:
        return f.read()


def resolve(base: str | os.PathLike, ref: str) -> str:
    """A URI in a manifest, resolved against the manifest's own location."""
    if is_url(ref) or os.path.isabs(ref):
        return ref
    if is_url(base):
        return urllib.parse.urljoin(str(base), ref)
    return os.path.join(os.path.dirname(os.fspath(base)), ref)


def decode_payload(
    text: str, *, hexadecimal: bool | None = None
) -> tuple[bytes | None, str | None]:
    """Section bytes from a base64 or 0x-hex attribute value: (bytes, error)."""
    value = text.strip().strip('"')
    try:
        if hexadecimal or (hexadecimal is None and value[:2].lower() == "0x"):
            body = value[2:] if value[:2].lower() == "0x" else value
            return bytes.fromhex(body), None
        return base64.b64decode(value, validate=True), None
    except (ValueError, binascii.Error) as exc:
        return None, f"payload is neither valid hex nor base64: {exc}"


def cue_fields(section: bytes | None) -> dict[str, Any]:
    """The probe cue columns for one section (decode errors reported, not raised)."""
    out: dict[str, Any] = {}
    if section is None:
        return out
    out["base64"] = base64.b64encode(section).decode("ascii")
    try:
        cue = Cue.decode(section)
        out["crc_ok"] = True
    except CrcError as exc:
        out["crc_ok"] = False
        out["decode_error"] = str(exc)
        try:
            cue = Cue.decode(section, check_crc=False)
        except Scte35Error:
            return out
    except Scte35Error as exc:
        out["crc_ok"] = False
        out["decode_error"] = str(exc)
        return out
    out.update(cue_summary(cue))
    return out


WARNING_COLUMNS = ["source", "line", "element", "tag", "problem"]


class ManifestCues(pd.DataFrame):
    """The cue table of a playlist or MPD, with ``.warnings``: one row (source, line or
    element, tag, problem) per tag that carries a damaged or unreadable cue, and per
    SCTE-35-looking tag the reader does not know - nothing is dropped without a word."""

    _metadata: ClassVar[list[str]] = ["warnings"]

    @property
    def _constructor(self) -> type[ManifestCues]:
        return ManifestCues

    def __finalize__(self, other: Any, method: str | None = None, **kwargs: Any) -> ManifestCues:
        super().__finalize__(other, method=method, **kwargs)
        if method == "concat":  # pd.concat of several tables: their warnings, in order
            parts = [getattr(o, "warnings", None) for o in getattr(other, "objs", ())]
            parts = [w for w in parts if isinstance(w, pd.DataFrame)]
            self.warnings = pd.concat(parts, ignore_index=True) if parts else warning_table([])
        elif not isinstance(getattr(self, "warnings", None), pd.DataFrame):
            self.warnings = warning_table([])
        return self

    def warning_lines(self) -> list[str]:
        """Each warning as one line: ``SOURCE:LINE: TAG: problem``."""
        return warning_lines(self.warnings)


def warning_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The warnings frame (columns :data:`WARNING_COLUMNS`)."""
    df = pd.DataFrame(rows, columns=WARNING_COLUMNS)
    df["line"] = df["line"].astype("Int64")
    for col in ("source", "element", "tag", "problem"):
        df[col] = df[col].astype("string")
    return df


def warning_lines(warnings: pd.DataFrame) -> list[str]:
    """Warnings as one line each, for stderr or a log."""
    out = []
    for w in warnings.to_dict("records"):
        where = str(w["source"])
        if not pd.isna(w["line"]):
            where += f":{w['line']}"
        if not pd.isna(w["element"]):
            where += f": {w['element']}"
        out.append(f"{where}: {w['tag']}: {w['problem']}")
    return out


def table(rows: list[dict[str, Any]], warnings: list[dict[str, Any]] | None = None) -> ManifestCues:
    """The result frame: probe's cue columns, then the manifest columns, tidy dtypes; its
    ``.warnings`` from ``warnings`` (dicts with :data:`WARNING_COLUMNS`)."""
    df = ManifestCues(pd.DataFrame(rows, columns=PROBE_COLUMNS + MANIFEST_COLUMNS))
    for col in _INT_COLUMNS:
        df[col] = pd.array(df[col].tolist(), dtype="Int64") if len(df) else df[col].astype("Int64")
    for col in _FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["pid"] = df["pid"].astype("Int64")
    df["out_of_network_indicator"] = df["out_of_network_indicator"].astype("boolean")
    df["crc_ok"] = df["crc_ok"].astype("boolean")
    for col in ("decode_error", "problem", "base64", "key", "upid", "id", "uri", "source"):
        df[col] = df[col].astype("string")
    for col in ("carriage", "command_name", "segmentation_type_name", "tag", "kind"):
        df[col] = df[col].astype("category")
    df.warnings = warning_table(warnings or [])
    return df
