"""``probe_playlist()``: every form of SCTE-35 signalling in an HLS playlist, as a table.

Read: ``#EXT-X-DATERANGE`` (``SCTE35-OUT/IN/CMD``), ``#EXT-X-CUE-OUT`` / ``-CONT`` /
``#EXT-X-CUE-IN``, ``#EXT-OATCLS-SCTE35``, ``#EXT-X-SCTE35`` and the ``#EXT-X-CUE`` /
``#EXT-X-CUE-CONT`` dialect (``TYPE=SpliceOut|SpliceIn``, ``ID``, ``DURATION``, ``TIME`` - the
splice PTS in seconds - and ``CUE``, values quoted or not, as Adobe Primetime and others
write them). One row per signal, with probe's cue columns where a section is carried, the
segment it is on, and where it is signalled against where its splice point actually is on
the playlist timeline. A damaged tag becomes a row with ``problem`` set, and a line in the
table's ``.warnings``, as does every SCTE-35-looking tag this reader does not know
(``#EXT-SCTE35``, a misspelling seen in the field, is read as ``#EXT-X-SCTE35`` and said).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from scte35lab.clock import PTS_HZ, PTS_WRAP, pts_diff
from scte35lab.cue import Cue
from scte35lab.errors import Scte35Error, StreamError
from scte35lab.manifest.common import cue_fields, decode_payload, fetch, resolve, table
from scte35lab.manifest.segment import classify
from scte35lab.ts.scan import Scanner
from scte35lab.ts.streamzero import stream_zero

log = logging.getLogger(__name__)

_SCTE_LOOKING = re.compile(r"SCTE|CUE|OATCLS|SPLICE", re.IGNORECASE)
_ALIASES = {"EXT-SCTE35": "EXT-X-SCTE35"}
_ATTR = re.compile(r'\s*([A-Za-z0-9_\-]+)\s*=\s*("[^"]*"|[^,]*)\s*(?:,|$)')
TOLERANCE = 0.0015  # seconds: tags carry milliseconds


def parse_attributes(text: str) -> tuple[dict[str, str], str | None]:
    """An HLS attribute list as a dict (quotes removed) and an error for what did not parse."""
    attrs: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _ATTR.match(text, pos)
        if m is None or m.end() == pos:
            return attrs, f"unparsable attribute list at {text[pos : pos + 30]!r}"
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        attrs[m.group(1).upper()] = value
        pos = m.end()
    return attrs, None


def parse_date(text: str) -> datetime:
    value = text.strip().strip('"')
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.fromisoformat(value)


@dataclass
class _Seg:
    index: int
    uri: str
    start: float
    duration: float
    pdt: datetime | None


@dataclass
class _Tag:
    line: int
    name: str
    value: str
    segment: int  # index of the segment the tag stands before


@dataclass
class Playlist:
    """A parsed media playlist: segments on its own timeline and the tags before them."""

    source: str
    segments: list[_Seg] = field(default_factory=list)
    tags: list[_Tag] = field(default_factory=list)
    unknown: list[_Tag] = field(default_factory=list)  # SCTE-35-looking tags not read
    media_sequence: int = 0
    variants: list[str] = field(default_factory=list)

    @property
    def end(self) -> float:
        return self.segments[-1].start + self.segments[-1].duration if self.segments else 0.0

    def time_of_date(self, when: datetime) -> float | None:
        """Playlist time of a date, through the nearest ``#EXT-X-PROGRAM-DATE-TIME``."""
        best: _Seg | None = None
        for s in self.segments:
            if s.pdt is None:
                continue
            if best is None or s.pdt <= when:
                best = s
            if s.pdt > when:
                break
        if best is None:
            return None
        return best.start + (when - best.pdt).total_seconds()

    def segment_at(self, t: float | None) -> int | None:
        if t is None:
            return None
        for s in self.segments:
            if s.start - TOLERANCE <= t < s.start + s.duration - TOLERANCE:
                return s.index
        return len(self.segments) - 1 if self.segments and t >= self.end - TOLERANCE else None


