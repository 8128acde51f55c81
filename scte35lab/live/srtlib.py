"""A ctypes binding to Haivision's libsrt 1.5 as Debian ships it: the calls an SRT caller needs.

Written from ``srtcore/srt.h`` of the v1.5.1 tag and Haivision's ``docs/API`` pages (the
library Debian 12 packages as ``libsrt1.5-gnutls``, ``libsrt-gnutls.so.1.5``). Only what
scte35lab uses is declared: start-up, sockets and their options, connect, bind/listen/accept
(tests use an in-process receiver), message send and receive, statistics, socket state,
reject reasons and the last error text.

:class:`TraceBStats` is the whole ``SRT_TRACEBSTATS`` (``struct CBytePerfMon``) of 1.5.1,
every field in header order with the header's C types, so ctypes pads it exactly as the
compiler does (1.5.0 appended the ``*Unique*`` counters at the end; a binding that stops
before them lets libsrt write past the buffer it was given). ``tests/test_srt_libsrt.py``
checks the layout against the library's behaviour: the bytes libsrt writes end exactly at
``sizeof``, and the counters at both ends of the struct hold what a known exchange must give.

Two facts of 1.5.1 the statistics depend on (read in its ``core.cpp``): ``pktSndDropTotal``
counts sender drop *events*, not packets (``sndr.dropped.count(bytes)`` adds one per call of
``sndDropTooLate``, however many packets it dropped), and ``srt_bistats`` reads the send
buffer only if it can take the connection lock at once; when it cannot, ``pktSndBuf``,
``byteSndBuf`` and ``byteAvailSndBuf`` all come back 0 (:meth:`TraceBStats.buffer_read`).

``srt_startup`` runs once per process, under a lock (:func:`load`); ``srt_cleanup`` is never
called, as a socket of another thread may still be alive: the process exit frees it all.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import socket
import struct
import threading

from scte35lab.live.errors import ToolMissingError

LIBRARY_NAMES = ("libsrt-gnutls.so.1.5", "libsrt-openssl.so.1.5", "libsrt.so.1.5")
DEBIAN_PACKAGE = "libsrt1.5-gnutls"

SRT_ERROR = -1
SRT_INVALID_SOCK = -1
SRT_LIVE_DEF_PLSIZE = 1316  # default live payload: seven TS packets
SRT_DATA_HDR_SIZE = 44  # what libsrt's byte counters add per packet: 16 SRT + 8 UDP + 20 IPv4

# SRT_SOCKOPT (srt.h, v1.5.1): the options scte35lab sets or reads
SRTO_MSS = 0
SRTO_SNDSYN = 1
SRTO_RCVSYN = 2
SRTO_SNDBUF = 5
SRTO_RCVTIMEO = 14
SRTO_MAXBW = 16
SRTO_STATE = 17
SRTO_SNDDATA = 19
SRTO_SENDER = 21
SRTO_TSBPDMODE = 22
SRTO_LATENCY = 23
SRTO_PASSPHRASE = 26
SRTO_PBKEYLEN = 27
SRTO_CONNTIMEO = 36
SRTO_RCVLATENCY = 43
SRTO_PEERLATENCY = 44
SRTO_STREAMID = 46
SRTO_PAYLOADSIZE = 49
SRTO_TRANSTYPE = 50
SRTO_ENFORCEDENCRYPTION = 53
SRTO_PEERIDLETIMEO = 55
SRTO_PACKETFILTER = 60

# SRT_TRANSTYPE
SRTT_LIVE = 0
SRTT_FILE = 1

# SRT_SOCKSTATUS (srt_getsockstate)
SRTS_INIT = 1
SRTS_OPENED = 2
SRTS_LISTENING = 3
SRTS_CONNECTING = 4
SRTS_CONNECTED = 5
SRTS_BROKEN = 6
SRTS_CLOSING = 7
SRTS_CLOSED = 8
SRTS_NONEXIST = 9
SOCKET_STATES = {
    SRTS_INIT: "init",
    SRTS_OPENED: "opened",
    SRTS_LISTENING: "listening",
    SRTS_CONNECTING: "connecting",
    SRTS_CONNECTED: "connected",
    SRTS_BROKEN: "broken",
    SRTS_CLOSING: "closing",
    SRTS_CLOSED: "closed",
    SRTS_NONEXIST: "nonexistent",
}

# SRT_REJECT_REASON (srt_getrejectreason)
SRT_REJ_UNKNOWN = 0
SRT_REJ_SYSTEM = 1
SRT_REJ_PEER = 2
SRT_REJ_RESOURCE = 3
SRT_REJ_ROGUE = 4
SRT_REJ_BACKLOG = 5
SRT_REJ_IPE = 6
SRT_REJ_CLOSE = 7
SRT_REJ_VERSION = 8
SRT_REJ_RDVCOOKIE = 9
SRT_REJ_BADSECRET = 10
SRT_REJ_UNSECURE = 11
SRT_REJ_MESSAGEAPI = 12
SRT_REJ_CONGESTION = 13
SRT_REJ_FILTER = 14
SRT_REJ_GROUP = 15
SRT_REJ_TIMEOUT = 16

# SRT_ERRNO values scte35lab tells apart (1000 * major + minor)
SRT_ENOSERVER = 1001  # connection setup timed out
SRT_ECONNREJ = 1002  # connection rejected
SRT_ECONNLOST = 2001
SRT_ENOCONN = 2002
SRT_EASYNCSND = 6001  # non-blocking send: no room in the send buffer

SRTSOCKET = ctypes.c_int


class TraceBStats(ctypes.Structure):
    """``SRT_TRACEBSTATS`` of libsrt 1.5.1, complete and in the header's order.

    Byte counters include 44 header bytes a packet (SRT 16, UDP 8, IPv4 20); ``*Total``
    fields count since the connection, the unsuffixed ones since the last ``clear``, the
    "instant" block is the state at the call (with ``instantaneous=1`` for the buffers).
    """

    _fields_ = [
        # global measurements
        ("msTimeStamp", ctypes.c_int64),
        ("pktSentTotal", ctypes.c_int64),
        ("pktRecvTotal", ctypes.c_int64),
        ("pktSndLossTotal", ctypes.c_int),
        ("pktRcvLossTotal", ctypes.c_int),
        ("pktRetransTotal", ctypes.c_int),
        ("pktSentACKTotal", ctypes.c_int),
        ("pktRecvACKTotal", ctypes.c_int),
        ("pktSentNAKTotal", ctypes.c_int),
        ("pktRecvNAKTotal", ctypes.c_int),
        ("usSndDurationTotal", ctypes.c_int64),
        ("pktSndDropTotal", ctypes.c_int),
        ("pktRcvDropTotal", ctypes.c_int),
        ("pktRcvUndecryptTotal", ctypes.c_int),
        ("byteSentTotal", ctypes.c_uint64),
        ("byteRecvTotal", ctypes.c_uint64),
        ("byteRcvLossTotal", ctypes.c_uint64),
        ("byteRetransTotal", ctypes.c_uint64),
        ("byteSndDropTotal", ctypes.c_uint64),
        ("byteRcvDropTotal", ctypes.c_uint64),
        ("byteRcvUndecryptTotal", ctypes.c_uint64),
        # local measurements (since the last clear)
        ("pktSent", ctypes.c_int64),
        ("pktRecv", ctypes.c_int64),
        ("pktSndLoss", ctypes.c_int),
        ("pktRcvLoss", ctypes.c_int),
        ("pktRetrans", ctypes.c_int),
        ("pktRcvRetrans", ctypes.c_int),
        ("pktSentACK", ctypes.c_int),
        ("pktRecvACK", ctypes.c_int),
        ("pktSentNAK", ctypes.c_int),
        ("pktRecvNAK", ctypes.c_int),
        ("mbpsSendRate", ctypes.c_double),
        ("mbpsRecvRate", ctypes.c_double),
        ("usSndDuration", ctypes.c_int64),
        ("pktReorderDistance", ctypes.c_int),
        ("pktRcvAvgBelatedTime", ctypes.c_double),
        ("pktRcvBelated", ctypes.c_int64),
        ("pktSndDrop", ctypes.c_int),
        ("pktRcvDrop", ctypes.c_int),
        ("pktRcvUndecrypt", ctypes.c_int),
        ("byteSent", ctypes.c_uint64),
        ("byteRecv", ctypes.c_uint64),
        ("byteRcvLoss", ctypes.c_uint64),
        ("byteRetrans", ctypes.c_uint64),
        ("byteSndDrop", ctypes.c_uint64),
        ("byteRcvDrop", ctypes.c_uint64),
        ("byteRcvUndecrypt", ctypes.c_uint64),
        # instant measurements
        ("usPktSndPeriod", ctypes.c_double),
        ("pktFlowWindow", ctypes.c_int),
        ("pktCongestionWindow", ctypes.c_int),
        ("pktFlightSize", ctypes.c_int),
        ("msRTT", ctypes.c_double),
        ("mbpsBandwidth", ctypes.c_double),
        ("byteAvailSndBuf", ctypes.c_int),
        ("byteAvailRcvBuf", ctypes.c_int),
        ("mbpsMaxBW", ctypes.c_double),
        ("byteMSS", ctypes.c_int),
        ("pktSndBuf", ctypes.c_int),
        ("byteSndBuf", ctypes.c_int),
        ("msSndBuf", ctypes.c_int),
        ("msSndTsbPdDelay", ctypes.c_int),
        ("pktRcvBuf", ctypes.c_int),
        ("byteRcvBuf", ctypes.c_int),
        ("msRcvBuf", ctypes.c_int),
        ("msRcvTsbPdDelay", ctypes.c_int),
        ("pktSndFilterExtraTotal", ctypes.c_int),
        ("pktRcvFilterExtraTotal", ctypes.c_int),
        ("pktRcvFilterSupplyTotal", ctypes.c_int),
        ("pktRcvFilterLossTotal", ctypes.c_int),
        ("pktSndFilterExtra", ctypes.c_int),
        ("pktRcvFilterExtra", ctypes.c_int),
        ("pktRcvFilterSupply", ctypes.c_int),
        ("pktRcvFilterLoss", ctypes.c_int),
        ("pktReorderTolerance", ctypes.c_int),
        # new in 1.5.0
        ("pktSentUniqueTotal", ctypes.c_int64),
        ("pktRecvUniqueTotal", ctypes.c_int64),
        ("byteSentUniqueTotal", ctypes.c_uint64),
        ("byteRecvUniqueTotal", ctypes.c_uint64),
        ("pktSentUnique", ctypes.c_int64),
        ("pktRecvUnique", ctypes.c_int64),
        ("byteSentUnique", ctypes.c_uint64),
        ("byteRecvUnique", ctypes.c_uint64),
    ]

    def buffer_read(self) -> bool:
        """Whether libsrt filled the buffer fields (it skips them, all 0, when it cannot take
        the connection lock at once; a live send buffer always has room, so its free space
        is never 0 when read)."""
        return not (self.pktSndBuf == 0 and self.byteAvailSndBuf == 0 and self.byteAvailRcvBuf == 0)

    def as_dict(self) -> dict[str, float]:
        """Every field by name."""
        return {name: getattr(self, name) for name, _ in self._fields_}


def _declare(lib: ctypes.CDLL) -> None:
    """Give each function used its C signature (srt.h, v1.5.1)."""
    c_int, c_char_p, c_void_p = ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p
    sigs: dict[str, tuple[object, list[object]]] = {
        "srt_startup": (c_int, []),
        "srt_cleanup": (c_int, []),
        "srt_getversion": (ctypes.c_uint32, []),
        "srt_create_socket": (SRTSOCKET, []),
        "srt_setsockflag": (c_int, [SRTSOCKET, c_int, c_void_p, c_int]),
        "srt_getsockflag": (c_int, [SRTSOCKET, c_int, c_void_p, ctypes.POINTER(c_int)]),
        "srt_connect": (c_int, [SRTSOCKET, c_char_p, c_int]),
        "srt_bind": (c_int, [SRTSOCKET, c_char_p, c_int]),
        "srt_listen": (c_int, [SRTSOCKET, c_int]),
        "srt_accept": (SRTSOCKET, [SRTSOCKET, c_void_p, ctypes.POINTER(c_int)]),
        "srt_sendmsg": (c_int, [SRTSOCKET, c_char_p, c_int, c_int, c_int]),
        "srt_recvmsg": (c_int, [SRTSOCKET, c_void_p, c_int]),
        "srt_bistats": (c_int, [SRTSOCKET, ctypes.POINTER(TraceBStats), c_int, c_int]),
        "srt_getsockstate": (c_int, [SRTSOCKET]),
        "srt_getrejectreason": (c_int, [SRTSOCKET]),
        "srt_rejectreason_str": (c_char_p, [c_int]),
        "srt_getlasterror": (c_int, [ctypes.POINTER(c_int)]),
        "srt_getlasterror_str": (c_char_p, []),
        "srt_close": (c_int, [SRTSOCKET]),
        "srt_setloglevel": (None, [c_int]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


_LOAD_LOCK = threading.Lock()


@functools.cache
def _load_once() -> ctypes.CDLL:
    tried = []
    for name in LIBRARY_NAMES:
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            tried.append(f"{name}: {exc}")
            continue
        _declare(lib)
        lib.srt_setloglevel(2)  # LOG_CRIT: libsrt's own stderr chatter off; we log
        if lib.srt_startup() < 0:
            raise ToolMissingError(f"libsrt ({name}) failed to start: {last_error(lib)}")
        return lib
    found = ctypes.util.find_library("srt")
    hint = f" (found {found}, not a 1.5 build)" if found else ""
    raise ToolMissingError(
        f"libsrt 1.5 is not installed{hint}: install the Debian package {DEBIAN_PACKAGE} "
        f"(tried {', '.join(LIBRARY_NAMES)})"
    )


def load() -> ctypes.CDLL:
    """libsrt, loaded and started once per process (thread-safe); ``ToolMissingError`` if
    none of :data:`LIBRARY_NAMES` is installed."""
    with _LOAD_LOCK:
        return _load_once()


def version(lib: ctypes.CDLL) -> str:
    """The library's version, e.g. ``1.5.1``."""
    v = lib.srt_getversion()
    return f"{v >> 16}.{(v >> 8) & 0xFF}.{v & 0xFF}"


