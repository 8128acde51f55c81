"""Layer 4: ipywidgets faces over the public functions, one module per widget.

```python
from scte35lab.widgets import CueInspector, ScheduleBuilder, StreamManager, Timeline
CueInspector("/DAlAAAAAAAA///wFAUAAAAHf+/+AA27oP4AKTLgAAAAAAAA29qkJA==")
ScheduleBuilder(store="lab.db", stream="main")
Timeline("sample_streams/cue_off_idr.ts").zoom(0)
LiveDashboard(Pipeline("srt://127.0.0.1:9000", store="lab.db", stream="main"))
Desk("lab.db")  # from scte35lab.widgets.desk: what `scte35lab desk` serves
```
"""

from scte35lab.widgets.cue_inspector import CueInspector
from scte35lab.widgets.live_dashboard import LiveDashboard
from scte35lab.widgets.obs_panel import ObsPanel
from scte35lab.widgets.schedule_builder import ScheduleBuilder
from scte35lab.widgets.stream_manager import StreamManager, obs_settings
from scte35lab.widgets.timeline import Timeline, cue_checks, plot_timeline

__all__ = [
    "CueInspector",
    "LiveDashboard",
    "ObsPanel",
    "ScheduleBuilder",
    "StreamManager",
    "Timeline",
    "cue_checks",
    "obs_settings",
    "plot_timeline",
]
