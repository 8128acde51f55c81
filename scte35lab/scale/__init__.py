"""Layer 3: probe and verify many captures, or one huge one, on Dask (``dask.distributed``).

Imports ``analysis``, ``ts`` and ``cue``; nothing below imports it. Dask and pyarrow are the
``scale`` extra (``pip install scte35lab[scale]``), loaded only when this package is.
"""

from scte35lab.scale.many import ManyProbe, ManyVerify, probe_many, verify_many
from scte35lab.scale.split import probe_ranges

__all__ = ["ManyProbe", "ManyVerify", "probe_many", "probe_ranges", "verify_many"]
