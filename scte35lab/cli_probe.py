"""The old path of ``scte35lab probe``'s module, kept for ``python -m scte35lab.cli_probe``
and older scripts; the command lives in :mod:`scte35lab.cli.probe`."""

import sys

from scte35lab.cli.probe import add_parser, main, probe_command

__all__ = ["add_parser", "main", "probe_command"]

if __name__ == "__main__":
    sys.exit(main())
