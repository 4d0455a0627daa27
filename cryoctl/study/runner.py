"""Run a study: expand points, skip finished ones, execute the rest, store each as it completes.

Backends: in-process (``workers <= 1``), a local ``ProcessPoolExecutor`` (default, 2 workers, forked
so task kinds registered at run time are visible), or a Dask cluster (``scheduler="tcp://..."``,
``dask.distributed.Client``). Workers only compute; the parent alone writes the store, one commit per
point, so a study killed at any moment resumes with every finished point kept exactly once.

Several runs on one store (two terminals, two machines on a shared file system) split the work: a run
claims a point in the store when a worker slot is free (:meth:`ResultStore.claim`), waits for points
another live run holds, and takes over those of a run that died (see :mod:`cryoctl.study.store`).
Pool workers end with their run, even when it is killed with SIGKILL (:func:`_die_with_parent`).

Errored points (task raised, returned no usable metrics, or grid combination the profile schema
rejects) are stored with status 'error' and retried on the next run; finished points are never
recomputed. A point is finished only with its metrics (:func:`cryoctl.study.tasks.result_problem`):
'done' rows of a store written without them (an older version stored NaN metrics as null) are
reopened as errors and recomputed.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cryoctl.errors import CryoctlError
from cryoctl.study.spec import Point, StudySpec, expand_points
from cryoctl.study.store import CLAIM_TIMEOUT_S, Claimant, ResultStore
from cryoctl.study.tasks import execute_point, get_task, result_problem

_THREAD_LIMIT: Any = None


def _die_with_parent(parent_pid: int) -> None:
    """Make this pool worker end when the run that started it ends, even by SIGKILL (which gives the
    parent no chance to stop its pool: workers would otherwise wait forever on the task queue, adopted
    by PID 1). Linux: the kernel sends SIGKILL on the parent's death (prctl PR_SET_PDEATHSIG); elsewhere
    a daemon thread polls the parent pid. Workers hold no state: results travel to the parent as data."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            armed = ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)
    if not armed:
        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="cryoctl-parent-watch", daemon=True).start()


