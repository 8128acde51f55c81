"""The Dask client a call runs on: the one given, one for a scheduler address, a
``LocalCluster`` of processes started for ``workers=N``, or none (in-process)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from scte35lab.errors import ComponentError, InputFormatError

log = logging.getLogger(__name__)

# How the workers of a LocalCluster we start differ from Dask's defaults (measured on
# bench/scale.py, CPU seconds of the worker processes):
LOCAL_WORKER_CONFIG = MappingProxyType(
    {
        # the nanny sets MALLOC_TRIM_THRESHOLD_ for its workers, which turns off glibc's
        # adaptive mmap threshold: each chunk's numpy temporaries are then mapped and unmapped
        # afresh and a probe runs ~1.9x slower. Leave glibc's default.
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
        # the statistical profiler samples the task thread's stack every 10 ms from the event
        # loop thread, taking the GIL from the probe each time: 0.015 of the worker's 0.08 CPU
        # seconds per GB beside its task, ~3 % of the probe (the dashboard's profile page
        # stays empty without it)
        "distributed.worker.profile.enabled": False,
    }
)


@dataclass
class Runner:
    """A client (or None: in-process) and whether this call started its cluster."""

    client: Any = None
    cluster: Any = None

    @property
    def dashboard_link(self) -> str | None:
        return None if self.client is None else self.client.dashboard_link

    def close(self) -> None:
        """Stop what this call started (a client it opened, a cluster it started)."""
        if self.cluster is not None:
            if isinstance(self.cluster, _Owned):
                self.client.close()
            else:
                # a heartbeat caught mid-way by the closing scheduler is logged with its
                # traceback on the worker's stderr, which is the user's terminal: the
                # workers stop beating first
                with contextlib.suppress(Exception):
                    self.client.run(_stop_heartbeat)
                self.client.close()
                self.cluster.close()
            self.client = self.cluster = None


def _stop_heartbeat(dask_worker: Any) -> None:
    """On a worker of a cluster being closed: no more heartbeats to the scheduler."""
    callback = dask_worker.periodic_callbacks.get("heartbeat")
    if callback is not None:
        callback.stop()


def runner(client: Any = None, workers: int | None = None) -> Runner:
    """``client``: a ``distributed.Client`` or a scheduler address (``tcp://host:8786``);
    ``workers``: start a ``LocalCluster`` of that many single-threaded processes."""
    if client is not None and workers is not None:
        raise InputFormatError("give a client (or scheduler address) or workers, not both")
    if client is None and workers is None:
        return Runner()
    import dask
    from distributed import Client, LocalCluster

    if isinstance(client, str):
        try:
            c = Client(client, timeout=dask.config.get("distributed.comm.timeouts.connect"))
        except (OSError, TimeoutError) as e:
            raise ComponentError(f"cannot reach the Dask scheduler at {client}: {e}") from e
        return Runner(c, cluster=_Owned(c))
    if client is not None:
        return Runner(client)
    if workers < 1:
        raise InputFormatError(f"workers must be >= 1, not {workers}")
    with dask.config.set(dict(LOCAL_WORKER_CONFIG)):
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    c = Client(cluster)
    log.info("Dask LocalCluster of %d workers, dashboard %s", workers, c.dashboard_link)
    return Runner(c, cluster)


class _Owned:
    """Stands for a remote cluster we only opened a client to: closing it closes nothing."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def close(self) -> None:
        return None
