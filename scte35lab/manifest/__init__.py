"""HLS and DASH packaging with SCTE-35 signalling, and reading that signalling back.

``package_hls`` / ``HlsLive`` write TS segments and a playlist; ``package_dash`` writes an
MPD with SCTE-35 EventStreams; ``package_cmaf`` writes CMAF segments with the cues in ``emsg``
boxes (and optionally an event message track) for both an MPD and HLS playlists;
``probe_playlist`` / ``probe_mpd`` read signalling back from any playlist or MPD into a table
shaped like ``probe(...).cues``.
"""

from __future__ import annotations

from scte35lab.manifest.capture import cmaf_to_ts, package_cmaf, package_dash
from scte35lab.manifest.cmaf import CmafPackage
from scte35lab.manifest.dash import DashPackage
from scte35lab.manifest.hls import HlsLive, HlsPackage, package_hls
from scte35lab.manifest.readmpd import probe_mpd
from scte35lab.manifest.readplaylist import probe_playlist

__all__ = [
    "CmafPackage",
    "DashPackage",
    "HlsLive",
    "HlsPackage",
    "cmaf_to_ts",
    "package_cmaf",
    "package_dash",
    "package_hls",
    "probe_mpd",
    "probe_playlist",
]
