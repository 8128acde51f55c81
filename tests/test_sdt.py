"""The SDT (ETSI EN 300 468 5.2.3): one declaration parsed and built, and the ServiceNamer
stage that gives every service the caller's name and provider.

Inputs are real FFmpeg encodes (160x90, a few seconds); outputs are read back with the real
ffprobe, scte35lab's probe and the SDT parser.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from scte35lab import probe
from scte35lab.errors import CrcError
from scte35lab.live.seam import SeamMarker
from scte35lab.ts.packets import TS_PACKET_SIZE
from scte35lab.ts.psi import Pat
from scte35lab.ts.sdt import (
    SDT_PID,
    SERVICE_DESCRIPTOR_TAG,
    Sdt,
    SdtService,
    ServiceDescriptor,
    ServiceNamer,
    decode_string,
    encode_string,
)
from scte35lab.ts.sections import SectionAssembler

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"
FFMPEG = shutil.which("ffmpeg")
FFPROBE = shutil.which("ffprobe")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None or FFPROBE is None, reason="needs ffmpeg")
NULL = bytes([0x47, 0x1F, 0xFF, 0x10]) + b"\xff" * 184


def encode(path: Path, *, seconds: float = 4, extra: tuple[str, ...] = ()) -> Path:
    cmd = [
        FFMPEG, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", "25",
        "-b:v", "100k", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k", "-ac", "1",
        *extra, "-f", "mpegts", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def pid_of(p: bytes) -> int:
    return ((p[1] & 0x1F) << 8) | p[2]


def packets(data: bytes) -> list[bytes]:
    return [data[i : i + TS_PACKET_SIZE] for i in range(0, len(data), TS_PACKET_SIZE)]


def without_sdt(data: bytes, *, as_null: bool) -> bytes:
    """FFmpeg always writes an SDT: take it out (dropped, or null packets in its place)."""
    return b"".join(
        (NULL if as_null else b"") if pid_of(p) == SDT_PID else p for p in packets(data)
    )


def sections(data: bytes, pid: int) -> list[bytes]:
    asm = SectionAssembler()
    out = []
    for p in packets(data):
        if pid_of(p) != pid or not p[3] & 0x10:
            continue
        start = 4 if not p[3] & 0x20 else 5 + p[4]
        out += asm.push(p[start:], bool(p[1] & 0x40))
    return out


def run(namer: ServiceNamer, data: bytes, chunk: int = 3001) -> bytes:
    out = [namer.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    return b"".join(out) + namer.flush()


def ffprobe_programs(path: Path) -> list[dict]:
    done = subprocess.run(
        [FFPROBE, "-v", "error", "-show_programs", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)["programs"]


def error_counts(data: bytes) -> dict[str, int]:
    return probe(data).errors["type"].value_counts().to_dict()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    if FFMPEG is None:
        pytest.skip("needs ffmpeg")
    d = tmp_path_factory.mktemp("sdt")
    return {
        "dir": d,
        "vbr": encode(d / "vbr.ts").read_bytes(),
        "cbr": encode(d / "cbr.ts", extra=("-muxrate", "400k")).read_bytes(),
    }


# ----------------------------------------------------------------------------- the table


def test_an_sdt_builds_and_parses_back_with_other_descriptors_kept():
    other = (0x5D, b"\x01\x02\x03")  # multilingual_service_name_descriptor bytes, opaque
    sdt = Sdt(
        transport_stream_id=0x1234,
        original_network_id=0xFF01,
        services=[
            SdtService(7, eit_present_following_flag=True, descriptors=[other]),
            SdtService(9, running_status=1, free_ca_mode=True),
        ],
        version_number=30,
    ).named("Zwölf", "ACME")
    section = sdt.build()
    back = Sdt.parse(section)
    assert back == sdt
    assert back.services[0].descriptors[1] == other
    assert back.services[0].service_descriptor == ServiceDescriptor(1, "ACME", "Zwölf")
    assert [s.service_id for s in back.services] == [7, 9]


def test_a_corrupt_sdt_is_refused_by_its_crc():
    section = bytearray(Sdt(1, 2, [SdtService(1)]).named("x").build())
    section[12] ^= 0x01
    with pytest.raises(CrcError):
        Sdt.parse(bytes(section))


def test_ascii_is_written_in_the_default_table_and_anything_else_as_utf8():
    assert encode_string("Service01") == b"Service01"
    assert encode_string("Zwölf") == b"\x15" + "Zwölf".encode()
    for s in ("Kanal Zwölf", "東京 テレビ", "Ελληνικά", ""):
        assert decode_string(encode_string(s)) == s
    assert decode_string(b"\x05caf\xe9") == "café"  # 0x05: ISO/IEC 8859-9


def test_non_ascii_names_round_trip_through_the_parser():
    name, provider = "Kanal Zwölf – 東京", "Fernsehgesellschaft Müller"
    section = Sdt(1, 0xFF01, [SdtService(1)]).named(name, provider).build()
    d = Sdt.parse(section).services[0].service_descriptor
    assert (d.service_name, d.service_provider_name) == (name, provider)


# ----------------------------------------------------------------------------- the stage


@needs_ffmpeg
def test_ffprobe_reports_the_new_service_name_and_provider(media):
    out = run(ServiceNamer("Lab Channel", "scte35lab"), media["vbr"])
    path = media["dir"] / "named.ts"
    path.write_bytes(out)
    (prog,) = ffprobe_programs(path)
    assert prog["tags"]["service_name"] == "Lab Channel"
    assert prog["tags"]["service_provider"] == "scte35lab"
    assert len(out) == len(media["vbr"])  # each section replaced where it stood


@needs_ffmpeg
def test_non_ascii_names_reach_ffprobe_and_the_parser(media):
    name = "Kanal Zwölf – 東京"
    out = run(ServiceNamer(name, "Müller TV"), media["vbr"])
    path = media["dir"] / "utf8.ts"
    path.write_bytes(out)
    (prog,) = ffprobe_programs(path)
    assert (prog["tags"]["service_name"], prog["tags"]["service_provider"]) == (name, "Müller TV")
    for s in sections(out, SDT_PID):
        d = Sdt.parse(s).services[0].service_descriptor
        assert (d.service_name, d.service_provider_name) == (name, "Müller TV")


@needs_ffmpeg
def test_the_output_has_no_new_continuity_or_crc_errors(media):
    before = error_counts(media["vbr"])
    out = run(ServiceNamer("Lab Channel", "scte35lab"), media["vbr"], chunk=777)
    after = error_counts(out)
    for kind in ("cc_error", "crc_error"):
        assert after.get(kind, 0) == before.get(kind, 0)
    found = sections(out, SDT_PID)
    assert len(found) >= 4
    for s in found:
        Sdt.parse(s)  # CRC checked


@needs_ffmpeg
def test_the_version_goes_up_once_when_the_names_change_it(media):
    src = {Sdt.parse(s).version_number for s in sections(media["vbr"], SDT_PID)}
    out = run(ServiceNamer("Lab Channel"), media["vbr"])
    got = [Sdt.parse(s) for s in sections(out, SDT_PID)]
    assert src == {0}
    assert {s.version_number for s in got} == {1}
    ids = {(s.transport_stream_id, s.original_network_id) for s in got}
    assert ids == {(1, 0xFF01)}  # FFmpeg's own ids kept


@needs_ffmpeg
def test_names_that_change_nothing_keep_the_input_version(media):
    out = run(ServiceNamer("Service01", "FFmpeg"), media["vbr"])
    assert {Sdt.parse(s).version_number for s in sections(out, SDT_PID)} == {0}
    assert sections(out, SDT_PID) == sections(media["vbr"], SDT_PID)


def test_every_service_of_a_two_program_stream_is_named():
    data = (SAMPLES / "two_programs.ts").read_bytes()
    services = [s for sec in sections(data, SDT_PID) for s in Sdt.parse(sec).services]
    assert len({s.service_id for s in services}) == 2
    out = run(ServiceNamer("One Name", "P"), data)
    for sec in sections(out, SDT_PID):
        got = Sdt.parse(sec).services
        assert len(got) == 2
        assert {(s.service_descriptor.service_name, s.service_descriptor.service_provider_name)
                for s in got} == {("One Name", "P")}  # fmt: skip


@needs_ffmpeg
def test_a_stream_without_an_sdt_gets_one_about_every_500_ms(media):
    bare = without_sdt(media["vbr"], as_null=False)
    assert sections(bare, SDT_PID) == []
    namer = ServiceNamer("Lab Channel", "scte35lab")
    out = run(namer, bare)
    found = sections(out, SDT_PID)
    # 4 s of PCR: the first after 0.5 s, then every 0.5 s
    assert 6 <= len(found) <= 8, len(found)
    pat = Pat.parse(sections(out, 0)[0])
    sdt = Sdt.parse(found[0])
    assert sdt.transport_stream_id == pat.transport_stream_id
    assert [s.service_id for s in sdt.services] == sorted(pat.pmt_pids)
    assert len(out) == len(bare) + len(found) * TS_PACKET_SIZE  # no null packets: inserted
    path = media["dir"] / "added.ts"
    path.write_bytes(out)
    (prog,) = ffprobe_programs(path)
    assert prog["tags"]["service_name"] == "Lab Channel"
    assert "cc_error" not in error_counts(out)


@needs_ffmpeg
def test_an_added_sdt_takes_the_place_of_a_near_null_packet(media):
    bare = without_sdt(media["cbr"], as_null=True)
    out = run(ServiceNamer("Lab Channel"), bare)
    assert len(sections(out, SDT_PID)) >= 6
    assert len(out) == len(bare)  # the mux rate is kept
    assert "cc_error" not in error_counts(out)


@needs_ffmpeg
def test_one_namer_across_a_reconnect_keeps_the_sdt_pid_continuous(media):
    namer = ServiceNamer("Lab Channel")
    out = b""
    for data in (media["vbr"], media["vbr"]):  # two ingests: counters start again
        seam = SeamMarker()
        out += run(namer, seam.feed(data) + seam.flush())
    e = probe(out).errors
    assert e[(e["type"] == "cc_error") & (e["pid"] == SDT_PID)].empty
    assert {Sdt.parse(s).version_number for s in sections(out, SDT_PID)} == {1}
    tags = [t for t, _ in Sdt.parse(sections(out, SDT_PID)[0]).services[0].descriptors]
    assert tags == [SERVICE_DESCRIPTOR_TAG]
