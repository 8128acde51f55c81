"""The ISO BMFF boxes that carry and time SCTE-35 in CMAF, each declared once.

Field names and order follow the syntax of ISO/IEC 14496-12 (file, track and fragment
boxes), ISO/IEC 23009-1 5.10.3.3 (``emsg``) and ISO/IEC 23001-18 (event message tracks:
``evte``, ``silb``, ``emib``, ``emeb``). Reserved fields that the standard sets to 0 are
plain zero-default fields here (the codec's ``reserved()`` means all ones, as SCTE 35 has it).
"""

from __future__ import annotations

from scte35lab.cue.layout import Chars, If, Repeat, Rest, Struct, flag, structure, u
from scte35lab.mp4.box import Box, box, signed, string

FULL = (u("version", 8), u("flags", 24))  # FullBox (14496-12 4.2)


@structure
class Brand(Struct):
    """One four-character brand of ``compatible_brands``."""

    LAYOUT = (Chars("brand", 4),)

    brand: str = "iso6"


@box
class FileType(Box):
    """``ftyp`` (14496-12 4.3): the brands a file conforms to."""

    TYPE = b"ftyp"
    LAYOUT = (Chars("major_brand", 4), u("minor_version", 32), Repeat("compatible_brands", Brand))

    major_brand: str = "cmf2"
    minor_version: int = 0
    compatible_brands: list = None  # type: ignore[assignment]


@box
class SegmentType(FileType):
    """``styp`` (14496-12 8.16.2): a media segment's brands, same syntax as ``ftyp``."""

    TYPE = b"styp"


_TIMES = If(
    "version == 1",
    (u("creation_time", 64), u("modification_time", 64)),
    (u("creation_time", 32), u("modification_time", 32)),
)
_DURATION = If("version == 1", (u("duration", 64),), (u("duration", 32),))
_MATRIX = 0x00010000_00000000_00000000_00000000_00010000_00000000_00000000_00000000_40000000


@box
class MovieHeader(Box):
    """``mvhd`` (14496-12 8.2.2)."""

    TYPE = b"mvhd"
    LAYOUT = (
        *FULL,
        _TIMES,
        u("timescale", 32),
        _DURATION,
        u("rate", 32),
        u("volume", 16),
        u("reserved_zero", 80),
        u("matrix", 288),
        u("pre_defined", 192),
        u("next_track_ID", 32),
    )

    version: int = 0
    flags: int = 0
    creation_time: int = 0
    modification_time: int = 0
    timescale: int = 1000
    duration: int = 0
    rate: int = 0x00010000
    volume: int = 0x0100
    reserved_zero: int = 0
    matrix: int = _MATRIX
    pre_defined: int = 0
    next_track_ID: int = 2


@box
class TrackHeader(Box):
    """``tkhd`` (14496-12 8.3.2)."""

    TYPE = b"tkhd"
    LAYOUT = (
        *FULL,
        _TIMES,
        u("track_ID", 32),
        u("reserved_zero", 32),
        _DURATION,
        u("reserved_zero_2", 64),
        u("layer", 16),
        u("alternate_group", 16),
        u("volume", 16),
        u("reserved_zero_3", 16),
        u("matrix", 288),
        u("width", 32),
        u("height", 32),
    )

    version: int = 0
    flags: int = 3  # track_enabled | track_in_movie
    creation_time: int = 0
    modification_time: int = 0
    track_ID: int = 1
    reserved_zero: int = 0
    duration: int = 0
    reserved_zero_2: int = 0
    layer: int = 0
    alternate_group: int = 0
    volume: int = 0
    reserved_zero_3: int = 0
    matrix: int = _MATRIX
    width: int = 0
    height: int = 0


@box
class MediaHeader(Box):
    """``mdhd`` (14496-12 8.4.2): the track's timescale."""

    TYPE = b"mdhd"
    LAYOUT = (
        *FULL,
        _TIMES,
        u("timescale", 32),
        _DURATION,
        flag("pad"),
        u("language", 15),
        u("pre_defined", 16),
    )

    version: int = 0
    flags: int = 0
    creation_time: int = 0
    modification_time: int = 0
    timescale: int = 90000
    duration: int = 0
    pad: bool = False
    language: int = 0x55C4  # "und", packed ISO-639-2/T
    pre_defined: int = 0