SCTE_TAGS = (
    "EXT-X-DATERANGE",
    "EXT-X-CUE-OUT",
    "EXT-X-CUE-OUT-CONT",
    "EXT-X-CUE-IN",
    "EXT-OATCLS-SCTE35",
    "EXT-X-SCTE35",
    "EXT-X-CUE",
    "EXT-X-CUE-CONT",
)


def parse_playlist(text: str, source: str = "<text>") -> Playlist:
    """Segments and tags of a media playlist (a multivariant one lists its variants)."""
    lines = text.splitlines()
    if not lines or lines[0].lstrip("\ufeff").strip() != "#EXTM3U":
        raise StreamError(f"{source}: not an HLS playlist (first line is not #EXTM3U)")
    pl = Playlist(source)
    t = 0.0
    duration: float | None = None
    pdt: datetime | None = None
    last: _Seg | None = None
    stream_inf = False
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            name, _, value = line[1:].partition(":")
            if name == "EXTINF":
                try:
                    duration = float(value.split(",", 1)[0])
                except ValueError:
                    duration = 0.0
                    pl.tags.append(_Tag(n, "EXTINF", value, len(pl.segments)))
            elif name == "EXT-X-MEDIA-SEQUENCE":
                try:
                    pl.media_sequence = int(value)
                except ValueError:
                    log.warning("%s:%d: bad EXT-X-MEDIA-SEQUENCE %r", source, n, value)
            elif name == "EXT-X-PROGRAM-DATE-TIME":
                try:
                    pdt = parse_date(value)
                except ValueError:
                    pl.tags.append(_Tag(n, name, value, len(pl.segments)))
            elif name == "EXT-X-STREAM-INF":
                stream_inf = True
            elif name == "EXT-X-DISCONTINUITY":
                last = None  # dates do not carry over a discontinuity
            elif name in SCTE_TAGS or name in _ALIASES:
                pl.tags.append(_Tag(n, name, value, len(pl.segments)))
            elif _SCTE_LOOKING.search(name):
                pl.unknown.append(_Tag(n, name, value, len(pl.segments)))
            continue
        if stream_inf:
            pl.variants.append(resolve(source, line))
            stream_inf = False
            continue
        d = duration if duration is not None else 0.0
        if pdt is None and last is not None and last.pdt is not None:
            from datetime import timedelta

            pdt = last.pdt + timedelta(seconds=last.duration)
        seg = _Seg(len(pl.segments), line, t, d, pdt)
        pl.segments.append(seg)
        last = seg
        t += d
        duration = None
        pdt = None
    return pl


def probe_playlist(path_or_url: str | os.PathLike, *, media: bool = True) -> pd.DataFrame:
    """Every SCTE-35 signal in an HLS playlist (a multivariant playlist: in each variant).

    ``media=True`` reads the first segment to place splice PTS on the playlist timeline,
    which gives ``actual_time`` and ``position_error`` (signalled minus actual, seconds).
    """
    source = os.fspath(path_or_url) if not isinstance(path_or_url, str) else path_or_url
    text = fetch(source).decode("utf-8-sig", errors="replace")
    pl = parse_playlist(text, source)
    if pl.variants:
        frames = [probe_playlist(v, media=media) for v in pl.variants]
        return pd.concat(frames, ignore_index=True) if frames else table([])
    first_pts = _first_pts(pl) if media else None
    reader = _Reader(pl, first_pts)
    rows = reader.rows()
    return table(rows, reader.warnings)


def _first_pts(pl: Playlist) -> int | None:
    if not pl.segments:
        return None
    try:
        data = fetch(resolve(pl.source, pl.segments[0].uri))
        zero = stream_zero(Scanner().scan(data))
    except (Scte35Error, OSError) as exc:
        log.warning("cannot read the first segment for PTS: %s", exc)
        return None
    return None if zero is None else zero[1]


