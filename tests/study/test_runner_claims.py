"""Runs on one store claim points (each is computed once), killed runs' claims are taken over, and the
pool workers of a run killed with SIGKILL exit with it. Real SQLite stores and real `cryoctl` processes."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cryoctl.study import ResultStore, expand_points, load_study_spec
from cryoctl.study.store import Claimant, pid_alive

REPO = Path(__file__).resolve().parents[2]

# The CLI in a subprocess, with one extra task kind that appends a line per computation to a log file
# (O_APPEND, one write per line): an independent record of how often each point was really computed.
TASK = r"""
import os, sys, time
from typing import Literal
from cryoctl.study import TaskParams, register_task

class LogSleep(TaskParams):
    kind: Literal["test.logsleep"] = "test.logsleep"
    seconds: float = 0.1
    log: str

def logsleep(profile, params, seed):
    time.sleep(params["seconds"])
    fd = os.open(params["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, f"{profile.dac.bits},{seed},{os.getpid()}\n".encode())
    os.close(fd)
    return {"bits": profile.dac.bits, "seed": seed}

register_task("test.logsleep", logsleep, LogSleep)
"""
CLI = TASK + "from cryoctl.cli import main\nsys.exit(main(sys.argv[1:]))\n"
exec(TASK, {})  # the same kind here, so that this process can expand the spec's points


def _spec(tmp_path: Path, seconds: float, n_seeds: int = 4, bits: str = "3..8") -> Path:
    log = tmp_path / "computed.log"
    text = (f"name: shared\nprofiles: [ideal]\ngrid: {{dac.bits: '{bits}'}}\nseeds: {list(range(n_seeds))}\n"
            f"tasks: [{{kind: test.logsleep, seconds: {seconds}, log: '{log}'}}]\n")
    path = tmp_path / "shared.yaml"
    path.write_text(text)
    return path


def _start(spec: Path, store: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-c", CLI, "study", "run", str(spec), "--store", str(store), "--workers", "2", "--json", *extra]
    return subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _query(store: Path, sql: str) -> list[tuple]:
    if not store.exists():
        return []
    try:
        c = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
        try:
            return c.execute(sql).fetchall()
        finally:
            c.close()
    except sqlite3.OperationalError:  # tables not created yet
        return []


def _wait_for(what: str, cond, procs=(), limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while not cond():
        for p in procs:
            assert p.poll() is None, f"a run ended before {what}: {p.stderr.read() if p.stderr else ''}"
        assert time.monotonic() < deadline, f"not within {limit_s} s: {what}"
        time.sleep(0.05)


def _finish(proc: subprocess.Popen, limit_s: float = 180.0) -> dict:
    out, err = proc.communicate(timeout=limit_s)
    assert proc.returncode == 0, err
    return json.loads(out)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(b")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _computed(tmp_path: Path) -> list[tuple[int, int]]:
    log = tmp_path / "computed.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [tuple(int(x) for x in line.split(",")[:2]) for line in lines]


# -- the claim rules on a real store (in process) ------------------------------------------------------


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_claims_held_settled_and_taken_over(tmp_path):
    store = tmp_path / "c.sqlite"
    me = Claimant.current()
    other = Claimant(owner="other-run", pid=os.getppid(), host=me.host)  # a live process, another run
    dead = Claimant(owner="dead-run", pid=_dead_pid(), host=me.host)
    assert pid_alive(other.pid) and not pid_alive(dead.pid)
    row = {"study": "s", "kind": "cost", "profile": "p", "seed": None, "spec": {}, "result": '{"x": 1}',
           "status": "done", "error": None, "started_at": 0.0, "finished_at": 1.0, "elapsed_s": 1.0, "worker": "w"}
    with ResultStore(store) as st:
        keys = ["a", "b", "c", "d", "e"]
        assert st.claim(iter(["a", "b"]), other, {}, want=5).claimed == ["a", "b"]
        assert st.claim(iter(["c"]), dead, {}, want=5).claimed == ["c"]
        st.put({**row, "key": "d", "status": "error", "result": None, "error": "x"})
        expected = st.states(keys)  # what this run saw when it started: d errored once
        st.put({**row, "key": "e"})  # stored by another run after that
        res = st.claim(iter(keys), me, expected, want=1)
        # a, b: held by a live run; c: its run is dead, taken over; want=1 reached, d and e not looked at
        assert (res.held, res.claimed, res.taken_over, res.settled) == (["a", "b"], ["c"], ["c"], [])
        res = st.claim(iter(["d", "e"]), me, expected, want=5)
        assert (res.claimed, res.settled) == (["d"], ["e"])  # d: as seen at start, retried; e: done elsewhere
        # an error another run stored after this run started is settled too (not retried twice in one go)
        st.put({**row, "key": "f", "status": "error", "result": None, "error": "x"})
        assert st.claim(iter(["f"]), me, expected, want=5).settled == ["f"]
        # a live run that stopped refreshing its claims (stopped, or on an unreachable machine) is taken over
        st._conn.execute("UPDATE claims SET heartbeat = heartbeat - 1000 WHERE owner = 'other-run'")
        res = st.claim(iter(["a"]), me, expected, want=5, timeout_s=60.0)
        assert res.taken_over == ["a"]
        # storing a point drops this run's claim on it; release drops the rest
        st.put({**row, "key": "c"}, claimant=me)
        assert {c["key"]: c["owner"] for c in st.claims()} == {"a": me.owner, "b": "other-run", "d": me.owner}
        st.release(me)
        assert [c["key"] for c in st.claims()] == ["b"]
        hb = st.heartbeat(other, interval_s=0.05)
        try:
            before = st.claims()[0]["heartbeat"]
            _wait_for("the heartbeat thread refreshes the claim", lambda: st.claims()[0]["heartbeat"] > before, limit_s=30)
        finally:
            hb.stop()


# -- two real runs on one store ---------------------------------------------------------------------------


def test_two_concurrent_runs_compute_each_point_once(tmp_path):
    spec_path = _spec(tmp_path, seconds=0.4)
    store = tmp_path / "shared.sqlite"
    keys = {p.key for p in expand_points(load_study_spec(spec_path))}
    assert len(keys) == 24
    a = _start(spec_path, store)
    try:
        _wait_for("run A claims points", lambda: _query(store, "SELECT COUNT(*) FROM claims") not in ([], [(0,)]), [a])
        b = _start(spec_path, store)
        try:
            sa, sb = _finish(a), _finish(b)
        finally:
            _kill_group(b)
    finally:
        _kill_group(a)
    computed = _computed(tmp_path)
    assert len(computed) == len(set(computed)) == 24, "a point was computed twice (or not at all)"
    assert sa["done"] + sb["done"] == 24 and sa["errors"] == sb["errors"] == 0
    assert sb["done"] > 0 and sa["elsewhere"] > 0  # both computed, each saw the other's points
    assert sa["done"] + sa["elsewhere"] + sa["skipped"] == 24 and sb["done"] + sb["elsewhere"] + sb["skipped"] == 24
    rows = _query(store, "SELECT key, status, attempts FROM results")
    assert {r[0] for r in rows} == keys and all(r[1:] == ("done", 1) for r in rows)
    assert _query(store, "SELECT COUNT(*) FROM claims") == [(0,)]


def test_killed_run_points_are_completed_by_the_other(tmp_path):
    spec_path = _spec(tmp_path, seconds=0.5)
    store = tmp_path / "shared.sqlite"
    keys = {p.key for p in expand_points(load_study_spec(spec_path))}
    a = _start(spec_path, store)
    try:
        _wait_for("run A claims points", lambda: _query(store, "SELECT COUNT(*) FROM claims") not in ([], [(0,)]), [a])
        b = _start(spec_path, store)
        try:
            _wait_for("both runs hold claims",
                      lambda: _query(store, "SELECT COUNT(DISTINCT owner) FROM claims") == [(2,)], [a, b])
            _kill_group(a)  # parent and its workers, mid-point: A's claimed points stay unstored
            sb = _finish(b)
        finally:
            _kill_group(b)
    finally:
        _kill_group(a)
    assert a.returncode == -signal.SIGKILL
    assert sb["taken_over"] >= 1 and sb["errors"] == sb["lost"] == 0
    rows = _query(store, "SELECT key, status, attempts FROM results")
    assert {r[0] for r in rows} == keys and all(r[1] == "done" for r in rows)
    assert set(_computed(tmp_path)) == {(bits, seed) for bits in range(3, 9) for seed in range(4)}
    assert _query(store, "SELECT COUNT(*) FROM claims") == [(0,)]
    # a rerun finds everything stored
    again = _start(spec_path, store)
    try:
        s = _finish(again)
    finally:
        _kill_group(again)
    assert (s["skipped"], s["done"]) == (24, 0)


# -- pool workers die with their run ------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the worker processes")
def test_pool_workers_exit_when_the_run_is_killed(tmp_path):
    # Each point sleeps far longer than the wait below: a worker that outlives its parent is caught.
    spec_path = _spec(tmp_path, seconds=120.0, n_seeds=1, bits="3..6")
    store = tmp_path / "shared.sqlite"
    run = _start(spec_path, store)
    workers: list[int] = []
    try:
        _wait_for("two workers run a point each",
                  lambda: len(_children(run.pid)) >= 2 and _query(store, "SELECT COUNT(*) FROM claims") == [(2,)], [run])
        workers = _children(run.pid)
        assert len(workers) == 2
        os.kill(run.pid, signal.SIGKILL)  # the parent only: its workers must notice on their own
        run.wait()
        deadline = time.monotonic() + 20.0
        while any(pid_alive(w) for w in workers):
            assert time.monotonic() < deadline, f"pool workers {[w for w in workers if pid_alive(w)]} outlived their run"
            time.sleep(0.05)
    finally:
        for w in workers:
            if pid_alive(w):
                os.kill(w, signal.SIGKILL)
        _kill_group(run)
