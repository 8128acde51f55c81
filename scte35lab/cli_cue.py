"""``scte35lab decode`` and ``scte35lab encode``: cues between their forms."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scte35lab.cue import Cue
from scte35lab.errors import InputFormatError


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
    cue = Cue.decode(
        read_cue_argument(args.cue), check_crc=not args.no_crc_check, strict=not args.lenient
    )
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
