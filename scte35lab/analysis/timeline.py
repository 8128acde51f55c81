"""Timeline plots of a probed stream: frames, IDRs, audio, cue arrivals, splice points and
break spans, zooming to any cue with its IDR offset and pre-roll marked; and the per-cue
checks behind them.

The timing rules are DESIGN.md's: a cue is placed right when its splice point is the PTS of
an IDR, and it arrives (PTS of the last video frame before it) at least ``preroll`` seconds
before that point.
"""

from __future__ import annotations

import io
import logging
import os
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from scte35lab.analysis.probe import Probe, probe
from scte35lab.analysis.verify import verify

log = logging.getLogger(__name__)

DEFAULT_PREROLL = 4.0
OK = "#1a7f37"  # a cue placed right
ERROR = "#cf222e"  # a cue that breaks a timing rule
_LANES = {"video": 3.0, "audio": 2.0, "cues": 1.0}
_FRAME_COLOR = "#8c959f"
_IDR_COLOR = "#0969da"
_AUDIO_COLOR = "#bf8700"
_BREAK_COLOR = "#8250df"


_CHECK_COLUMNS = [
    "cue",
    "packet",
    "command_name",
    "kind",
    "key",
    "repeat",
    "splice_event_id",
    "segmentation_event_id",
    "out_of_network_indicator",
    "arrival_time",
    "splice_time",
    "splice_point",
    "nearest_idr_time",
    "offset_frames",
    "offset_ms",
    "preroll",
    "break_duration_seconds",
    "ok",
    "reasons",
    "detail",
]


def _identity(packet: Any, command: Any, splice_point: Any, event_id: Any) -> tuple[Any, ...]:
    """What tells a cue's verdict from another's that starts in the same packet."""

    def norm(x: Any) -> Any:
        return None if x is None or pd.isna(x) else int(x)

    name = None if command is None or pd.isna(command) else str(command)
    return int(packet), name, norm(splice_point), norm(event_id)


def cue_checks(p: Probe, *, preroll: float = DEFAULT_PREROLL) -> pd.DataFrame:
    """One row per cue copy of ``p`` (a row of ``p.cues``): when it arrived, where it
    splices and its own pre-roll, with ``verify()``'s verdict on the cue it is a copy of
    (nearest IDR, offset in frames and ms, ``ok``, ``reasons`` codes and ``detail``).

    ``repeat`` marks copies after the first: the first must arrive ``preroll`` seconds
    before the splice point, repeats only before it.
    """
    verdicts = verify(p, preroll=preroll)
    by_first = {
        _identity(r.first_packet, r.command_name, r.splice_point, r.splice_event_id): r
        for r in verdicts.itertuples()
        if not pd.isna(r.first_packet)
    }
    cues = p.cues
    keys = cues["key"].where(cues["key"].notna(), "undecodable:" + cues["base64"].astype(str))
    first_of: dict[tuple[Any, ...], int] = {}
    rows: list[dict[str, Any]] = []
    for i, c in enumerate(cues.itertuples(index=False)):
        group = (int(c.pid), keys.iloc[i], bool(c.crc_ok))
        repeat = group in first_of
        first = first_of.setdefault(group, int(c.packet))
        v = by_first.get(_identity(first, c.command_name, c.splice_point, c.splice_event_id))

        def pick(name: str, v: Any = v) -> Any:
            return None if v is None else getattr(v, name)

        rows.append(
            {
                "cue": i,
                "packet": int(c.packet),
                "command_name": c.command_name,
                "kind": pick("kind"),
                "key": keys.iloc[i],
                "repeat": repeat,
                "splice_event_id": c.splice_event_id,
                "segmentation_event_id": c.segmentation_event_id,
                "out_of_network_indicator": c.out_of_network_indicator,
                "arrival_time": c.arrival_time,
                "splice_time": c.splice_time,
                "splice_point": c.splice_point,
                "nearest_idr_time": pick("nearest_idr_time"),
                "offset_frames": pick("offset_frames"),
                "offset_ms": pick("offset_ms"),
                "preroll": c.preroll,
                "break_duration_seconds": c.break_duration_seconds,
                "ok": bool(pick("ok")) if v is not None else False,
                "reasons": pick("reasons") or "",
                "detail": pick("detail") or "",
            }
        )
    df = pd.DataFrame(rows, columns=_CHECK_COLUMNS)
    for col in ("splice_event_id", "segmentation_event_id", "splice_point"):
        df[col] = df[col].astype("Int64")
    for col in (
        "arrival_time",
        "splice_time",
        "nearest_idr_time",
        "offset_frames",
        "offset_ms",
        "preroll",
        "break_duration_seconds",
    ):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["out_of_network_indicator"] = df["out_of_network_indicator"].astype("boolean")
    df["ok"] = df["ok"].astype(bool)
    df["repeat"] = df["repeat"].astype(bool)
    df.attrs["summary"] = verdicts.attrs.get("summary", "")
    return df


