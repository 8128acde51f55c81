"""``verify`` for what an SSAI or a player reads: the cue signalling of an HLS playlist or a
DASH MPD (the rows of ``probe_playlist`` / ``probe_mpd``), one verdict per tag.

A break's OUT must start a segment (a player can only switch there) and splice where the
stream's own splice point is; its IN must come where the OUT's duration says; CONT tags must
agree with the break they continue; every tag must parse and carry a valid section.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from scte35lab.manifest.readmpd import probe_mpd
from scte35lab.manifest.readplaylist import probe_playlist

TOLERANCE = 0.0015  # seconds: manifests carry milliseconds

MANIFEST_REASONS = (
    "damaged_tag",  # the tag does not parse, or its section does not decode
    "off_boundary",  # an OUT or IN that does not start a segment
    "position_error",  # signalled time differs from the section's own splice point
    "out_problem",  # an OUT the reader found wrong (e.g. inside an open break)
    "in_mismatch",  # an IN not where the OUT's duration ends the break
    "cont_inconsistent",  # a CONT whose elapsed time or duration disagrees with the break
)

COLUMNS = [
    "line",
    "tag",
    "kind",
    "id",
    "segment",
    "segment_start",
    "signalled_time",
    "actual_time",
    "position_error",
    "signalled_duration",
    "command_name",
    "splice_event_id",
    "segmentation_type_id",
    "base64",
    "ok",
    "reasons",
    "detail",
]


def is_manifest(source: Any) -> bool:
    """Whether ``source`` is a playlist/MPD path or URL, or a table read from one."""
    if isinstance(source, pd.DataFrame):
        return "tag" in source.columns and "signalled_time" in source.columns
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source).split("?", 1)[0].lower()
        return path.endswith((".m3u8", ".m3u", ".mpd"))
    return False


def read_manifest(source: Any) -> pd.DataFrame:
    """The cue rows of a manifest path or URL (or ``source`` itself when it is a table)."""
    if isinstance(source, pd.DataFrame):
        return source

    path = os.fspath(source)
    return (
        probe_mpd(path)
        if path.split("?", 1)[0].lower().endswith(".mpd")
        else (probe_playlist(path))
    )


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def verify_manifest(source: Any) -> pd.DataFrame:
    """One row per cue tag or event: ``ok``, ``reasons`` (codes of ``MANIFEST_REASONS``) and
    ``detail``; ``df.attrs["summary"]`` is the one-line summary and ``df.attrs["warnings"]``
    the reader's warnings (damaged or unknown tags), one line each."""
    cues = read_manifest(source)
    lines = cues.warning_lines() if hasattr(cues, "warning_lines") else []
    rows = []
    for r in cues.to_dict("records"):
        reasons: list[str] = []
        detail: list[str] = []
        kind = r.get("kind")
        problem = None if _missing(r.get("problem")) else str(r["problem"])
        if kind == "damaged" or not _missing(r.get("decode_error")):
            reasons.append("damaged_tag")
        signalled, start = r.get("signalled_time"), r.get("segment_start")
        if (
            kind in ("out", "in")
            and not _missing(signalled)
            and not _missing(start)
            and abs(float(signalled) - float(start)) > TOLERANCE
        ):
            reasons.append("off_boundary")
            detail.append(
                f"{kind} at {float(signalled):.3f} s, segment starts {float(start):.3f} s"
            )
        error = r.get("position_error")
        if not _missing(error) and abs(float(error)) > TOLERANCE:
            reasons.append("position_error")
            detail.append(f"signalled {float(error) * 1000:+.1f} ms from the splice point")
        if problem and kind in ("in", "cont", "out"):
            reasons.append(
                {"in": "in_mismatch", "cont": "cont_inconsistent"}.get(kind, "out_problem")
            )
        if problem:
            detail.append(problem)
        rows.append(
            {
                **{c: r.get(c) for c in COLUMNS[:-3]},
                "ok": not reasons,
                "reasons": ",".join(dict.fromkeys(reasons)),
                "detail": "; ".join(detail),
            }
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["ok"] = df["ok"].astype(bool)
    name = cues.attrs.get("source") or (
        os.path.basename(os.fspath(source)) if not isinstance(source, pd.DataFrame) else "manifest"
    )
    df.attrs["source"] = name
    df.attrs["warnings"] = lines
    df.attrs["summary"] = manifest_summary(df, name=name)
    return df


def manifest_summary(df: pd.DataFrame, *, name: str = "manifest") -> str:
    """One line: how many tags, how many ok, failures by reason."""
    counts: dict[str, int] = {}
    for text in df.loc[~df["ok"], "reasons"]:
        for code in str(text).split(","):
            if code:
                counts[code] = counts.get(code, 0) + 1
    bad = int((~df["ok"]).sum())
    if not len(df):  # no cue is no evidence: never a PASS
        warned = len(df.attrs.get("warnings", []))
        more = f"; {warned} warning(s) from the reader" if warned else ""
        return f"EMPTY {name}: 0 cue tags, nothing to verify{more}"
    line = f"{'PASS' if not bad else 'FAIL'} {name}: {len(df)} cue tags, {len(df) - bad} ok"
    if counts:
        line += ", " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    warned = len(df.attrs.get("warnings", []))
    if warned:
        line += f"; {warned} warning(s) from the reader"
    return line