def last_error(lib: ctypes.CDLL) -> str:
    """The text of the calling thread's last libsrt error."""
    raw = lib.srt_getlasterror_str()
    return raw.decode("utf-8", "replace") if raw else "unknown error"


def last_error_code(lib: ctypes.CDLL) -> int:
    """The calling thread's last libsrt error code (``SRT_ERRNO``)."""
    return int(lib.srt_getlasterror(None))


def reject_reason(lib: ctypes.CDLL, sock: int) -> tuple[int, str]:
    """Why the peer (or libsrt) refused the connection: the code and libsrt's words."""
    code = int(lib.srt_getrejectreason(sock))
    raw = lib.srt_rejectreason_str(code)
    return code, raw.decode("utf-8", "replace") if raw else f"reason {code}"


def sockaddr(address: str, port: int) -> bytes:
    """A Linux ``sockaddr_in`` or ``sockaddr_in6`` for an IP address (as ``resolve`` gives)."""
    if ":" in address:
        packed = socket.inet_pton(socket.AF_INET6, address)
        return struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0) + packed + b"\0" * 4
    packed = socket.inet_pton(socket.AF_INET, address)
    return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + packed + b"\0" * 8


def set_int(lib: ctypes.CDLL, sock: int, opt: int, value: int) -> bool:
    """Set a 32-bit integer (or boolean) option; ``False`` if libsrt refused it."""
    v = ctypes.c_int32(value)
    return lib.srt_setsockflag(sock, opt, ctypes.byref(v), ctypes.sizeof(v)) != SRT_ERROR


