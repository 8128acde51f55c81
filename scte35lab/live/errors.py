"""Errors of the live path: each names which component failed and why, secrets redacted."""

from __future__ import annotations

from scte35lab.errors import ComponentError


class ToolMissingError(ComponentError):
    """A program the live path needs (ffmpeg, srt-live-transmit, nginx) is not installed."""


class ProcessExitedError(ComponentError):
    """A child process stopped on its own when it should still be running."""


class SrtUrlError(ComponentError):
    """An SRT URL is malformed or its host cannot be resolved."""


class SrtConnectionError(ComponentError):
    """No SRT peer answered (connection refused or timed out), or the peer went away."""


class SrtPassphraseError(ComponentError):
    """The SRT peer rejected the handshake: wrong, missing or unexpected passphrase."""


class RtmpServerError(ComponentError):
    """The RTMP server (nginx with the rtmp module) could not start or stopped."""


class StreamKeyRejected(ComponentError):
    """A publisher offered a stream key the store does not accept."""