def break_spans(checks: pd.DataFrame, end_time: float) -> pd.DataFrame:
    """The breaks the cues announce: ``start``, ``end``, ``closed`` (an in-cue or a duration
    ends it; otherwise it runs to ``end_time``) and a label."""
    spans: list[dict[str, Any]] = []
    seen: set[Any] = set()
    outs = checks[checks["splice_time"].notna()]
    ins = outs[outs["out_of_network_indicator"].eq(False)]
    for c in outs.itertuples(index=False):
        if c.key in seen:
            continue
        out_flag = c.out_of_network_indicator
        is_out = (not pd.isna(out_flag) and bool(out_flag)) or (
            c.command_name == "time_signal" and not pd.isna(c.break_duration_seconds)
        )
        if not is_out:
            continue
        seen.add(c.key)
        start = float(c.splice_time)
        end, closed = end_time, False
        if not pd.isna(c.splice_event_id):
            match = ins[
                (ins["splice_event_id"] == c.splice_event_id) & (ins["splice_time"] > start)
            ]
            if len(match):
                end, closed = float(match["splice_time"].min()), True
        if not closed and not pd.isna(c.break_duration_seconds):
            end, closed = start + float(c.break_duration_seconds), True
        event = c.splice_event_id if not pd.isna(c.splice_event_id) else c.segmentation_event_id
        spans.append(
            {
                "start": start,
                "end": end,
                "closed": closed,
                "label": f"{c.command_name} {event}",
            }
        )
    return pd.DataFrame(spans, columns=["start", "end", "closed", "label"])


def plot_timeline(
    source: Probe | str | os.PathLike,
    *,
    cue: int | None = None,
    preroll: float = DEFAULT_PREROLL,
    window: tuple[float, float] | None = None,
    figsize: tuple[float, float] = (11.0, 3.6),
) -> Figure:
    """The timeline figure of ``source`` (a ``Probe`` or a path to probe).

    ``cue`` zooms to that row of ``probe.cues`` (from its arrival to past its splice point)
    and annotates the offset to the nearest IDR and the pre-roll; ``window`` sets the x range
    in seconds of stream time. Cues that break a timing rule are drawn in red.
    """
    p = source if isinstance(source, Probe) else probe(source)
    checks = cue_checks(p, preroll=preroll)
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    frames = p.frames
    video = frames[(frames["role"] == "video") & frames["stream_time"].notna()]
    audio = frames[(frames["role"] == "audio") & frames["stream_time"].notna()]
    idr = video[video["keyframe"]]
    y = _LANES
    ax.vlines(
        video["stream_time"], y["video"] - 0.25, y["video"] + 0.25, color=_FRAME_COLOR, lw=0.6
    )
    ax.vlines(idr["stream_time"], y["video"] - 0.45, y["video"] + 0.45, color=_IDR_COLOR, lw=2.0)
    if len(audio):
        ax.vlines(
            audio["stream_time"], y["audio"] - 0.2, y["audio"] + 0.2, color=_AUDIO_COLOR, lw=0.5
        )
    t_end = float(video["stream_time"].max()) if len(video) else 0.0
    t_end = max([t_end, *checks["splice_time"].dropna().tolist()])
    spans = break_spans(checks, t_end)
    stacked: dict[float, int] = {}
    for s in spans.itertuples(index=False):
        level = stacked[s.start] = stacked.get(s.start, -1) + 1
        ax.axvspan(
            s.start,
            s.end,
            color=_BREAK_COLOR,
            alpha=0.12 if s.closed else 0.06,
            hatch=None if s.closed else "//",
            lw=0,
        )
        ax.text(
            s.start, 3.5 + 0.14 * level, f" {s.label}", fontsize=7, color=_BREAK_COLOR, va="bottom"
        )
    drawn: set[Any] = set()
    for c in checks.itertuples(index=False):
        color = OK if c.ok else ERROR
        if not pd.isna(c.arrival_time):
            ax.plot(
                [c.arrival_time],
                [y["cues"]],
                marker="v" if c.ok else "X",
                ms=7 if c.ok else 9,
                color=color,
                ls="none",
            )
            if not pd.isna(c.splice_time):
                ax.annotate(
                    "",
                    xy=(c.splice_time, y["cues"] + 0.3),
                    xytext=(c.arrival_time, y["cues"]),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 0.8, "alpha": 0.7},
                )
        if not pd.isna(c.splice_time) and (c.key, c.ok) not in drawn:
            drawn.add((c.key, c.ok))
            ax.axvline(
                c.splice_time, color=color, lw=1.6 if c.ok else 2.4, ls="-" if c.ok else "--"
            )
    ax.set_yticks(list(y.values()), ["video (IDR tall)", "audio", "cue arrivals"])
    ax.set_ylim(0.4, 5.3 if cue is not None else 3.95)
    ax.set_xlabel("stream time (s from the first video frame)")
    firsts = checks[~checks["repeat"]]
    bad = int((~firsts["ok"]).sum())
    title = f"{os.path.basename(p.name)}: {len(video)} video frames, {len(idr)} IDRs, "
    if len(checks):
        title += f"{len(firsts)} cue(s) in {len(checks)} copies"
        title += f", {bad} misplaced" if bad else ", all on time"
    else:
        title += "no cues"
    ax.set_title(title, fontsize=10, color=ERROR if bad else "black")
    if cue is not None:
        _zoom(ax, p, checks, cue, preroll)
    elif window is not None:
        ax.set_xlim(*window)
    else:
        ax.set_xlim(-0.2, t_end + 0.3)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(handles=_legend(), loc="outside right upper", fontsize=7, frameon=False)
    return fig