def set_int64(lib: ctypes.CDLL, sock: int, opt: int, value: int) -> bool:
    """Set a 64-bit integer option (``SRTO_MAXBW``); ``False`` if libsrt refused it."""
    v = ctypes.c_int64(value)
    return lib.srt_setsockflag(sock, opt, ctypes.byref(v), ctypes.sizeof(v)) != SRT_ERROR


def set_str(lib: ctypes.CDLL, sock: int, opt: int, value: str) -> bool:
    """Set a string option; ``False`` if libsrt refused it. The buffer is zeroed afterwards
    (it may hold the passphrase)."""
    raw = value.encode("utf-8")
    buf = ctypes.create_string_buffer(raw, len(raw))
    try:
        return lib.srt_setsockflag(sock, opt, buf, len(raw)) != SRT_ERROR
    finally:
        ctypes.memset(buf, 0, len(raw))


def get_int(lib: ctypes.CDLL, sock: int, opt: int) -> int | None:
    """Read a 32-bit integer option; ``None`` if libsrt refused."""
    v = ctypes.c_int32(0)
    n = ctypes.c_int(ctypes.sizeof(v))
    if lib.srt_getsockflag(sock, opt, ctypes.byref(v), ctypes.byref(n)) == SRT_ERROR:
        return None
    return int(v.value)


def bistats(lib: ctypes.CDLL, sock: int, *, clear: bool = False) -> TraceBStats | None:
    """The socket's statistics with the buffers read now (``instantaneous=1``); ``None`` when
    libsrt refuses (the socket is not connected, or broken)."""
    s = TraceBStats()
    if lib.srt_bistats(sock, ctypes.byref(s), int(clear), 1) == SRT_ERROR:
        return None
    return s