@box
class Handler(Box):
    """``hdlr`` (14496-12 8.4.3): what kind of media the track holds (``vide``, ``meta`` ...)."""

    TYPE = b"hdlr"
    LAYOUT = (
        *FULL,
        u("pre_defined", 32),
        Chars("handler_type", 4),
        u("reserved_zero", 96),
        string("name"),
    )

    version: int = 0
    flags: int = 0
    pre_defined: int = 0
    handler_type: str = "meta"
    reserved_zero: int = 0
    name: str = ""


@box
class NullMediaHeader(Box):
    """``nmhd`` (14496-12 8.4.5.2): the media header of a track that is not audio or video."""

    TYPE = b"nmhd"
    LAYOUT = FULL

    version: int = 0
    flags: int = 0


@box
class DataReference(Box):
    """``dref`` (14496-12 8.7.2); its entries follow as child boxes."""

    TYPE = b"dref"
    CHILDREN_AT = 8
    LAYOUT = (*FULL, u("entry_count", 32))

    version: int = 0
    flags: int = 0
    entry_count: int = 1


@box
class DataEntryUrl(Box):
    """``url `` (14496-12 8.7.2): flags 1 = the media is in this file."""

    TYPE = b"url "
    LAYOUT = FULL

    version: int = 0
    flags: int = 1


@box
class SampleDescription(Box):
    """``stsd`` (14496-12 8.5.2); the sample entries follow as child boxes."""

    TYPE = b"stsd"
    CHILDREN_AT = 8
    LAYOUT = (*FULL, u("entry_count", 32))

    version: int = 0
    flags: int = 0
    entry_count: int = 1


@box
class TimeToSample(Box):
    """``stts`` (14496-12 8.6.1.2); empty in a fragmented file's init segment."""

    TYPE = b"stts"
    LAYOUT = (*FULL, u("entry_count", 32), Rest("entries"))

    version: int = 0
    flags: int = 0
    entry_count: int = 0
    entries: bytes = b""


@box
class SampleToChunk(TimeToSample):
    """``stsc`` (14496-12 8.7.4)."""

    TYPE = b"stsc"


@box
class ChunkOffset(TimeToSample):
    """``stco`` (14496-12 8.7.5)."""

    TYPE = b"stco"


@box
class SampleSize(Box):
    """``stsz`` (14496-12 8.7.3.2)."""

    TYPE = b"stsz"
    LAYOUT = (*FULL, u("sample_size", 32), u("sample_count", 32), Rest("entries"))

    version: int = 0
    flags: int = 0
    sample_size: int = 0
    sample_count: int = 0
    entries: bytes = b""


@structure
class EditListEntry(Struct):
    """One entry of an ``elst``: a span of the presentation, and where in the media it starts
    (``media_time`` -1 = an empty edit)."""

    OUTER_NAMES = ("version",)  # the elst's own version says the widths
    LAYOUT = (
        If(
            "version == 1",
            (u("segment_duration", 64), signed("media_time", 64)),
            (u("segment_duration", 32), signed("media_time", 32)),
        ),
        signed("media_rate_integer", 16),
        signed("media_rate_fraction", 16),
    )

    segment_duration: int = 0
    media_time: int = 0
    media_rate_integer: int = 1
    media_rate_fraction: int = 0


@box
class EditList(Box):
    """``elst`` (14496-12 8.6.6): maps the media timeline onto the presentation."""

    TYPE = b"elst"
    LAYOUT = (*FULL, u("entry_count", 32), Repeat("entries", EditListEntry, "entry_count"))

    version: int = 0
    flags: int = 0
    entry_count: int = 0
    entries: list = None  # type: ignore[assignment]


