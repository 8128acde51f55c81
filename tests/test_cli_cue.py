"""``scte35lab decode`` and ``encode`` as a user runs them: real processes, real output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SPLICE_INSERT = "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo="


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scte35lab", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_decode_prints_json_with_the_standards_names() -> None:
    out = run("decode", SPLICE_INSERT)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["splice_command"]["splice_event_id"] == 1207959695


def test_decode_reads_hex_and_files(tmp_path: Path) -> None:
    import base64

    raw = base64.b64decode(SPLICE_INSERT)
    (tmp_path / "cue.bin").write_bytes(raw)
    for arg in ("0x" + raw.hex(), raw.hex(), f"@{tmp_path / 'cue.bin'}"):
        out = run("decode", arg)
        assert out.returncode == 0 and json.loads(out.stdout)["splice_command_type"] == 5


def test_encode_reads_json_and_prints_base64_hex_or_xml(tmp_path: Path) -> None:
    js = run("decode", SPLICE_INSERT).stdout
    (tmp_path / "cue.json").write_text(js)
    assert run("encode", str(tmp_path / "cue.json")).stdout.strip() == SPLICE_INSERT
    assert run("encode", "-", stdin=js).stdout.strip() == SPLICE_INSERT
    assert run("encode", "--hex", "-", stdin=js).stdout.strip().startswith("0xfc302f")


def test_bad_input_is_one_line_on_stderr_and_exit_2() -> None:
    for args in (
        ("decode", "/DAvAAAAAAAA///wFAVIAACPf"),
        ("decode", "hello world"),
        ("decode", "@/nonexistent/cue.bin"),
        ("encode", "/nonexistent.json"),
        ("decode", SPLICE_INSERT[:-4] + "AAA="),
    ):
        out = run(*args)
        assert out.returncode == 2, args
        assert out.stdout == ""
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
        assert "Traceback" not in out.stderr


def test_unknown_command_is_a_usage_error_with_exit_2() -> None:
    out = run("frobnicate")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_decode_lenient_shows_a_cue_strict_decoding_refuses() -> None:
    import base64

    from scte35lab.cue import crc32_mpeg2

    raw = bytearray(base64.b64decode(SPLICE_INSERT)[:-4] + b"\xff\xff")  # stuffing in the loop
    raw[1:3] = ((raw[1] & 0xF0) << 8 | (len(raw) + 4 - 3)).to_bytes(2, "big")
    raw[34:36] = (int.from_bytes(raw[34:36], "big") + 2).to_bytes(2, "big")
    data = bytes(raw) + crc32_mpeg2(bytes(raw)).to_bytes(4, "big")
    cue = base64.b64encode(data).decode()
    strict = run("decode", cue)
    assert strict.returncode == 2 and "descriptor_length" in strict.stderr
    out = run("decode", "--lenient", cue)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["descriptor_loop_rest"] == "0xffff"
    assert any("descriptor_length" in p for p in d["problems"])
    assert d["descriptors"][0]["provider_avail_id"] == 309
