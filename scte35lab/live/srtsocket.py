"""The in-process SRT sender's socket: made and set up from an endpoint, then connected.

Options go in as libsrt wants them (transtype first: it resets the others); the passphrase
is a socket option, never a command-line argument. A refused connection is named from
libsrt's reject reason: wrong passphrase, mismatched packet filter, or no listener.
"""

from __future__ import annotations

import ctypes

from scte35lab.errors import ComponentError
from scte35lab.live import srtlib
from scte35lab.live.errors import SrtConnectionError, SrtUrlError
from scte35lab.live.srtendpoint import SrtEndpoint, srt_error


def configured_socket(lib: ctypes.CDLL, ep: SrtEndpoint) -> int:
    """A new SRT socket set up as a live-mode, non-blocking caller for ``ep`` (latency,
    key length, timeouts, bandwidth, stream id, packet filter, passphrase)."""
    sock = lib.srt_create_socket()
    if sock == srtlib.SRT_INVALID_SOCK:
        raise SrtConnectionError(f"libsrt could not create a socket: {srtlib.last_error(lib)}")
    ints: list[tuple[str, int, int]] = [
        ("transtype", srtlib.SRTO_TRANSTYPE, srtlib.SRTT_LIVE),  # first: it resets others
        ("sender", srtlib.SRTO_SENDER, 1),
        ("sndsyn", srtlib.SRTO_SNDSYN, 0),  # a full buffer fails the send, never blocks
    ]
    if ep.latency_ms is not None:
        ints.append(("latency", srtlib.SRTO_LATENCY, ep.latency_ms))
    if ep.pbkeylen is not None:
        ints.append(("pbkeylen", srtlib.SRTO_PBKEYLEN, ep.pbkeylen))
    if ep.peer_idle_timeout_ms is not None:
        ints.append(("peeridletimeo", srtlib.SRTO_PEERIDLETIMEO, ep.peer_idle_timeout_ms))
    if ep.connect_timeout_ms is not None:
        ints.append(("conntimeo", srtlib.SRTO_CONNTIMEO, ep.connect_timeout_ms))
    try:
        for label, opt, value in ints:
            if not srtlib.set_int(lib, sock, opt, value):
                raise SrtUrlError(f"libsrt refused {label}={value}: {srtlib.last_error(lib)}")
        if ep.maxbw is not None and not srtlib.set_int64(lib, sock, srtlib.SRTO_MAXBW, ep.maxbw):
            raise SrtUrlError(f"libsrt refused maxbw={ep.maxbw}: {srtlib.last_error(lib)}")
        for label, opt, text in (
            ("streamid", srtlib.SRTO_STREAMID, ep.streamid),
            ("packetfilter", srtlib.SRTO_PACKETFILTER, ep.packet_filter),
        ):
            if text and not srtlib.set_str(lib, sock, opt, text):
                raise SrtUrlError(f"libsrt refused {label}={text!r}: {srtlib.last_error(lib)}")
        if ep.passphrase and not srtlib.set_str(lib, sock, srtlib.SRTO_PASSPHRASE, ep.passphrase):
            raise SrtUrlError(f"libsrt refused the passphrase: {srtlib.last_error(lib)}")
    except SrtUrlError:
        lib.srt_close(sock)
        raise
    return sock


def connect(lib: ctypes.CDLL, sock: int, address: str, ep: SrtEndpoint) -> ComponentError | None:
    """Connect ``sock`` to ``address`` (blocking); ``None``, or the error naming why not:
    the passphrase, the packet filter, or no listener."""
    addr = srtlib.sockaddr(address, ep.port)
    if lib.srt_connect(sock, addr, len(addr)) != srtlib.SRT_ERROR:
        return None
    code = srtlib.last_error_code(lib)
    text = srtlib.last_error(lib)
    reason, reason_text = srtlib.reject_reason(lib, sock)
    if reason in (srtlib.SRT_REJ_BADSECRET, srtlib.SRT_REJ_UNSECURE):
        kind = "passphrase"
    elif reason == srtlib.SRT_REJ_FILTER:
        kind = "filter"
    else:
        kind = "refused"
    detail = reason_text if code == srtlib.SRT_ECONNREJ else text
    return srt_error(kind, ep, detail)