@box
class TrackExtends(Box):
    """``trex`` (14496-12 8.8.3): the defaults a fragment's samples fall back on."""

    TYPE = b"trex"
    LAYOUT = (
        *FULL,
        u("track_ID", 32),
        u("default_sample_description_index", 32),
        u("default_sample_duration", 32),
        u("default_sample_size", 32),
        u("default_sample_flags", 32),
    )

    version: int = 0
    flags: int = 0
    track_ID: int = 1
    default_sample_description_index: int = 1
    default_sample_duration: int = 0
    default_sample_size: int = 0
    default_sample_flags: int = 0


@box
class MovieFragmentHeader(Box):
    """``mfhd`` (14496-12 8.8.5)."""

    TYPE = b"mfhd"
    LAYOUT = (*FULL, u("sequence_number", 32))

    version: int = 0
    flags: int = 0
    sequence_number: int = 1


# tf_flags (14496-12 8.8.7.1)
BASE_DATA_OFFSET = 0x000001
SAMPLE_DESCRIPTION_INDEX = 0x000002
DEFAULT_SAMPLE_DURATION = 0x000008
DEFAULT_SAMPLE_SIZE = 0x000010
DEFAULT_SAMPLE_FLAGS = 0x000020
DEFAULT_BASE_IS_MOOF = 0x020000


@box
class TrackFragmentHeader(Box):
    """``tfhd`` (14496-12 8.8.7): a track fragment's track and sample defaults."""

    TYPE = b"tfhd"
    LAYOUT = (
        *FULL,
        u("track_ID", 32),
        If("flags & 0x000001", (u("base_data_offset", 64),), likely=False),
        If("flags & 0x000002", (u("sample_description_index", 32),), likely=False),
        If("flags & 0x000008", (u("default_sample_duration", 32),)),
        If("flags & 0x000010", (u("default_sample_size", 32),)),
        If("flags & 0x000020", (u("default_sample_flags", 32),)),
    )

    version: int = 0
    flags: int = DEFAULT_BASE_IS_MOOF
    track_ID: int = 1
    base_data_offset: int | None = None
    sample_description_index: int | None = None
    default_sample_duration: int | None = None
    default_sample_size: int | None = None
    default_sample_flags: int | None = None


@box
class TrackFragmentDecodeTime(Box):
    """``tfdt`` (14496-12 8.8.12): the decode time of the fragment's first sample."""

    TYPE = b"tfdt"
    LAYOUT = (
        *FULL,
        If("version == 1", (u("base_media_decode_time", 64),), (u("base_media_decode_time", 32),)),
    )

    version: int = 1
    flags: int = 0
    base_media_decode_time: int = 0


# tr_flags (14496-12 8.8.8.1)
DATA_OFFSET = 0x000001
FIRST_SAMPLE_FLAGS = 0x000004
SAMPLE_DURATION = 0x000100
SAMPLE_SIZE = 0x000200
SAMPLE_FLAGS = 0x000400
SAMPLE_COMPOSITION_TIME_OFFSETS = 0x000800

# sample_flags (14496-12 8.8.3.1): sample_is_non_sync_sample
NON_SYNC = 0x00010000


@structure
class TrunSample(Struct):
    """One sample of a ``trun``; which fields are present is the run's ``tr_flags``."""

    OUTER_NAMES = ("flags", "version")  # the trun's: which fields, and the offset's sign
    LAYOUT = (
        If("flags & 0x000100", (u("sample_duration", 32),)),
        If("flags & 0x000200", (u("sample_size", 32),)),
        If("flags & 0x000400", (u("sample_flags", 32),), likely=False),
        If(
            "flags & 0x000800",
            (
                If(
                    "version == 0",
                    (u("sample_composition_time_offset", 32),),
                    (signed("sample_composition_time_offset", 32),),
                ),
            ),
            likely=False,
        ),
    )

    sample_duration: int | None = None
    sample_size: int | None = None
    sample_flags: int | None = None
    sample_composition_time_offset: int | None = None