def _legend() -> list[Line2D | Patch]:
    return [
        Line2D([], [], color=_FRAME_COLOR, lw=0.8, label="video frame"),
        Line2D([], [], color=_IDR_COLOR, lw=2.0, label="IDR"),
        Line2D([], [], color=_AUDIO_COLOR, lw=0.8, label="audio frame"),
        Line2D([], [], color=OK, marker="v", ls="none", label="cue arrival (ok)"),
        Line2D([], [], color=ERROR, marker="X", ls="none", label="cue arrival (misplaced)"),
        Line2D([], [], color=OK, lw=1.6, label="splice point (ok)"),
        Line2D([], [], color=ERROR, lw=2.4, ls="--", label="splice point (misplaced)"),
        Patch(color=_BREAK_COLOR, alpha=0.15, label="break"),
        Patch(facecolor="white", edgecolor=_BREAK_COLOR, hatch="//", label="break, no end"),
    ]


def _zoom(ax: Any, p: Probe, checks: pd.DataFrame, cue: int, preroll: float) -> None:
    if not 0 <= cue < len(checks):
        raise IndexError(f"cue {cue} is not one of the {len(checks)} cue(s) of {p.name}")
    c = checks.iloc[cue]
    color = OK if c["ok"] else ERROR
    times = [t for t in (c["arrival_time"], c["splice_time"], c["nearest_idr_time"]) if t == t]
    if not times:
        return
    lo, hi = min(times), max(times)
    ax.set_xlim(lo - 0.5, hi + 0.6)
    lines = [f"cue {cue}: {c['command_name']} ({c['key']})"]
    if c["splice_time"] == c["splice_time"]:
        lines.append(f"splice point {c['splice_time']:.3f} s")
    if c["offset_ms"] == c["offset_ms"]:
        ms, frames = c["offset_ms"], c["offset_frames"]
        lines.append(
            f"offset to nearest IDR ({c['nearest_idr_time']:.3f} s): "
            f"{ms:+.0f} ms = {frames:+.2f} frames"
        )
        if ms:
            ax.annotate(
                "",
                xy=(c["nearest_idr_time"], 3.95),
                xytext=(c["splice_time"], 3.95),
                arrowprops={"arrowstyle": "<->", "color": color, "lw": 1.5},
            )
    if c["preroll"] == c["preroll"]:
        ax.annotate(
            "",
            xy=(c["splice_time"], 0.6),
            xytext=(c["arrival_time"], 0.6),
            arrowprops={"arrowstyle": "<->", "color": color, "lw": 1.5},
        )
        ax.text(
            (c["arrival_time"] + c["splice_time"]) / 2,
            0.66,
            f"pre-roll {c['preroll']:.2f} s (min {preroll:g} s)",
            ha="center",
            fontsize=8,
            color=color,
        )
        lines.append(f"pre-roll {c['preroll']:.3f} s (min {preroll:g} s)")
    lines.append("OK" if c["ok"] else f"MISPLACED ({c['reasons']}): {c['detail']}")
    ax.text(
        0.01,
        0.98,
        "\n".join(lines),
        transform=ax.transAxes,
        va="top",
        fontsize=8,
        color=color,
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": color},
    )


def figure_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
