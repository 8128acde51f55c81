"""``CueInspector``: paste a cue (base64 or hex), read its tree, edit a field, get the bytes."""

from __future__ import annotations

import html
import json
import logging
from typing import Any

import ipywidgets as widgets

from scte35lab.clock import PTS_HZ
from scte35lab.cue import Cue
from scte35lab.cue.dictform import COMPUTED_KEYS
from scte35lab.errors import Scte35Error
from scte35lab.widgets.common import WARN, message_html, show_error

log = logging.getLogger(__name__)

Path_ = tuple[str | int, ...]

# human labels for the standard's field names (ANSI/SCTE 35 syntax elements)
FIELD_LABELS = {
    "table_id": "table id (0xFC)",
    "section_syntax_indicator": "section syntax indicator",
    "private_indicator": "private indicator",
    "sap_type": "stream access point type",
    "section_length": "section length (bytes)",
    "protocol_version": "protocol version",
    "encrypted_packet": "encrypted",
    "encryption_algorithm": "encryption algorithm",
    "pts_adjustment": "PTS adjustment (90 kHz ticks, added to every time)",
    "cw_index": "control word index",
    "tier": "authorization tier",
    "splice_command_length": "command length (bytes)",
    "splice_command_type": "command type",
    "splice_event_id": "splice event id",
    "splice_event_cancel_indicator": "cancels the event",
    "out_of_network_indicator": "out of network (start of break)",
    "program_splice_flag": "whole programme splices",
    "duration_flag": "has a break duration",
    "splice_immediate_flag": "splice immediately",
    "event_id_compliance_flag": "event id compliant",
    "time_specified_flag": "splice time given",
    "pts_time": "splice time (90 kHz ticks)",
    "auto_return": "returns by itself",
    "duration": "duration (90 kHz ticks)",
    "break_duration": "break duration",
    "unique_program_id": "programme id",
    "avail_num": "avail number",
    "avails_expected": "avails expected",
    "identifier": "descriptor owner (CUEI)",
    "splice_descriptor_tag": "descriptor tag",
    "descriptor_length": "descriptor length (bytes)",
    "segmentation_event_id": "segmentation event id",
    "segmentation_event_cancel_indicator": "cancels the segment",
    "segmentation_event_id_compliance_indicator": "segment id compliant",
    "program_segmentation_flag": "whole programme segment",
    "segmentation_duration_flag": "has a segment duration",
    "delivery_not_restricted_flag": "delivery not restricted",
    "web_delivery_allowed_flag": "web delivery allowed",
    "no_regional_blackout_flag": "no regional blackout",
    "archive_allowed_flag": "archive allowed",
    "device_restrictions": "device restrictions",
    "segmentation_duration": "segment duration (90 kHz ticks)",
    "segmentation_upid_type": "UPID type",
    "segmentation_upid_length": "UPID length (bytes)",
    "segmentation_upid": "UPID (content id)",
    "segmentation_type_id": "segmentation type",
    "segment_num": "segment number",
    "segments_expected": "segments expected",
    "sub_segment_num": "sub-segment number",
    "sub_segments_expected": "sub-segments expected",
    "provider_avail_id": "provider avail id",
    "preroll": "pre-roll",
    "dtmf_count": "DTMF character count",
    "dtmf_char": "DTMF characters",
    "utc_splice_time": "UTC splice time",
    "name": "name",
    "private_data": "private data",
    "alignment_stuffing": "alignment stuffing",
    "e_crc_32": "encrypted CRC",
    "crc_32": "CRC-32",
}


def field_label(path: Path_ | str) -> str:
    """The human label of a field path's last name (the raw name when none is known)."""
    names = [p for p in (path.split(".") if isinstance(path, str) else path) if isinstance(p, str)]
    if not names:
        return ""
    last = names[-1].split("[")[0]
    return FIELD_LABELS.get(last, last.replace("_", " "))


