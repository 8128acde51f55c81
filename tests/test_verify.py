"""verify(): each rule on captures that keep it and captures that break it, for the right reason.

The misplaced-cue captures are the committed sample streams (see sample_streams/README.md);
the rest are made here from them with scte35lab's own packetizer or injector.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pandas as pd
import pytest

from scte35lab import Cue, probe, verify
from scte35lab.analysis.verify import REASONS, summary
from scte35lab.cli import main
from scte35lab.schedule import AdBreak, Schedule
from scte35lab.ts.inject import inject
from scte35lab.ts.packetize import SectionPacketizer

SAMPLES = Path(__file__).resolve().parent.parent / "sample_streams"
TICKS = 90_000


def reasons(df) -> list[str]:
    return df["reasons"].tolist()


def test_cues_on_idrs_with_preroll_repeats_and_pairs_pass():
    v = verify(SAMPLES / "cues_ok.ts")
    assert v["ok"].all() and len(v) == 3
    out = v[(v["kind"] == "out") & (v["splice_event_id"] == 100)].iloc[0]
    assert out["sends"] == 3 and out["sends_after_splice"] == 0
    assert out["preroll"] == 5.0 and out["offset_frames"] == 0.0
    assert out["paired"] and out["break_duration_actual"] == out["break_duration_signalled"] == 2.0


def test_a_splice_point_that_is_not_an_idr_fails_off_idr():
    v = verify(SAMPLES / "cue_off_idr.ts")
    assert reasons(v) == ["off_idr"]
    row = v.iloc[0]
    assert row["splice_time"] == pytest.approx(6.52)
    assert row["nearest_idr_time"] == 7.0
    assert row["offset_frames"] == -12.0 and row["offset_ms"] == pytest.approx(-480.0)


def test_a_cue_arriving_less_than_the_preroll_before_its_splice_fails_late():
    v = verify(SAMPLES / "cue_late.ts")
    assert reasons(v) == ["late"]
    assert v["preroll"].iloc[0] == 3.0
    assert verify(SAMPLES / "cue_late.ts", preroll=3.0)["ok"].all()  # the threshold is a knob


def test_an_out_without_in_or_duration_fails_unpaired():
    v = verify(SAMPLES / "cue_out_no_in.ts")
    assert reasons(v) == ["unpaired"]
    assert not v["paired"].iloc[0] and pd.isna(v["break_duration_signalled"].iloc[0])


def test_an_in_without_an_out_fails_unpaired():
    v = verify(SAMPLES / "cues_packed.ts")
    bad = v[~v["ok"]]
    assert reasons(bad) == ["unpaired"] and bad["kind"].tolist() == ["in"]


def test_a_section_with_a_bad_crc_fails_crc_error():
    v = verify(SAMPLES / "cue_bad_crc.ts")
    assert sorted(reasons(v)) == ["", "crc_error"]
    assert v[v["reasons"] == "crc_error"]["splice_event_id"].tolist() == [104]


def _with_packet_after(src: Path, dst: Path, at_time: float) -> None:
    """``src`` with its (single-packet) cue sent once more after the frame at ``at_time``."""
    p = probe(src)
    data = src.read_bytes()
    section = Cue.decode(p.cues["base64"].iloc[0]).encode()
    v = p.frames[p.frames["role"] == "video"]
    row = int(v[v["stream_time"] > at_time]["packet"].iloc[0])
    cc = 1  # the capture's one cue packet had counter 0
    (pk,) = SectionPacketizer(int(p.cues["pid"].iloc[0]), cc).packets(section)
    dst.write_bytes(data[: row * 188] + pk + data[row * 188 :])


def test_a_repeat_after_the_splice_point_fails_repeat_after_splice(tmp_path):
    dst = tmp_path / "repeat_after.ts"
    _with_packet_after(SAMPLES / "cue_out_no_in.ts", dst, 5.5)  # splices at 5 s
    v = verify(dst)
    assert v["reasons"].iloc[0] == "repeat_after_splice,unpaired"
    assert v["sends"].iloc[0] == 2 and v["sends_after_splice"].iloc[0] == 1


def test_a_repeat_before_the_splice_point_is_fine(tmp_path):
    dst = tmp_path / "repeat_before.ts"
    _with_packet_after(SAMPLES / "cue_out_no_in.ts", dst, 4.0)
    v = verify(dst)
    assert v["reasons"].iloc[0] == "unpaired" and v["sends_after_splice"].iloc[0] == 0


def test_an_in_far_from_out_plus_signalled_duration_fails_duration_mismatch(tmp_path):
    dst = tmp_path / "mismatch.ts"
    out = Cue.splice_insert(5, break_duration=2 * TICKS)
    back = Cue.splice_insert(5, out_of_network=False)
    inject(SAMPLES / "h264_aac.ts", dst, [(2.0, out), (3.0, back)], preroll=1.0)
    v = verify(dst, preroll=1.0)
    assert reasons(v) == ["duration_mismatch", ""]
    assert v["break_duration_actual"].iloc[0] == 1.0


def test_with_a_schedule_a_break_edge_without_a_cue_fails_missing_cue():
    sched = Schedule([AdBreak(6, 2, cue_id="ok-break"), AdBreak(3, 1, cue_id="no-cues")])
    v = verify(SAMPLES / "cues_ok.ts", schedule=sched)
    missing = v[v["reasons"] == "missing_cue"]
    assert missing["cue_id"].tolist() == ["no-cues", "no-cues"]
    assert missing["kind"].tolist() == ["out", "in"]
    assert missing["splice_time"].tolist() == [3.0, 4.0]
    assert set(v[v["ok"]]["cue_id"]) == {"ok-break"}


def test_a_probe_object_is_accepted_and_gives_the_same_table():
    p = probe(SAMPLES / "cue_late.ts")
    assert verify(p).equals(verify(SAMPLES / "cue_late.ts"))


def test_the_summary_is_one_line_with_pass_or_fail_and_counts_by_reason():
    ok = verify(SAMPLES / "cues_ok.ts").attrs["summary"]
    bad = summary(verify(SAMPLES / "cue_off_idr.ts"))
    assert "\n" not in ok and ok.startswith("PASS ") and "3 cues, 3 ok, 0 failed" in ok
    assert bad.startswith("FAIL ") and "(off_idr 1)" in bad


def test_every_reason_code_is_documented():
    text = importlib.import_module("scte35lab.analysis.verify").__doc__
    assert all(f"``{r}``" in text for r in REASONS)


def test_cli_verify_exits_0_when_every_cue_passes(capsys):
    assert main(["verify", str(SAMPLES / "cues_ok.ts")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("PASS ")


def test_cli_verify_exits_1_when_a_cue_fails_and_prints_the_reason(capsys):
    assert main(["verify", str(SAMPLES / "cue_late.ts"), "--format", "json"]) == 1
    cap = capsys.readouterr()
    rows = json.loads(cap.out)
    assert rows[0]["reasons"] == "late" and cap.err.startswith("FAIL ")


def test_cli_verify_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "nope.ts")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: verify:") and "\n" not in err and "Traceback" not in err
