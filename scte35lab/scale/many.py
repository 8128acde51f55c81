"""``probe_many`` / ``verify_many``: many captures (paths, globs, fsspec URLs) probed or
verified on Dask, one task per capture (a capture over ``split_bytes`` as byte ranges), with
the tables as Dask DataFrames that carry a ``source`` column."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd

from scte35lab.analysis.probe import probe
from scte35lab.analysis.verify import verify
from scte35lab.errors import Scte35Error
from scte35lab.scale.cluster import Runner, runner
from scte35lab.scale.sources import SourceList, SourceOpener, expand
from scte35lab.scale.split import default_parts, split_probe
from scte35lab.scale.tables import (
    PROBE_TABLES,
    VERIFY_TABLES,
    failed_probe_tables,
    failed_verify_tables,
    probe_meta,
    probe_tables,
    verify_meta,
    verify_tables,
)
from scte35lab.ts.scan import CHUNK_BYTES

log = logging.getLogger(__name__)

SPLIT_BYTES = 1 << 30  # a capture larger than this is probed as byte ranges on a cluster


def _failure(source: str, e: BaseException) -> str:
    if isinstance(e, Scte35Error | OSError):
        return str(e)
    log.error("%s: unexpected %s", source, type(e).__name__, exc_info=e)
    return f"{type(e).__name__}: {e}"


def probe_one(source: str, pids: set[int] | None = None) -> dict[str, pd.DataFrame]:
    """One capture's tables, or its failure as rows (never raises for a bad capture)."""
    try:
        with SourceOpener(source)() as f:
            return probe_tables(probe(f, pids=pids, progress=False), source)
    except Exception as e:  # one capture's failure must not lose the others' results
        return failed_probe_tables(source, _failure(source, e))


def verify_one(
    source: str, preroll: float, pids: set[int] | None = None
) -> dict[str, pd.DataFrame]:
    """One capture's verify report and summary, or its failure as the summary line."""
    try:
        with SourceOpener(source)() as f:
            p = probe(f, pids=pids, progress=False)
        return verify_tables(verify(p, preroll=preroll), source)
    except Exception as e:
        return failed_verify_tables(source, _failure(source, e))


def _pick(tables: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    return tables[name]


class Many:
    """Per-source tables, on the cluster (futures) or here (pandas), as Dask DataFrames."""

    _names: tuple[str, ...] = ()

    def __init__(self, results: list[Any], meta: dict[str, pd.DataFrame], run: Runner) -> None:
        self._results = results
        self._meta = meta
        self._run = run

    @property
    def client(self) -> Any:
        return self._run.client

    def table(self, name: str) -> dd.DataFrame:
        """One table of every source as a Dask DataFrame (one partition per source)."""
        if name not in self._names:
            raise KeyError(f"no table {name!r}: one of {', '.join(self._names)}")
        if self.client is None:
            parts = [dask.delayed(_pick, pure=False)(r, name) for r in self._results]
        else:
            parts = [self.client.submit(_pick, r, name, pure=False) for r in self._results]
        return dd.from_delayed(parts, meta=self._meta[name], verify_meta=False)

    def compute(self) -> dict[str, pd.DataFrame]:
        """Every table as one pandas DataFrame, by name."""
        results = self._results if self.client is None else self._gather()
        return {
            n: pd.concat([r[n] for r in results], ignore_index=True) if results else self._meta[n]
            for n in self._names
        }

    def _gather(self) -> list[dict[str, pd.DataFrame]]:
        """Each capture's tables as soon as it is done (the transfers overlap the work)."""
        from distributed import as_completed

        got = {f.key: r for f, r in as_completed(self._results, with_results=True)}
        return [got[f.key] for f in self._results]

    def to_parquet(self, folder: str | os.PathLike) -> list[str]:
        """Write each table as a parquet dataset ``folder/<table>/`` (one file per source,
        pyarrow), readable by pandas, Dask, DuckDB or Spark; returns the dataset folders."""
        out = []
        for n in self._names:
            path = os.path.join(os.fspath(folder), n)
            self.table(n).to_parquet(path, engine="pyarrow", write_index=False, overwrite=True)
            out.append(path)
        return out

    def close(self) -> None:
        """Stop the cluster this call started (results on it are gone afterwards)."""
        self._run.close()

    def __enter__(self) -> Many:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ManyProbe(Many):
    """``probe_many``'s result: ``.sources`` (one row per capture: ok or its failure),
    ``.pids``, ``.frames``, ``.keyframes``, ``.cues``, ``.errors`` as Dask DataFrames."""

    _names = PROBE_TABLES

    @property
    def sources(self) -> dd.DataFrame:
        return self.table("sources")

    @property
    def pids(self) -> dd.DataFrame:
        return self.table("pids")

    @property
    def frames(self) -> dd.DataFrame:
        return self.table("frames")

    @property
    def keyframes(self) -> dd.DataFrame:
        f = self.frames
        return f[f["keyframe"]]

    @property
    def cues(self) -> dd.DataFrame:
        return self.table("cues")

    @property
    def errors(self) -> dd.DataFrame:
        return self.table("errors")


class ManyVerify(Many):
    """``verify_many``'s result: ``.report`` (one row per cue of every capture) and
    ``.summary`` (one row per capture) as Dask DataFrames."""

    _names = VERIFY_TABLES

    @property
    def report(self) -> dd.DataFrame:
        return self.table("report")

    @property
    def summary(self) -> dd.DataFrame:
        return self.table("summary")


def _run_all(
    sources: list[str],
    task: Callable[..., dict[str, pd.DataFrame]],
    args: tuple,
    run: Runner,
    progress: bool | Callable[[int], None] | None,
    split: Callable[[str], dict[str, pd.DataFrame]] | None,
    split_bytes: int,
) -> list[Any]:
    """Each source's tables: futures on the cluster, or computed here one by one."""
    if run.client is None:
        bar = _bar(progress, len(sources))
        out = []
        for s in sources:
            out.append(task(s, *args))
            bar(len(out))
        bar(None)
        return out
    client = run.client
    big = set()
    if split is not None:
        for s in sources:
            try:
                if SourceOpener(s).size() > split_bytes:
                    big.add(s)
            except Scte35Error:
                pass  # the task reports it
    futures = {s: client.submit(task, s, *args, pure=False) for s in sources if s not in big}
    for s in sources:
        if s in big:
            futures[s] = client.scatter([split(s)], hash=False)[0]
    ordered = [futures[s] for s in sources]
    if callable(progress):
        from distributed import as_completed

        for done, _ in enumerate(as_completed(ordered), 1):
            progress(done)
    elif progress:
        from distributed import progress as dask_progress

        dask_progress(ordered)
    return ordered


def _bar(progress: bool | Callable[[int], None] | None, total: int) -> Callable[[int | None], None]:
    if callable(progress):
        return lambda n: None if n is None else progress(n)
    if not progress:
        return lambda n: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="capture", desc="probe")

    def step(n: int | None) -> None:
        if n is None:
            bar.close()
        else:
            bar.update(n - bar.n)

    return step


