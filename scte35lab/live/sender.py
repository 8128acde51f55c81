"""What the SRT output stage asks of a sender, whichever way it sends.

Three senders keep this face: :class:`~scte35lab.live.srtsend.LibSrtSender` (libsrt in this
process, which sees the receiver's acknowledgements), and two child processes fed through a
pipe, :class:`~scte35lab.live.srt.SrtSender` (srt-live-transmit, with statistics) and
:class:`~scte35lab.live.ffmpeg.FFmpegSrtSender` (FFmpeg, without). The pipeline's SRT output
(:class:`~scte35lab.live.srtout.SrtOutput`) makes one per connection and uses this face
(and, from a sender that keeps it, libsrt's own ``srt_acked_bytes``).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

from scte35lab.errors import ComponentError
from scte35lab.live.srtendpoint import SrtEndpoint

DELIVERY_STATES = ("acked", "written", "pending", "unconfirmed", "dropped")
"""What :meth:`Sender.delivery` can say of a byte; ``acked`` only from a sender with ``acks``."""


@runtime_checkable
class Sender(Protocol):
    """An SRT sender: started once, fed TS from any thread without blocking, stopped once.

    ``connected`` is set when the peer accepted and ``disconnected`` when it left; ``stats``
    holds per-second samples when ``stats_available`` (its ``last_second()`` gives the
    pipeline's stats columns). Offsets count the bytes given to :meth:`write`.
    """

    name: str
    endpoint: SrtEndpoint
    tool: str
    stats_available: bool
    acks: bool
    connected: threading.Event
    disconnected: threading.Event
    stats: Any

    def start(self) -> Any:
        """Start sending (connecting in the background); returns the sender."""
        ...

    @property
    def running(self) -> bool:
        """From ``start()`` until the sender stopped or its connection ended."""
        ...

    def failure(self) -> ComponentError | None:
        """Why it is no longer sending, once it stopped on its own; else ``None``."""
        ...

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until the peer accepted; raise the error naming why it will not."""
        ...

    def write(self, data: bytes) -> int:
        """Queue TS bytes, never blocking; the stream offset just past them."""
        ...

    def delivery(self, end: int) -> tuple[str, float | None]:
        """What became of stream byte ``end - 1``: one of :data:`DELIVERY_STATES` and, for
        ``acked``, when; ``ValueError`` for an offset outside the stream written."""
        ...

    @property
    def written_bytes(self) -> int:
        """Stream bytes handed on (to libsrt, or into the child's pipe)."""
        ...

    @property
    def dropped_bytes(self) -> int:
        """Stream bytes given to :meth:`write` that were never handed on."""
        ...

    @property
    def acked_bytes(self) -> int:
        """Stream bytes the receiver acknowledged (0 from a sender without ``acks``)."""
        ...

    def stop(self, timeout: float = 3.0) -> None:
        """Send what is queued (within ``timeout`` seconds), then stop for good."""
        ...
