"""Ad-break schedules: the model, cue plans, validation and the SQLite store.

```python
from scte35lab.schedule import AdBreak, Schedule, Store, StreamClock
sched = Schedule([AdBreak(600, 30), AdBreak("00:20:00.000", 60)], plan="splice_insert")
sched.validate()                                  # every broken rule, explained
cues = sched.cues(clock=StreamClock(first_pts))   # PlannedCue list, ready for the injector
store = Store("lab.db")
store.add_stream("main", srt_passphrase_env="MAIN_SRT_PASSPHRASE")
key = store.new_stream_key("main")                # shown once; only a salted hash is kept
store.start_stream("main", first_pts=first_pts)
cues = store.plan("main", sched)                  # ids never repeat within the stream
store.log_cue("main", cues[0].cue, cue_id=cues[0].cue_id, role="out")
store.markers("main"); store.logs("main"); store.analytics("main", last=600)
```
"""

from scte35lab.schedule.errors import (
    EventIdError,
    ScheduleError,
    ScheduleValidationError,
    StoreError,
)
from scte35lab.schedule.eventids import EventIdAllocator, EventIdSource
from scte35lab.schedule.model import KINDS, AdBreak, Schedule, StreamClock
from scte35lab.schedule.plans import (
    CuePlan,
    PlannedCue,
    SpliceInsertPlan,
    TimeSignalPlan,
    plan_for,
    plan_schedule,
    planned_frame,
)
from scte35lab.schedule.planspec import SEGMENTATION_PAIRS, normalize_plan_spec
from scte35lab.schedule.store import SCHEMA_VERSION, Store, StoreEventIds, Stream
from scte35lab.schedule.timecode import format_time, parse_time
from scte35lab.schedule.validation import RULES, ScheduleRules, ValidationIssue

__all__ = [
    "KINDS",
    "RULES",
    "SCHEMA_VERSION",
    "SEGMENTATION_PAIRS",
    "AdBreak",
    "CuePlan",
    "EventIdAllocator",
    "EventIdError",
    "EventIdSource",
    "PlannedCue",
    "Schedule",
    "ScheduleError",
    "ScheduleRules",
    "ScheduleValidationError",
    "SpliceInsertPlan",
    "Store",
    "StoreError",
    "StoreEventIds",
    "Stream",
    "StreamClock",
    "TimeSignalPlan",
    "ValidationIssue",
    "format_time",
    "normalize_plan_spec",
    "parse_time",
    "plan_for",
    "plan_schedule",
    "planned_frame",
]