def _worker_init(parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        _die_with_parent(parent_pid)
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
    #: Points another run (on the same store, at the same time) stored while this one ran.
    elsewhere: int = 0
    #: Points this run took over from a run that died holding their claim.
    taken_over: int = 0
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
    """Runs points handed to it with :meth:`submit`; :meth:`wait` returns what finished.

    ``capacity`` is how many points it computes at once: the runner claims a point only when a slot is
    free, so two runs on one store split the points instead of each queuing all of them."""

    name = "inline"
    capacity = 1

    def __init__(self) -> None:
        self.queued: list[dict[str, Any]] = []
        #: (key, why) of points handed over whose result never came back.
        self.lost: list[tuple[str, str]] = []
        #: Set when the backend can take no more points (a dead worker broke the pool).
        self.broken: str | None = None

    def in_flight(self) -> int:
        return len(self.queued)

    def submit(self, payload: dict[str, Any]) -> None:
        self.queued.append(payload)

    def wait(self, timeout: float | None) -> list[dict[str, Any]]:
        return [execute_point(self.queued.pop(0))] if self.queued else []

    def close(self) -> None:
        pass


def _ready() -> int:
    return os.getpid()


class _PoolBackend(_Backend):
    name = "process-pool"

    def __init__(self, workers: int):
        super().__init__()
        self.capacity = workers
        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                        initargs=(os.getpid(),))
        # Start (and so fork) every worker now, before the heartbeat and progress threads start.
        self.pool.submit(_ready).result()
        self.futures: dict[Any, str] = {}

    def in_flight(self) -> int:
        return len(self.futures)

    def submit(self, payload: dict[str, Any]) -> None:
        try:
            self.futures[self.pool.submit(execute_point, payload)] = payload["key"]
        except BrokenProcessPool as exc:
            self.broken = f"worker process died: {exc}"
            self.lost.append((payload["key"], self.broken))

    def wait(self, timeout: float | None) -> list[dict[str, Any]]:
        finished, _ = futures_wait(list(self.futures), timeout=timeout, return_when=FIRST_COMPLETED)
        out = []
        for fut in finished:
            key = self.futures.pop(fut)
            try:
                out.append(fut.result())
            except BrokenProcessPool as exc:
                self.broken = f"worker process died: {exc}"
                self.lost.append((key, self.broken))
        return out

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _DaskBackend(_Backend):
    name = "dask"

    def __init__(self, address: str, timeout_s: float = 10.0):
        super().__init__()
        try:
            from distributed import Client
        except ImportError:
            raise CryoctlError("dask.distributed is not installed (pip install 'cryoctl[dask]')", field="--scheduler") from None
        try:
            self.client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise CryoctlError(f"cannot connect to the Dask scheduler at {address!r} ({exc})", field="--scheduler") from None
        self.name = f"dask ({address})"
        try:  # keep every worker thread busy, plus one queued point each
            threads = sum(w.get("nthreads", 1) for w in self.client.scheduler_info().get("workers", {}).values())
        except Exception:
            threads = 0
        self.capacity = max(2 * threads, 4)
        self.futures: dict[Any, str] = {}
        from distributed import as_completed as dask_as_completed

        self.finished = dask_as_completed(loop=self.client.loop)  # futures are added as they are submitted

    def in_flight(self) -> int:
        return len(self.futures)

    def submit(self, payload: dict[str, Any]) -> None:
        fut = self.client.submit(execute_point, payload, pure=False)
        self.futures[fut] = payload["key"]
        self.finished.add(fut)

    def wait(self, timeout: float | None) -> list[dict[str, Any]]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.finished.has_ready():
            if deadline is not None and time.monotonic() >= deadline:
                return []
            time.sleep(0.02)
        out = []
        for fut in self.finished.next_batch(block=False):
            key = self.futures.pop(fut)
            try:
                out.append(fut.result())
            except Exception as exc:  # KilledWorker, lost connection: the point is not stored, a re-run retries it
                self.lost.append((key, f"{exc.__class__.__name__}: {exc}"))
        return out

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
    claim_timeout_s: float = CLAIM_TIMEOUT_S,
    poll_s: float = 0.5,
) -> RunSummary:
    """Run every point of ``spec`` not already finished in ``store``; returns what happened.

    Spec problems (unknown profile, bad grid key, unknown task kind) raise :class:`CryoctlError` before
    the store is touched; a locked or corrupted store raises before anything runs.

    Points are claimed in the store one free worker slot at a time. Points that another live run has
    claimed are waited for (re-checked every ``poll_s``): stored by it, they count as ``elsewhere``; if
    that run dies (or stops refreshing its claims for ``claim_timeout_s``), this run takes them over.
    So the call returns when every point of the spec is stored (or errored, or lost), by whichever run.
    """
    if workers < 0:
        raise CryoctlError(f"expected workers >= 0, got {workers}", field="--workers")
    points = expand_points(spec, source)
    with ResultStore(store, busy_timeout_s=busy_timeout_s) as st:
        st.check_writable()
        st.reopen(_missing_metrics(st.rows(status="done", keys=[p.key for p in points])))
        expected = st.states(p.key for p in points)
        todo = [p for p in points if expected.get(p.key, ("",))[0] != "done"]
        summary = RunSummary(store=str(store), backend="inline", points=len(points), skipped=len(points) - len(todo))
        by_key = {p.key: p for p in todo}
        me = Claimant.current()

        def record(p: Point, outcome: dict[str, Any]) -> None:
            if outcome["status"] == "done":  # a worker of another version may not have checked the result
                problem = result_problem(get_task(p.kind), json.loads(outcome["result"]) if outcome["result"] else None)
                if problem is not None:
                    outcome = {**outcome, "status": "error", "result": None,
                               "error": f"{p.kind}: no usable result ({problem}); retried by the next run"}
            st.put(_row(p, outcome), claimant=me)
            if outcome["status"] == "done":
                summary.done += 1
            else:
                summary.errors += 1
                summary.error_messages[p.key] = outcome["error"]

        if not todo:
            backend: _Backend = _Backend()
        elif scheduler:
            backend = _DaskBackend(scheduler, scheduler_timeout_s)
        elif workers <= 1 or sum(p.profile is not None for p in todo) <= 1:
            backend = _Backend()
        else:
            backend = _PoolBackend(min(workers, sum(p.profile is not None for p in todo)))
        summary.backend = backend.name

        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
        bar = Progress(*columns, console=console or Console(stderr=True), disable=not (progress and todo), transient=False)
        queue = deque(p.key for p in todo)  # not yet claimed by this run, in spec order
        held: list[str] = []  # claimed by another live run when last looked at
        last_look = 0.0
        heartbeat = st.heartbeat(me, max(claim_timeout_s / 6.0, 0.05)) if todo else None
        try:
            with bar:
                tid = bar.add_task(f"{spec.name} [{backend.name}]", total=len(todo))

                def claim(keys: deque[str] | list[str], want: int) -> tuple[list[str], int]:
                    """Claim up to ``want`` of ``keys`` in order; (claimed, how many keys were looked at)."""
                    res = st.claim(iter(keys), me, expected, want, claim_timeout_s)
                    held.extend(res.held)
                    summary.elsewhere += len(res.settled)
                    summary.taken_over += len(res.taken_over)
                    bar.advance(tid, len(res.settled))
                    return res.claimed, len(res.claimed) + len(res.settled) + len(res.held)

                while True:
                    free = backend.capacity - backend.in_flight()
                    got: list[str] = []
                    if backend.broken is None and free > 0:
                        if queue:
                            got, looked = claim(queue, free)
                            for _ in range(looked):
                                queue.popleft()
                        elif held and time.monotonic() - last_look >= poll_s:  # only other runs' points are left
                            last_look = time.monotonic()
                            retry, held[:] = list(held), []
                            got, looked = claim(retry, free)
                            held.extend(retry[looked:])
                        for key in got:
                            p = by_key[key]
                            if p.profile is None:
                                record(p, {"result": None, "status": "error", "error": "invalid profile for this grid point: "
                                           + " ".join(line.strip() for line in (p.profile_error or "").splitlines()),
                                           "started_at": None, "finished_at": None, "elapsed_s": 0.0, "worker": None})
                                bar.advance(tid)
                            else:
                                backend.submit(_payload(p))
                        if got:
                            continue
                    if backend.in_flight():
                        for outcome in backend.wait(timeout=poll_s if held and not queue else None):
                            record(by_key[outcome["key"]], outcome)
                            bar.advance(tid)
                        continue
                    if backend.broken is not None or not (queue or held):
                        break
                    if not queue:  # nothing of ours runs; wait for the other runs' points
                        time.sleep(max(0.0, poll_s - (time.monotonic() - last_look)))
        except KeyboardInterrupt:
            kept = summary.skipped + summary.done + summary.errors + summary.elsewhere
            raise KeyboardInterrupt(
                f"{kept} of {summary.points} points are stored in {store}; run the same command again to resume"
            ) from None
        finally:
            backend.close()
            if heartbeat is not None:
                heartbeat.stop()
            st.release(me)
        for key in [*queue, *held]:  # never handed to a worker: the pool broke first
            backend.lost.append((key, f"not run ({backend.broken})"))
        summary.lost = len(backend.lost)
        for key, msg in backend.lost:
            summary.error_messages[key] = f"not stored ({msg}); re-run to retry"
    return summary


