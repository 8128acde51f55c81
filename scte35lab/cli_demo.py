"""``scte35lab demo``: the largest real slice of the main job that runs on its own.

Builds the cues of a default ad-break schedule (a splice_insert out/in pair and a
time_signal placement opportunity with a UPID), encodes them, decodes the bytes back,
checks each against the standard's rules and prints what it verified.
"""

from __future__ import annotations

import argparse

from scte35lab.cue import TICKS_PER_SECOND, Cue, SegmentationDescriptor


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``demo``."""
    p = sub.add_parser("demo", help="run the main job on embedded defaults and report")
    p.set_defaults(func=demo_command)


def default_cues(first_pts: int = 900_000) -> list[tuple[str, Cue]]:
    """The cues of a 30 s break at stream time 10 s, signalled both common ways."""
    start = first_pts + 10 * TICKS_PER_SECOND
    dur = 30 * TICKS_PER_SECOND
    po = dict(segmentation_upid_type=0x0C, segment_num=1, segments_expected=1)
    from scte35lab.cue import Mpu

    upid = Mpu(format_identifier=int.from_bytes(b"S35L", "big"), private_data=b"demo-break-1")
    return [
        ("splice_insert out", Cue.splice_insert(1, pts_time=start, break_duration=dur)),
        ("splice_insert in", Cue.splice_insert(2, out_of_network=False, pts_time=start + dur)),
        (
            "time_signal PO start",
            Cue.time_signal(
                start,
                [
                    SegmentationDescriptor(
                        segmentation_event_id=1,
                        segmentation_type_id=0x34,
                        segmentation_duration=dur,
                        segmentation_upid=upid,
                        **po,
                    )
                ],
            ),
        ),
        (
            "time_signal PO end",
            Cue.time_signal(
                start + dur,
                [
                    SegmentationDescriptor(
                        segmentation_event_id=1,
                        segmentation_type_id=0x35,
                        segmentation_upid=upid,
                        **po,
                    )
                ],
            ),
        ),
    ]


def demo_command(args: argparse.Namespace) -> int:
    failures = 0
    print(f"{'cue':22} {'bytes':>5}  {'round trip':10} {'problems':8}  base64")
    for label, cue in default_cues():
        data = cue.encode()
        back = Cue.decode(data)
        same = back == cue and back.encode() == data and Cue.from_dict(cue.to_dict()) == cue
        problems = back.validate()
        failures += (not same) + bool(problems)
        print(
            f"{label:22} {len(data):5}  {'ok' if same else 'FAILED':10} "
            f"{len(problems):8}  {back.to_base64()}"
        )
        for p in problems:
            print(f"    problem: {p}")
    print(
        f"verified {4 - failures} of 4 cues: encode -> decode -> encode is bit-exact "
        "and the standard's rules hold"
        if not failures
        else f"{failures} failures"
    )
    return 1 if failures else 0