class _Reader:
    def __init__(self, pl: Playlist, first_pts: int | None) -> None:
        self.pl = pl
        self.first_pts = first_pts
        self.out: list[dict[str, Any]] = []
        self.ranges: dict[str, dict[str, str]] = {}
        self.open_break: dict[str, Any] | None = None
        self.warnings: list[dict[str, Any]] = []

    def warn(self, tag: _Tag, problem: str) -> None:
        """Say that ``tag`` carries something that could not be read."""
        entry = {"source": self.pl.source, "line": tag.line, "tag": tag.name, "problem": problem}
        if entry not in self.warnings:
            self.warnings.append(entry)

    def actual(self, splice_point: Any) -> float | None:
        if self.first_pts is None or splice_point is None or pd.isna(splice_point):
            return None
        start = self.pl.segments[0].start if self.pl.segments else 0.0
        return start + pts_diff(int(splice_point), self.first_pts) / PTS_HZ

    def seg_start(self, index: int) -> float:
        if index < len(self.pl.segments):
            return self.pl.segments[index].start
        return self.pl.end

    def row(self, tag: _Tag, kind: str, section: bytes | None = None, **extra: Any) -> dict:
        """Append one result row; a ``cont`` row repeats its break's OUT section, so its
        splice point is the break start and no position error is judged on it."""
        row: dict[str, Any] = {
            "source": self.pl.source,
            "tag": tag.name,
            "line": tag.line,
            "kind": kind,
            "segment": tag.segment + self.pl.media_sequence,
            "uri": self.pl.segments[tag.segment].uri
            if tag.segment < len(self.pl.segments)
            else None,
            "segment_start": self.seg_start(tag.segment),
        }
        row.update(cue_fields(section))
        row.update({k: v for k, v in extra.items() if v is not None})
        if row.get("signalled_time") is None:
            row["signalled_time"] = row["segment_start"]
        if row.get("actual_time") is None:
            row["actual_time"] = self.actual(row.get("splice_point"))
        if row.get("splice_point") is not None and self.first_pts is not None:
            row["splice_time"] = row["actual_time"]
        if kind == "cont":
            row["position_error"] = None
        elif row.get("actual_time") is not None and row.get("signalled_time") is not None:
            row["position_error"] = row["signalled_time"] - row["actual_time"]
            if abs(row["position_error"]) > TOLERANCE and not row.get("problem"):
                row["problem"] = (
                    f"signalled at {row['signalled_time']:.3f} s, splice point at "
                    f"{row['actual_time']:.3f} s"
                )
        said = any(w["line"] == tag.line for w in self.warnings)
        if row.get("decode_error") and not said:
            self.warn(tag, f"cue does not decode: {row['decode_error']}")
        elif kind == "damaged" and not said:
            self.warn(tag, row.get("problem") or "no readable cue")
        self.out.append(row)
        return row

    def rows(self) -> list[dict[str, Any]]:
        for tag in self.pl.unknown:
            self.warn(tag, "SCTE-35-looking tag this reader does not know: not read")
        for tag in self.pl.tags:
            name = _ALIASES.get(tag.name, tag.name)
            handler = getattr(self, "_" + name.replace("-", "_").lower(), None)
            if handler is None:
                self.row(tag, "damaged", problem=f"malformed {tag.name}: {tag.value!r}")
                continue
            try:
                handler(tag)
            except (ValueError, KeyError) as exc:
                self.row(tag, "damaged", problem=f"malformed {tag.name}: {exc}")
            if name != tag.name:
                self.warn(tag, f"not a known tag name: read as #{name}")
        return self.out

    # ------------------------------------------------------------ DATERANGE

    def _ext_x_daterange(self, tag: _Tag) -> None:
        attrs, err = parse_attributes(tag.value)
        rid = attrs.get("ID")
        merged = dict(self.ranges.get(rid, {})) if rid else {}
        merged.update(attrs)
        if rid:
            self.ranges[rid] = merged
        problems = [err] if err else []
        if not rid:
            problems.append("DATERANGE without ID")
        start = end = None
        try:
            if "START-DATE" in merged:
                start = self.pl.time_of_date(parse_date(merged["START-DATE"]))
            else:
                problems.append("DATERANGE without START-DATE")
            if "END-DATE" in attrs:
                end = self.pl.time_of_date(parse_date(attrs["END-DATE"]))
        except ValueError as exc:
            problems.append(f"bad date: {exc}")
        duration = _float(attrs.get("DURATION"))
        planned = _float(attrs.get("PLANNED-DURATION"))
        found = False
        for attr, kind in (("SCTE35-OUT", "out"), ("SCTE35-IN", "in"), ("SCTE35-CMD", "cmd")):
            if attr not in attrs:
                continue
            found = True
            section, perr = decode_payload(attrs[attr], hexadecimal=True)
            if perr:
                self.warn(tag, f"{attr}: {perr}")
            when = start
            if kind == "in":
                if end is not None:
                    when = end
                elif start is not None and duration is not None:
                    when = start + duration
            msgs = problems + ([f"{attr}: {perr}"] if perr else [])
            self.row(
                tag,
                kind,
                section,
                id=rid,
                signalled_time=when,
                segment=None if when is None else _plus(self.pl.segment_at(when), self.pl),
                signalled_duration=planned if planned is not None else duration,
                decode_error=perr,
                problem="; ".join(msgs) or None,
            )
        if err:
            self.warn(tag, err)
        if not found and problems:
            self.row(tag, "damaged", id=rid, problem="; ".join(problems))

    # ------------------------------------------------------- CUE-OUT family

    def _ext_x_cue_out(self, tag: _Tag) -> None:
        attrs, _ = parse_attributes(tag.value) if "=" in tag.value else ({}, None)
        text = attrs.get("DURATION", tag.value.split(",")[0] if "=" not in tag.value else "")
        duration = _float(text) if text else None
        problem = None
        if text and duration is None:
            problem = f"bad CUE-OUT duration {text!r}"
            self.warn(tag, problem)
        if self.open_break is not None:
            problem = "CUE-OUT inside an open break (no CUE-IN before it)"
        start = self.seg_start(tag.segment)
        self.open_break = {"start": start, "duration": duration}
        self.row(tag, "out", signalled_duration=duration, problem=problem)

    def _ext_x_cue_out_cont(self, tag: _Tag) -> None:
        value = tag.value
        section = None
        perr = None
        if "=" in value:
            attrs, err = parse_attributes(value)
            elapsed = _float(attrs.get("ELAPSEDTIME"))
            duration = _float(attrs.get("DURATION"))
            if "SCTE35" in attrs:
                section, perr = decode_payload(attrs["SCTE35"])
        else:  # the "elapsed/duration" form
            err = None
            a, _, b = value.partition("/")
            elapsed, duration = _float(a), _float(b)
        problems = [p for p in (err, perr) if p]
        for p in problems:
            self.warn(tag, p)
        brk = self.open_break
        start = self.seg_start(tag.segment)
        if brk is None:
            problems.append("CUE-OUT-CONT without a CUE-OUT before it")
        else:
            expect = start - brk["start"]
            if elapsed is None or abs(elapsed - expect) > TOLERANCE:
                problems.append(f"ElapsedTime {elapsed} but the break began {expect:.3f} s before")
            if brk["duration"] is not None and (
                duration is None or abs(duration - brk["duration"]) > TOLERANCE
            ):
                problems.append(f"Duration {duration} but CUE-OUT said {brk['duration']}")
        self.row(
            tag,
            "cont",
            section,
            elapsed=elapsed,
            signalled_duration=duration,
            decode_error=perr,
            actual_time=None,
            problem="; ".join(problems) or None,
        )

    def _ext_x_cue_in(self, tag: _Tag) -> None:
        brk = self.open_break
        start = self.seg_start(tag.segment)
        problem = None
        if brk is None:
            problem = "CUE-IN without a CUE-OUT before it"
        elif brk["duration"] is not None:
            due = brk["start"] + brk["duration"]
            if abs(start - due) > TOLERANCE:
                problem = f"CUE-IN at {start:.3f} s but the CUE-OUT duration ends it at {due:.3f} s"
        self.open_break = None
        self.row(tag, "in", problem=problem)

    # ------------------------------------------------------ sections alone

    def _ext_oatcls_scte35(self, tag: _Tag) -> None:
        section, err = decode_payload(tag.value, hexadecimal=False)
        if err:
            self.warn(tag, err)
        self.row(tag, _kind(section), section, decode_error=err, problem=err)

    def _ext_x_scte35(self, tag: _Tag) -> None:
        attrs, err = parse_attributes(tag.value)
        section, perr = (None, None)
        if "CUE" in attrs:
            section, perr = decode_payload(attrs["CUE"])
        kind = _kind(section)
        if attrs.get("CUE-OUT", "").upper() == "YES":
            kind = "out"
        elif attrs.get("CUE-OUT", "").upper() == "CONT":
            kind = "cont"
        elif attrs.get("CUE-IN", "").upper() == "YES" or attrs.get("CUE-OUT", "").upper() == "NO":
            kind = "in"
        problems = [p for p in (err, perr) if p]
        if "CUE" not in attrs:
            problems.append("EXT-X-SCTE35 without CUE")
        for p in problems:
            self.warn(tag, p)
        self.row(
            tag,
            kind,
            section,
            id=attrs.get("ID"),
            elapsed=_float(attrs.get("ELAPSED")),
            signalled_duration=_float(attrs.get("DURATION")),
            decode_error=perr,
            problem="; ".join(problems) or None,
        )

    def _ext_x_cue(self, tag: _Tag) -> None:
        """``#EXT-X-CUE:TYPE=SpliceOut,ID=1,DURATION=30,TIME=266.198[,CUE=...]``: TIME is the
        splice PTS in seconds; without a section it becomes the row's ``pts_time``."""
        attrs, err = parse_attributes(tag.value)
        section, perr = (None, None)
        if "CUE" in attrs:
            section, perr = decode_payload(attrs["CUE"])
        kinds = {"SPLICEOUT": "out", "SPLICEIN": "in", "SPLICEINSERT": "out"}
        kind_text = attrs.get("TYPE", "").strip().upper()
        problems = [p for p in (err, perr) if p]
        duration = _float(attrs.get("DURATION"))
        if kind_text in kinds:
            kind = kinds[kind_text]
        elif section is not None:
            kind = _kind(section)
        else:
            kind = "out" if duration else "cmd"
        if kind_text and kind_text not in kinds:
            problems.append(f"unknown TYPE {attrs['TYPE']!r}")
        when = _float(attrs.get("TIME"))
        if "TIME" in attrs and when is None:
            problems.append(f"bad TIME {attrs['TIME']!r}")
        elif when is None and section is None:
            problems.append("EXT-X-CUE without TIME or CUE: no splice time")
        for p in problems:
            self.warn(tag, p)
        extra: dict[str, Any] = {}
        if when is not None:
            pts = round(when * PTS_HZ) % PTS_WRAP
            point = cue_fields(section).get("splice_point") if section is not None else None
            if section is None:
                extra = {"pts_time": pts, "pts_adjustment": 0, "splice_point": pts}
            elif point is not None and pts_diff(int(point), pts) != 0:
                problems.append(
                    f"TIME={when:.6f} s but the cue's splice point is {int(point) / PTS_HZ:.6f} s"
                )
        self.row(
            tag,
            kind,
            section,
            id=attrs.get("ID"),
            signalled_duration=duration,
            decode_error=perr,
            problem="; ".join(problems) or None,
            **extra,
        )

    def _ext_x_cue_cont(self, tag: _Tag) -> None:
        attrs, err = parse_attributes(tag.value)
        if err:
            self.warn(tag, err)
        self.row(
            tag,
            "cont",
            id=attrs.get("ID"),
            elapsed=_float(attrs.get("AVAIL-DUR-ELAPSED")),
            problem=err,
        )

    def _extinf(self, tag: _Tag) -> None:
        self.row(tag, "damaged", problem=f"bad EXTINF duration {tag.value!r}")

    def _ext_x_program_date_time(self, tag: _Tag) -> None:
        self.row(tag, "damaged", problem=f"bad EXT-X-PROGRAM-DATE-TIME {tag.value!r}")


def _kind(section: bytes | None) -> str:
    if section is None:
        return "damaged"
    try:
        return classify(Cue.decode(section, check_crc=False))[0]
    except Scte35Error:
        return "damaged"


def _plus(index: int | None, pl: Playlist) -> int | None:
    return None if index is None else index + pl.media_sequence


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(str(text).strip().strip('"'))
    except ValueError:
        return None
