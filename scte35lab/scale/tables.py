"""Per-source tables: a ``Probe``'s or a ``verify`` report's tables with a ``source`` column,
in dtypes that concatenate across sources and round-trip through parquet (categorical and
object text columns become Arrow-backed ``string``)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from scte35lab.analysis.probe import Probe
from scte35lab.analysis.verify import summary, verify
from scte35lab.ts.scan import Scanner

# Arrow-backed text: one buffer per column, cheap to send between processes and to parquet
TEXT = pd.StringDtype("pyarrow")
PROBE_TABLES = ("sources", "pids", "frames", "cues", "errors")
VERIFY_TABLES = ("report", "summary")
ERROR_COLUMNS = ["type", "priority", "packet", "offset", "pid", "detail"]
SOURCE_COLUMNS = {
    "source": TEXT,
    "ok": "bool",
    "failure": TEXT,
    "bytes": "Int64",
    "packet_size": "Int64",
    "packets": "Int64",
    "duration": "float64",
    "video_frames": "Int64",
    "keyframes": "Int64",
    "cues": "Int64",
    "errors": "Int64",
    "ranges": "Int64",
    "rescanned": "Int64",
}
SUMMARY_COLUMNS = {
    "source": TEXT,
    "ok": "bool",
    "failure": TEXT,
    "cues": "Int64",
    "cues_ok": "Int64",
    "cues_failed": "Int64",
    "summary": TEXT,
}


def _arrow_text(values: pa.Array) -> pd.api.extensions.ExtensionArray:
    return pd.array(values.cast(pa.large_string()), dtype=TEXT)


def _text(df: pd.DataFrame) -> pd.DataFrame:
    for c in df.columns:
        col = df[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            # through the categories once, not through a Python object per row
            cats = pa.array([str(v) for v in col.cat.categories], type=pa.string())
            codes = col.cat.codes.to_numpy()
            df[c] = _arrow_text(cats.take(pa.array(codes, mask=codes < 0)))
        elif pd.api.types.is_string_dtype(col.dtype) and col.dtype != TEXT:
            df[c] = col.astype(TEXT)
    return df


def _with_source(df: pd.DataFrame, source: str) -> pd.DataFrame:
    df = _text(df.copy()).reset_index(drop=True)
    rows = pa.array(np.zeros(len(df), dtype=np.int64))
    df.insert(0, "source", _arrow_text(pa.array([source]).take(rows)))
    return df


@functools.cache
def _empty_probe() -> Probe:
    return Probe(Scanner().scan(b""), source=b"")


@functools.cache
def probe_meta() -> dict[str, pd.DataFrame]:
    """Empty tables with the columns and dtypes every source's tables have."""
    p = _empty_probe()
    meta = {t: _with_source(getattr(p, t), "").iloc[:0] for t in PROBE_TABLES[1:]}
    meta["sources"] = _frame([], SOURCE_COLUMNS)
    return meta


@functools.cache
def verify_meta() -> dict[str, pd.DataFrame]:
    """Empty verify tables (report and per-source summary)."""
    return {
        "report": _with_source(verify(_empty_probe()), "").iloc[:0],
        "summary": _frame([], SUMMARY_COLUMNS),
    }


def _frame(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    return df.astype(columns)


def _conform(df: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    df = df[list(meta.columns)]
    other = {c: t for c, t in meta.dtypes.items() if df[c].dtype != t}
    return df.astype(other) if other else df


def probe_tables(p: Probe, source: str, *, ranges: int = 1, rescanned: int = 0) -> dict:
    """The tables of one probed source."""
    meta = probe_meta()
    s = p.summary()
    out = {t: _conform(_with_source(getattr(p, t), source), meta[t]) for t in PROBE_TABLES[1:]}
    row = {
        "source": source,
        "ok": True,
        "failure": None,
        "bytes": s["bytes"],
        "packet_size": s["packet_size"],
        "packets": s["packets"],
        "duration": s["duration"],
        "video_frames": s["video_frames"],
        "keyframes": s["keyframes"],
        "cues": s["cues"],
        "errors": s["errors"],
        "ranges": ranges,
        "rescanned": rescanned,
    }
    out["sources"] = _frame([row], SOURCE_COLUMNS)
    return out


def failed_probe_tables(source: str, failure: str) -> dict:
    """A source that could not be probed: no rows but one ``source_error`` and its line in
    ``sources``."""
    meta = probe_meta()
    out = {t: meta[t].copy() for t in PROBE_TABLES[1:]}
    err = {"type": "source_error", "priority": 3, "packet": None, "offset": None, "pid": None}
    err["detail"] = failure
    out["errors"] = _conform(
        _with_source(pd.DataFrame([err], columns=ERROR_COLUMNS), source), meta["errors"]
    )
    out["sources"] = _frame([{"source": source, "ok": False, "failure": failure}], SOURCE_COLUMNS)
    return out


def verify_tables(report: pd.DataFrame, source: str) -> dict:
    """One source's verify report and its summary line."""
    meta = verify_meta()
    cues = report[report["reasons"] != "missing_cue"]
    row = {
        "source": source,
        "ok": bool(report["ok"].all()),
        "failure": None,
        "cues": len(cues),
        "cues_ok": int(cues["ok"].sum()),
        "cues_failed": int((~cues["ok"]).sum()),
        "summary": summary(report, name=source),
    }
    return {
        "report": _conform(_with_source(report, source), meta["report"]),
        "summary": _frame([row], SUMMARY_COLUMNS),
    }


def failed_verify_tables(source: str, failure: str) -> dict:
    """A source that could not be verified: its summary line says why."""
    meta = verify_meta()
    row = {"source": source, "ok": False, "failure": failure, "summary": f"{source}: {failure}"}
    return {"report": meta["report"].copy(), "summary": _frame([row], SUMMARY_COLUMNS)}
