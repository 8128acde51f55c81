"""The old path of ``scte35lab desk``'s module, kept for older imports; the command lives in
:mod:`scte35lab.cli.desk`."""

from scte35lab.cli.desk import add_parser, desk_notebook, run_desk

__all__ = ["add_parser", "desk_notebook", "run_desk"]