def study_status(spec: StudySpec, store: str | Path, source: str | None = None) -> dict[str, Any]:
    """Counts of done / error / pending points of ``spec`` in ``store`` and the errored points.

    Opens the store read-only. ``running``: pending points a live run has claimed (is computing now),
    ``runs``: those runs (pid, host, points)."""
    points = expand_points(spec, source)
    path = Path(store)
    rows: dict[str, dict[str, Any]] = {}
    claims: dict[str, dict[str, Any]] = {}
    if path.exists():
        with ResultStore(path, create=False) as st:
            wanted = {p.key for p in points}
            rows = {r["key"]: r for r in st.rows(keys=wanted)}
            claims = {c["key"]: c for c in st.claims() if c["alive"] and c["key"] in wanted}
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
    running = [c for k, c in claims.items() if k not in rows or rows[k]["status"] != "done"]
    runs: dict[str, dict[str, Any]] = {}
    for c in running:
        runs.setdefault(c["owner"], {"pid": c["pid"], "host": c["host"], "points": 0})["points"] += 1
    return {
        "study": spec.name, "store": str(path), "points": len(points), "done": done, "error": len(errors),
        "pending": len(points) - done - len(errors), "running": len(running), "runs": list(runs.values()),
        "by_kind": by_kind, "errors": errors,
    }
