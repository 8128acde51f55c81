"""Regenerate the figures under docs/ from the sample streams.

    .venv/bin/python docs/make_figures.py

``timeline.png``: ``cue_off_idr.ts`` zoomed to its out-cue, whose splice point (6.52 s) is
12 frames before the nearest IDR: the offset and the pre-roll are annotated, the cue is red.
"""

from __future__ import annotations

import logging
from pathlib import Path

from scte35lab import probe
from scte35lab.analysis.timeline import figure_png, plot_timeline

log = logging.getLogger("make_figures")
DOCS = Path(__file__).resolve().parent
SAMPLES = DOCS.parent / "sample_streams"


def make_timeline(out: Path = DOCS / "timeline.png") -> Path:
    """The timeline of a misplaced cue, as a PNG."""
    fig = plot_timeline(probe(SAMPLES / "cue_off_idr.ts"), cue=0)
    out.write_bytes(figure_png(fig, dpi=110))
    return out


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    log.info("wrote %s", make_timeline())


if __name__ == "__main__":
    main()