@box
class TrackRun(Box):
    """``trun`` (14496-12 8.8.8): a run of contiguous samples of one track fragment."""

    TYPE = b"trun"
    LAYOUT = (
        *FULL,
        u("sample_count", 32),
        If("flags & 0x000001", (signed("data_offset", 32),)),
        If("flags & 0x000004", (u("first_sample_flags", 32),), likely=False),
        Repeat("samples", TrunSample, "sample_count"),
    )

    version: int = 0
    flags: int = 0
    sample_count: int = 0
    data_offset: int | None = None
    first_sample_flags: int | None = None
    samples: list = None  # type: ignore[assignment]


@box
class EventMessage(Box):
    """``emsg`` (ISO/IEC 23009-1 5.10.3.3): version 0 times the event from the segment's
    earliest presentation time, version 1 on the track's own timeline."""

    TYPE = b"emsg"
    LAYOUT = (
        *FULL,
        If(
            "version == 0",
            (
                string("scheme_id_uri"),
                string("value"),
                u("timescale", 32),
                u("presentation_time_delta", 32),
                u("event_duration", 32),
                u("id", 32),
            ),
            (
                u("timescale", 32),
                u("presentation_time", 64),
                u("event_duration", 32),
                u("id", 32),
                string("scheme_id_uri"),
                string("value"),
            ),
        ),
        Rest("message_data"),
    )

    version: int = 1
    flags: int = 0
    scheme_id_uri: str = ""
    value: str = ""
    timescale: int = 90000
    presentation_time_delta: int | None = None
    presentation_time: int | None = None
    event_duration: int = 0xFFFFFFFF
    id: int = 0
    message_data: bytes = b""


@box
class EventMessageInstance(Box):
    """``emib`` (ISO/IEC 23001-18 6.1): one event in an event message track's sample, timed
    from that sample's presentation time."""

    TYPE = b"emib"
    LAYOUT = (
        *FULL,
        u("reserved_zero", 32),
        signed("presentation_time_delta", 64),
        u("event_duration", 32),
        u("id", 32),
        string("scheme_id_uri"),
        string("value"),
        Rest("message_data"),
    )

    version: int = 0
    flags: int = 0
    reserved_zero: int = 0
    presentation_time_delta: int = 0
    event_duration: int = 0xFFFFFFFF
    id: int = 0
    scheme_id_uri: str = ""
    value: str = ""
    message_data: bytes = b""


@box
class EventMessageEmpty(Box):
    """``emeb`` (ISO/IEC 23001-18 6.2): a sample of an event message track with no event."""

    TYPE = b"emeb"
    LAYOUT = ()


@box
class EventMessageSampleEntry(Box):
    """``evte`` (ISO/IEC 23001-18 7.2): the sample entry of an event message track
    (SampleEntry's fields; ``btrt`` / ``silb`` may follow as child boxes)."""

    TYPE = b"evte"
    CHILDREN_AT = 8
    LAYOUT = (u("reserved_zero", 48), u("data_reference_index", 16))

    reserved_zero: int = 0
    data_reference_index: int = 1


@box
class BitRate(Box):
    """``btrt`` (14496-12 8.5.2.2)."""

    TYPE = b"btrt"
    LAYOUT = (u("bufferSizeDB", 32), u("maxBitrate", 32), u("avgBitrate", 32))

    bufferSizeDB: int = 0
    maxBitrate: int = 0
    avgBitrate: int = 0


@structure
class SchemeIdEntry(Struct):
    """One scheme of a ``silb``."""

    LAYOUT = (
        string("scheme_id_uri"),
        string("value"),
        u("reserved_zero", 7),
        flag("atleast_one_flag"),
    )

    scheme_id_uri: str = ""
    value: str = ""
    reserved_zero: int = 0
    atleast_one_flag: bool = False


@box
class SchemeIdList(Box):
    """``silb`` (ISO/IEC 23001-18 7.3): the schemes an event message track may carry."""

    TYPE = b"silb"
    LAYOUT = (
        *FULL,
        u("number_of_schemes", 32),
        Repeat("schemes", SchemeIdEntry, "number_of_schemes"),
        u("reserved_zero", 7),
        flag("other_schemes_flag"),
    )

    version: int = 0
    flags: int = 0
    number_of_schemes: int = 0
    schemes: list = None  # type: ignore[assignment]
    reserved_zero: int = 0
    other_schemes_flag: bool = False
