"""Run a study: expand points, skip finished ones, execute the rest, store each as it completes.

Backends: in-process (``workers <= 1``), a local ``ProcessPoolExecutor`` (default, 2 workers, forked
so task kinds registered at run time are visible), or a Dask cluster (``scheduler="tcp://..."``,
``dask.distributed.Client``). Workers only compute; the parent alone writes the store, one commit per
point, so a study killed at any moment resumes with every finished point kept exactly once.

Errored points (task raised, returned no usable metrics, or grid combination the profile schema
rejects) are stored with status 'error' and retried on the next run; finished points are never
recomputed. A point is finished only with its metrics (:func:`cryoctl.study.tasks.result_problem`):
'done' rows of a store written without them (an older version stored NaN metrics as null) are
reopened as errors and recomputed.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cryoctl.errors import CryoctlError
from cryoctl.study.spec import Point, StudySpec, expand_points
from cryoctl.study.store import ResultStore
from cryoctl.study.tasks import execute_point, get_task, result_problem

_THREAD_LIMIT: Any = None


def _worker_init() -> None:
    # Two cores shared by many processes: one BLAS thread per worker, parallelism comes from the pool.
    global _THREAD_LIMIT
    try:
        from threadpoolctl import threadpool_limits

        _THREAD_LIMIT = threadpool_limits(1)
    except ImportError:  # threadpoolctl comes with scikit-learn; without it keep the defaults
        pass


def default_store_path(spec_path: str | Path, spec: StudySpec) -> Path:
    """``<spec dir>/<spec name>.sqlite``."""
    return Path(spec_path).resolve().parent / f"{spec.name}.sqlite"


@dataclass
class RunSummary:
    store: str
    backend: str
    points: int
    skipped: int = 0
    done: int = 0
    errors: int = 0
    lost: int = 0
    error_messages: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _payload(p: Point) -> dict[str, Any]:
    return {"key": p.key, "kind": p.kind, "task": p.run_task or p.task, "profile": p.profile.model_dump(mode="json"), "seed": p.seed}


def _missing_metrics(rows: list[dict[str, Any]]) -> dict[str, str]:
    """{key: why} for 'done' rows whose stored result lacks its metrics."""
    out = {}
    for r in rows:
        if r["status"] != "done":
            continue
        try:
            problem = result_problem(get_task(r["kind"]), r["result"])
        except CryoctlError:  # a kind this version no longer has: not ours to judge
            continue
        if problem is not None:
            out[r["key"]] = f"stored as done without its metrics ({problem}); recomputed by the next run"
    return out


def _row(p: Point, outcome: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": p.key, "study": p.study, "kind": p.kind, "profile": p.profile_name, "seed": p.seed,
        "spec": p.spec_record(), **{k: outcome[k] for k in
                                    ("result", "status", "error", "started_at", "finished_at", "elapsed_s", "worker")},
    }


class _Backend:
    name = "inline"

    def __init__(self, payloads: list[dict[str, Any]]):
        self.payloads = payloads
        self.lost: list[tuple[str, str]] = []

    def results(self) -> Iterator[dict[str, Any]]:
        for p in self.payloads:
            yield execute_point(p)

    def close(self) -> None:
        pass


class _PoolBackend(_Backend):
    name = "process-pool"

    def __init__(self, payloads: list[dict[str, Any]], workers: int):
        super().__init__(payloads)
        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
        # Submit (and so fork) before any progress thread starts.
        self.futures = {self.pool.submit(execute_point, p): p["key"] for p in payloads}

    def results(self) -> Iterator[dict[str, Any]]:
        for fut in as_completed(self.futures):
            try:
                yield fut.result()
            except BrokenProcessPool as exc:
                self.lost.append((self.futures[fut], f"worker process died: {exc}"))

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _DaskBackend(_Backend):
    name = "dask"

    def __init__(self, payloads: list[dict[str, Any]], address: str, timeout_s: float = 10.0):
        super().__init__(payloads)
        try:
            from distributed import Client
        except ImportError:
            raise CryoctlError("dask.distributed is not installed (pip install 'cryoctl[dask]')", field="--scheduler") from None
        try:
            self.client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise CryoctlError(f"cannot connect to the Dask scheduler at {address!r} ({exc})", field="--scheduler") from None
        self.name = f"dask ({address})"
        self.futures = {self.client.submit(execute_point, p, pure=False): p["key"] for p in payloads}

    def results(self) -> Iterator[dict[str, Any]]:
        from distributed import as_completed as dask_as_completed

        for fut in dask_as_completed(list(self.futures), loop=self.client.loop):
            try:
                yield fut.result()
            except Exception as exc:  # KilledWorker, lost connection: the point is not stored, a re-run retries it
                self.lost.append((self.futures[fut], f"{exc.__class__.__name__}: {exc}"))

    def close(self) -> None:
        for f in self.futures:
            f.cancel()
        self.client.close()


def run_study(
    spec: StudySpec,
    store: str | Path,
    workers: int = 2,
    scheduler: str | None = None,
    progress: bool = True,
    console: Console | None = None,
    busy_timeout_s: float = 5.0,
    scheduler_timeout_s: float = 10.0,
    source: str | None = None,
) -> RunSummary:
    """Run every point of ``spec`` not already finished in ``store``; returns what happened.

    Spec problems (unknown profile, bad grid key, unknown task kind) raise :class:`CryoctlError` before
    the store is touched; a locked or corrupted store raises before anything runs.
    """
    if workers < 0:
        raise CryoctlError(f"expected workers >= 0, got {workers}", field="--workers")
    points = expand_points(spec, source)
    with ResultStore(store, busy_timeout_s=busy_timeout_s) as st:
        st.check_writable()
        st.reopen(_missing_metrics(st.rows(status="done", keys=[p.key for p in points])))
        status = st.statuses(p.key for p in points)
        todo = [p for p in points if status.get(p.key) != "done"]
        summary = RunSummary(store=str(store), backend="inline", points=len(points), skipped=len(points) - len(todo))
        by_key = {p.key: p for p in todo}

        def record(p: Point, outcome: dict[str, Any]) -> None:
            if outcome["status"] == "done":  # a worker of another version may not have checked the result
                problem = result_problem(get_task(p.kind), json.loads(outcome["result"]) if outcome["result"] else None)
                if problem is not None:
                    outcome = {**outcome, "status": "error", "result": None,
                               "error": f"{p.kind}: no usable result ({problem}); retried by the next run"}
            st.put(_row(p, outcome))
            if outcome["status"] == "done":
                summary.done += 1
            else:
                summary.errors += 1
                summary.error_messages[p.key] = outcome["error"]

        invalid = [p for p in todo if p.profile is None]
        for p in invalid:
            record(p, {"result": None, "status": "error", "error": "invalid profile for this grid point: "
                       + " ".join(line.strip() for line in (p.profile_error or "").splitlines()),
                       "started_at": None, "finished_at": None, "elapsed_s": 0.0, "worker": None})
        payloads = [_payload(p) for p in todo if p.profile is not None]

        if not payloads:
            backend: _Backend = _Backend([])
        elif scheduler:
            backend = _DaskBackend(payloads, scheduler, scheduler_timeout_s)
        elif workers <= 1:
            backend = _Backend(payloads)
        else:
            backend = _PoolBackend(payloads, min(workers, len(payloads)))
        summary.backend = backend.name

        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
        bar = Progress(*columns, console=console or Console(stderr=True), disable=not (progress and payloads), transient=False)
        try:
            with bar:
                tid = bar.add_task(f"{spec.name} [{backend.name}]", total=len(payloads))
                for outcome in backend.results():
                    record(by_key[outcome["key"]], outcome)
                    bar.advance(tid)
        except KeyboardInterrupt:
            kept = summary.skipped + summary.done + summary.errors
            raise KeyboardInterrupt(
                f"{kept} of {summary.points} points are stored in {store}; run the same command again to resume"
            ) from None
        finally:
            backend.close()
        summary.lost = len(backend.lost)
        for key, msg in backend.lost:
            summary.error_messages[key] = f"not stored ({msg}); re-run to retry"
    return summary


def study_status(spec: StudySpec, store: str | Path, source: str | None = None) -> dict[str, Any]:
    """Counts of done / error / pending points of ``spec`` in ``store`` and the errored points."""
    points = expand_points(spec, source)
    path = Path(store)
    rows: dict[str, dict[str, Any]] = {}
    if path.exists():
        with ResultStore(path, create=False) as st:
            rows = {r["key"]: r for r in st.rows(keys=[p.key for p in points])}
    for key, why in _missing_metrics(list(rows.values())).items():  # what the next run will recompute
        rows[key] = {**rows[key], "status": "error", "error": why}
    done = sum(1 for p in points if rows.get(p.key, {}).get("status") == "done")
    errors = [
        {"key": p.key, "profile": p.profile_name, "kind": p.kind, "seed": p.seed, "overrides": p.overrides,
         "error": rows[p.key]["error"], "attempts": rows[p.key]["attempts"]}
        for p in points if rows.get(p.key, {}).get("status") == "error"
    ]
    by_kind: dict[str, dict[str, int]] = {}
    for p in points:
        s = rows.get(p.key, {}).get("status", "pending")
        by_kind.setdefault(p.kind, {"done": 0, "error": 0, "pending": 0})[s] += 1
    return {
        "study": spec.name, "store": str(path), "points": len(points), "done": done, "error": len(errors),
        "pending": len(points) - done - len(errors), "by_kind": by_kind, "errors": errors,
    }
