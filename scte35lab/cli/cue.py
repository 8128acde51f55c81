"""``scte35lab decode`` and ``scte35lab encode``: cues between their forms.

``decode @capture.ts`` (a whole transport stream) finds the SCTE-35 PID through the PAT and
PMT and prints the distinct cues on it as a JSON list (each with ``pid``, ``packet`` of its
first copy and ``copies``); with no cue, or cues in more than one program, it says in one
line to use ``probe``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scte35lab.analysis import probe
from scte35lab.cue import Cue
from scte35lab.errors import InputFormatError, Scte35Error
from scte35lab.inputkind import sniff


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``decode`` and ``encode``."""
    p = sub.add_parser("decode", help="decode a cue (base64, hex, @file or -) to JSON")
    p.add_argument("cue", help="base64, hex (0x optional), @FILE (binary, TS or text), or -")
    p.add_argument("--xml", action="store_true", help="print SCTE 35 XML instead of JSON")
    p.add_argument("--no-crc-check", action="store_true", help="decode despite a bad CRC_32")
    p.add_argument(
        "--lenient",
        action="store_true",
        help="decode what breaks the syntax too: keep the rest as bytes, list the problems",
    )
    p.add_argument(
        "--validate",
        action="store_true",
        help="also list what a receiver would trip on (exit 1 if anything)",
    )
    p.set_defaults(func=decode_command)

    p = sub.add_parser("encode", help="encode a cue from a JSON or XML file (or -)")
    p.add_argument("source", help="JSON or XML file, or - for standard input")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--hex", action="store_true", help="print hex instead of base64")
    form.add_argument("--xml", action="store_true", help="print SCTE 35 XML")
    form.add_argument("--xml-binary", action="store_true", help="print <Signal><Binary> XML")
    p.set_defaults(func=encode_command)


def read_cue_argument(text: str) -> bytes | str:
    """A cue argument as given: literal text, ``@FILE`` contents, or ``-`` for stdin."""
    if text == "-":
        data = sys.stdin.buffer.read()
    elif text.startswith("@"):
        data = Path(text[1:]).read_bytes()
    else:
        return text
    if data[:1] in (b"\xfc", b"\x47"):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFormatError("input is neither a section, TS packets nor text") from exc


def decode_command(args: argparse.Namespace) -> int:
    data = read_cue_argument(args.cue)
    if isinstance(data, bytes) and sniff(data).is_ts:
        found = capture_cues(data, args.cue[1:] if args.cue.startswith("@") else "stdin")
        if found is not None:
            return _print_capture_cues(found, args)
    cue = Cue.decode(data, check_crc=not args.no_crc_check, strict=not args.lenient)
    if args.xml:
        print(cue.to_xml())
    else:
        out = cue.to_dict()
        if args.validate:
            out["problems"] = cue.validate()
        print(json.dumps(out, indent=2))
    if args.validate and cue.validate():
        return 1
    return 0


def capture_cues(data: bytes, name: str) -> list[dict] | None:
    """The distinct cues on the SCTE-35 PID(s) of one program of a capture, first copy
    first; None when there is no PAT/PMT at all (bare packets: decoded as one cue)."""

    p = probe(data, progress=False)
    scte = p.pids[p.pids["role"] == "scte35"]
    if not len(scte):
        if not p.pids["program_number"].notna().any():
            return None
        raise InputFormatError(
            f"{name} is MPEG-TS with no SCTE-35 PID in its PMT: use "
            f"`scte35lab probe {name} --table pids` to see what it carries"
        )
    programs = sorted({int(n) for n in scte["program_number"].dropna()})
    if len(programs) > 1:
        where = ", ".join(
            f"PID {int(r.pid)} (program {r.program_number})" for r in scte.itertuples()
        )
        raise InputFormatError(
            f"{name} carries SCTE-35 in {len(programs)} programs ({where}): use "
            f"`scte35lab probe {name} --pid N` to read one"
        )
    cues = p.cues
    if not len(cues):
        raise InputFormatError(
            f"{name} has an SCTE-35 PID ({', '.join(str(int(x)) for x in scte['pid'])}) but no "
            f"cue on it: use `scte35lab probe {name} --table pids` to see what it carries"
        )
    out: dict[tuple[int, str], dict] = {}
    for row in cues.itertuples():
        key = (int(row.pid), row.base64)
        if key in out:
            out[key]["copies"] += 1
        else:
            out[key] = {
                "pid": int(row.pid),
                "packet": int(row.packet),
                "copies": 1,
                "base64": row.base64,
            }
    return list(out.values())


def _print_capture_cues(found: list[dict], args: argparse.Namespace) -> int:
    """Print the cues of a capture: a JSON list (or one XML document per cue)."""
    decoded = []
    for item in found:
        try:
            cue = Cue.decode(item["base64"], check_crc=not args.no_crc_check)
        except Scte35Error as exc:
            raise InputFormatError(
                f"cue at packet {item['packet']} (PID {item['pid']}): {exc}"
                + ("" if args.no_crc_check else " (--no-crc-check decodes it anyway)")
            ) from exc
        decoded.append((item, cue))
    if args.xml:
        for _, cue in decoded:
            print(cue.to_xml())
        return 0
    out = []
    bad = False
    for item, cue in decoded:
        entry = {"pid": item["pid"], "packet": item["packet"], "copies": item["copies"]}
        entry.update(cue.to_dict())
        if args.validate:
            entry["problems"] = cue.validate()
            bad = bad or bool(entry["problems"])
        out.append(entry)
    print(json.dumps(out, indent=2))
    return 1 if bad else 0


def encode_command(args: argparse.Namespace) -> int:
    source = args.source
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    cue = Cue.decode(text)
    if args.hex:
        print(cue.to_hex())
    elif args.xml:
        print(cue.to_xml())
    elif args.xml_binary:
        print(cue.to_xml(binary=True))
    else:
        print(cue.to_base64())
    return 0