def probe_many(
    sources: SourceList,
    *,
    client: Any = None,
    workers: int | None = None,
    pids: list[int] | set[int] | None = None,
    split_bytes: int = SPLIT_BYTES,
    chunk_bytes: int = CHUNK_BYTES,
    progress: bool | Callable[[int], None] | None = None,
) -> ManyProbe:
    """Probe every capture in ``sources`` (paths, globs, fsspec URLs, or a list of them).

    No ``client``/``workers``: in-process, one after another. ``workers=N``: a LocalCluster
    of N processes, stopped by ``.close()`` (or ``with``). ``client``: a
    ``distributed.Client`` or a scheduler address; its workers must read the sources.
    On a cluster a capture over ``split_bytes`` is probed as byte ranges in parallel (at
    least one a worker, none over ``split_bytes``, so a worker's rows stay bounded). A
    capture that cannot be read is a row in ``.errors`` (``source_error``) and in
    ``.sources`` (``ok`` False, ``failure``); the others' results stay.
    """
    names = expand(sources)
    pid_set = {int(p) for p in pids} if pids is not None else None
    run = runner(client, workers)
    try:

        def split(s: str) -> dict[str, pd.DataFrame]:
            try:
                workers = len(run.client.scheduler_info()["workers"])
                parts = default_parts(SourceOpener(s).size(), workers, split_bytes)
                p, st = split_probe(s, parts, run.client, chunk_bytes, None, False, pid_set)
            except Exception as e:
                return failed_probe_tables(s, _failure(s, e))
            return probe_tables(p, s, ranges=st.ranges, rescanned=st.rescanned)

        results = _run_all(names, probe_one, (pid_set,), run, progress, split, split_bytes)
    except BaseException:
        run.close()
        raise
    return ManyProbe(results, probe_meta(), run)


def verify_many(
    sources: SourceList,
    *,
    client: Any = None,
    workers: int | None = None,
    preroll: float = 4.0,
    pids: list[int] | set[int] | None = None,
    split_bytes: int = SPLIT_BYTES,
    chunk_bytes: int = CHUNK_BYTES,
    progress: bool | Callable[[int], None] | None = None,
) -> ManyVerify:
    """``verify`` every capture in ``sources``: ``.report`` one row per cue across all of
    them, ``.summary`` one row per capture (a capture that cannot be read says why there).
    ``client``/``workers``/``split_bytes`` as for :func:`probe_many` (a split capture is
    probed as ranges on the cluster and verified here)."""
    names = expand(sources)
    pid_set = {int(p) for p in pids} if pids is not None else None
    run = runner(client, workers)
    try:

        def split(s: str) -> dict[str, pd.DataFrame]:
            try:
                workers = len(run.client.scheduler_info()["workers"])
                parts = default_parts(SourceOpener(s).size(), workers, split_bytes)
                p, _ = split_probe(s, parts, run.client, chunk_bytes, None, False, pid_set)
                return verify_tables(verify(p, preroll=preroll), s)
            except Exception as e:
                return failed_verify_tables(s, _failure(s, e))

        results = _run_all(names, verify_one, (preroll, pid_set), run, progress, split, split_bytes)
    except BaseException:
        run.close()
        raise
    return ManyVerify(results, verify_meta(), run)
