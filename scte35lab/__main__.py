"""``python -m scte35lab`` runs the command line."""

from scte35lab.cli import main

raise SystemExit(main())
