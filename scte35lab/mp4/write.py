"""Write SCTE-35 into CMAF: ``emsg`` boxes placed in media segments, and the init and media
segments of an ISO/IEC 23001-18 event message track (``evte``), from the box declarations."""

from __future__ import annotations

from collections.abc import Iterable

from scte35lab.mp4 import boxes as bx
from scte35lab.mp4.box import BoxError, container, encode_box, walk

SCHEME = "urn:scte:scte35:2013:bin"  # SCTE 214-1/-3: message_data is the splice_info_section
NO_DURATION = 0xFFFFFFFF  # event_duration unknown (23009-1 5.10.3.3.4)

# boxes that stay ahead of the emsg boxes at the start of a segment (23009-1 6.3.4.2)
_LEADING = (b"styp", b"sidx", b"ssix", b"prft")


def emsg(
    section: bytes,
    *,
    version: int,
    timescale: int,
    presentation_time: int,
    segment_start: int,
    duration: int | None,
    event_id: int,
    scheme: str = SCHEME,
) -> bytes:
    """One ``emsg`` carrying ``section``. Times are ticks of ``timescale`` on the track
    timeline: version 1 writes ``presentation_time`` itself, version 0 its distance from
    ``segment_start`` (the earliest presentation time of the segment that carries it)."""
    dur = NO_DURATION if duration is None else duration
    if version == 1:
        box = bx.EventMessage(
            version=1,
            scheme_id_uri=scheme,
            timescale=timescale,
            presentation_time=presentation_time,
            event_duration=dur,
            id=event_id,
            message_data=section,
        )
    elif version == 0:
        delta = presentation_time - segment_start
        if delta < 0:
            raise BoxError(
                f"emsg version 0 cannot time an event {-delta} ticks before its segment starts"
            )
        box = bx.EventMessage(
            version=0,
            scheme_id_uri=scheme,
            timescale=timescale,
            presentation_time_delta=delta,
            event_duration=dur,
            id=event_id,
            message_data=section,
        )
    else:
        raise ValueError(f"emsg version must be 0 or 1, got {version!r}")
    return encode_box(box)


def insert_emsg(segment: bytes, messages: Iterable[bytes]) -> bytes:
    """``segment`` with ``messages`` (encoded ``emsg`` boxes) placed after its ``styp``/
    ``sidx`` and before its first ``moof``, where a DASH/CMAF reader looks for them."""
    extra = b"".join(messages)
    if not extra:
        return segment
    for hdr in walk(segment):
        if hdr.type not in _LEADING and hdr.type != b"emsg":
            return segment[: hdr.offset] + extra + segment[hdr.offset :]
    raise BoxError("the segment has no fragment (moof) to put emsg boxes before")


# ----------------------------------------------------------------------------- event track


def event_track_init(*, track_id: int = 1, timescale: int = 90000, scheme: str = SCHEME) -> bytes:
    """The init segment of an event message track: ``moov`` with one ``meta`` track whose
    sample entry is ``evte`` (23001-18 7.2) listing ``scheme`` in its ``silb`` (7.3)."""
    silb = bx.SchemeIdList(
        number_of_schemes=1,
        schemes=[bx.SchemeIdEntry(scheme_id_uri=scheme, atleast_one_flag=False)],
    )
    entry = encode_box(bx.EventMessageSampleEntry(), encode_box(silb))
    stbl = container(
        b"stbl",
        encode_box(bx.SampleDescription(entry_count=1), entry),
        encode_box(bx.TimeToSample()),
        encode_box(bx.SampleToChunk()),
        encode_box(bx.SampleSize()),
        encode_box(bx.ChunkOffset()),
    )
    dinf = container(
        b"dinf", encode_box(bx.DataReference(entry_count=1), encode_box(bx.DataEntryUrl()))
    )
    minf = container(b"minf", encode_box(bx.NullMediaHeader()), dinf, stbl)
    mdia = container(
        b"mdia",
        encode_box(bx.MediaHeader(timescale=timescale)),
        encode_box(bx.Handler(handler_type="meta", name="SCTE-35 event messages")),
        minf,
    )
    trak = container(b"trak", encode_box(bx.TrackHeader(track_ID=track_id)), mdia)
    mvex = container(b"mvex", encode_box(bx.TrackExtends(track_ID=track_id)))
    moov = container(
        b"moov",
        encode_box(bx.MovieHeader(timescale=timescale, next_track_ID=track_id + 1)),
        trak,
        mvex,
    )
    brands = [bx.Brand(b) for b in ("cmfc", "iso6")]
    ftyp = encode_box(bx.FileType(major_brand="cmfc", compatible_brands=brands))
    return ftyp + moov


def event_sample(messages: Iterable[bx.EventMessageInstance]) -> bytes:
    """One event track sample: its ``emib`` boxes, or an ``emeb`` when there are none
    (23001-18 6.2)."""
    parts = [encode_box(m) for m in messages]
    return b"".join(parts) if parts else encode_box(bx.EventMessageEmpty())


def event_track_segment(
    samples: list[tuple[int, bytes]],
    *,
    sequence: int,
    decode_time: int,
    track_id: int = 1,
) -> bytes:
    """A media segment of the event track: ``styp``, one ``moof`` and ``mdat`` holding
    ``samples`` given as (duration, sample bytes), all sync samples."""
    runs = [bx.TrunSample(sample_duration=d, sample_size=len(b)) for d, b in samples]
    body = b"".join(b for _, b in samples)

    def moof(offset: int) -> bytes:
        run = bx.TrackRun(
            flags=bx.DATA_OFFSET | bx.SAMPLE_DURATION | bx.SAMPLE_SIZE,
            sample_count=len(runs),
            data_offset=offset,
            samples=runs,
        )
        traf = container(
            b"traf",
            encode_box(bx.TrackFragmentHeader(track_ID=track_id, flags=bx.DEFAULT_BASE_IS_MOOF)),
            encode_box(bx.TrackFragmentDecodeTime(base_media_decode_time=decode_time)),
            encode_box(run),
        )
        return container(
            b"moof", encode_box(bx.MovieFragmentHeader(sequence_number=sequence)), traf
        )

    size = len(moof(0))
    styp = encode_box(
        bx.SegmentType(major_brand="cmfs", compatible_brands=[bx.Brand("cmfs"), bx.Brand("cmfc")])
    )
    return styp + moof(size + 8) + container(b"mdat", body)