def _leaves(d: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every leaf of a cue's dict, computed ones (command type, lengths, CRC) included;
    the ``*_seconds`` extras are left out (the table puts seconds beside ticks itself)."""
    if isinstance(d, dict):
        return [
            p for k, v in d.items() if not k.endswith("_seconds") for p in _leaves(v, (*prefix, k))
        ]
    if isinstance(d, list):
        return [p for i, v in enumerate(d) for p in _leaves(v, (*prefix, i))]
    return [prefix]


def fields_html(d: Any) -> str:
    """Every field of a cue's dict as a table: raw field name, human label, value (and
    seconds beside 90 kHz tick values)."""
    rows = []
    for path in _leaves(d):
        value = _get(d, path)
        shown = html.escape("" if value is None else str(value))
        if isinstance(value, int) and not isinstance(value, bool) and "ticks" in field_label(path):
            shown += f" <span style='color:#57606a'>({value / PTS_HZ:.3f} s)</span>"
        rows.append(
            f"<tr><td style='font-family:monospace'>{html.escape(path_text(path))}</td>"
            f"<td>{html.escape(field_label(path))}</td><td>{shown}</td></tr>"
        )
    return (
        "<table class='s35-cue-fields'><thead><tr><th>field</th><th>meaning</th>"
        f"<th>value</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def editable_fields(d: Any, prefix: Path_ = ()) -> list[Path_]:
    """Paths of the leaf fields of ``cue.to_dict()`` that ``Cue.from_dict`` reads back."""
    out: list[Path_] = []
    if isinstance(d, dict):
        for key, value in d.items():
            if key in COMPUTED_KEYS or key.endswith("_seconds"):
                continue
            out += editable_fields(value, (*prefix, key))
    elif isinstance(d, list):
        for i, value in enumerate(d):
            out += editable_fields(value, (*prefix, i))
    else:
        out.append(prefix)
    return out


def path_text(path: Path_) -> str:
    """A field path as text: ``splice_command.splice_time.pts_time``, ``descriptors[0].tier``."""
    return ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")


def _get(d: Any, path: Path_) -> Any:
    for p in path:
        d = d[p]
    return d


def _set(d: Any, path: Path_, value: Any) -> None:
    for p in path[:-1]:
        d = d[p]
    d[path[-1]] = value


def parse_value(text: str, old: Any) -> Any:
    """A typed value for a field whose current value is ``old``, read from ``text``."""
    text = text.strip()
    if isinstance(old, bool):
        low = text.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ValueError(f"{text!r} is not true or false")
    if isinstance(old, int):
        return int(text, 0)
    if old is None:
        if text.lower() in ("", "none", "null"):
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


class CueInspector(widgets.VBox):
    """Paste base64 or hex into ``source``: ``fields`` lists every field by its standard name
    with a human label beside it, ``tree`` shows the decoded cue, ``base64`` and
    ``hex`` its bytes. Pick a field, type a value, press ``set_button``: the cue is rebuilt
    and re-encoded (CRC_32 recomputed). Errors appear in ``message``; the last good cue stays.
    """

    def __init__(self, data: str | bytes | Cue | None = None) -> None:
        self.cue: Cue | None = None
        self.source = widgets.Textarea(
            placeholder="paste a cue: base64 (/DA...) or hex (0xFC...)",
            layout=widgets.Layout(width="100%", height="4em"),
            continuous_update=True,
        )
        self.message = widgets.HTML()
        self.summary = widgets.HTML()
        self.tree = widgets.HTML()
        self.field = widgets.Dropdown(description="field", options=[])
        self.value = widgets.Text(description="value", continuous_update=False)
        self.set_button = widgets.Button(description="Set field", icon="pencil")
        self.json = widgets.Textarea(
            description="JSON",
            layout=widgets.Layout(width="100%", height="14em"),
            continuous_update=False,
        )
        self.base64 = widgets.Text(
            description="base64", disabled=True, layout=widgets.Layout(width="100%")
        )
        self.hex = widgets.Text(
            description="hex", disabled=True, layout=widgets.Layout(width="100%")
        )
        self.source.observe(self._on_source, names="value")
        self.field.observe(self._on_field, names="value")
        self.set_button.on_click(lambda _b: self.set_field())
        self.json.observe(self._on_json, names="value")
        self._updating = False
        edit = widgets.HBox([self.field, self.value, self.set_button])
        self.fields = widgets.HTML()
        tabs = widgets.Tab(children=[self.fields, self.tree, self.json])
        tabs.set_title(0, "fields")
        tabs.set_title(1, "decoded")
        tabs.set_title(2, "JSON (editable)")
        super().__init__(
            [self.source, self.message, self.summary, tabs, edit, self.base64, self.hex]
        )
        self.add_class("s35-cue-inspector")
        if isinstance(data, Cue):
            self.show(data)
        elif data is not None:
            self.source.value = data if isinstance(data, str) else data.hex()

    # -- input -----------------------------------------------------------------------------
    def _on_source(self, change: dict[str, Any]) -> None:
        text = change["new"].strip()
        if not text:
            self.message.value = ""
            return
        try:
            cue = Cue.decode(text)
        except Scte35Error as exc:
            kept = "" if self.cue is None else " (below: the last cue that decoded)"
            show_error(self.message, f"not a cue: {exc}{kept}")
            return
        self.show(cue)

    def show(self, cue: Cue) -> None:
        """Show ``cue``: tree, JSON, field list, bytes and the standard's warnings."""
        self.cue = cue
        self.message.value = ""
        self._render()

    def _render(self) -> None:
        cue = self.cue
        if cue is None:
            return
        self._updating = True
        try:
            d = cue.to_dict()
            self.tree.value = cue._repr_html_()
            self.json.value = json.dumps(d, indent=1)
            paths = editable_fields(d)
            current = self.field.value
            self.field.options = [(f"{path_text(p)} ({field_label(p)})", p) for p in paths]
            self.fields.value = fields_html(d)
            if current in paths:
                self.field.value = current
            self.base64.value = cue.to_base64()
            self.hex.value = cue.to_hex()
            warnings = cue.validate()
            self.summary.value = f"<b>{html.escape(repr(cue))}</b>" + message_html(warnings, WARN)
            self._on_field({"new": self.field.value})
        finally:
            self._updating = False

    def _on_field(self, change: dict[str, Any]) -> None:
        path = change["new"]
        if self.cue is None or not path:
            return
        value = _get(self.cue.to_dict(), path)
        self.value.value = "" if value is None else str(value)

    # -- edits -----------------------------------------------------------------------------
    def set_field(self, path: str | Path_ | None = None, value: str | None = None) -> bool:
        """Set one field (the selected one and the typed value by default); ``True`` if the
        cue was rebuilt, ``False`` with the reason in ``message`` if not."""
        if self.cue is None:
            show_error(self.message, "no cue to edit: paste one first")
            return False
        if path is None:
            path = self.field.value
        elif isinstance(path, str):
            by_name = {path_text(p): p for _label, p in self.field.options}
            if path not in by_name:
                show_error(self.message, f"{path!r} is not an editable field of this cue")
                return False
            path = by_name[path]
        text = self.value.value if value is None else value
        d = self.cue.to_dict()
        try:
            _set(d, path, parse_value(text, _get(d, path)))
            cue = Cue.from_dict(d)
            cue.encode()
        except (Scte35Error, ValueError) as exc:
            show_error(self.message, f"{path_text(path)}: {exc}")
            return False
        self.field.value = path
        self.show(cue)
        return True

    def _on_json(self, change: dict[str, Any]) -> None:
        if self._updating:
            return
        try:
            cue = Cue.from_dict(json.loads(change["new"]))
            cue.encode()
        except json.JSONDecodeError as exc:
            show_error(self.message, f"JSON: {exc}")
            return
        except (Scte35Error, KeyError, TypeError, AttributeError) as exc:
            show_error(self.message, f"JSON does not describe a cue: {exc}")
            return
        self.show(cue)

    def __repr__(self) -> str:
        return f"CueInspector({self.cue!r})"


__all__ = [
    "FIELD_LABELS",
    "CueInspector",
    "editable_fields",
    "field_label",
    "fields_html",
    "parse_value",
    "path_text",
]
