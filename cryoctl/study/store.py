"""Result store: one SQLite file (WAL mode), one row per study point, committed as each point finishes.

Schema (``results``): key TEXT PRIMARY KEY, study, kind, profile, seed, spec (JSON), result (JSON),
status ('done' | 'error'), error text, started_at / finished_at (unix s), elapsed_s, attempts, worker.
The primary key is the point's content hash, so a point can never be stored twice; a finished point
is never overwritten (the upsert only replaces rows whose status is 'error'). A 'done' row always has
its result: :meth:`ResultStore.put` refuses one without, and :meth:`ResultStore.reopen` turns a 'done'
row stored without its metrics (by an older version) into an 'error' row that the next run retries.

Durability: WAL journal with ``synchronous=FULL`` and a commit per point, so a process killed with
SIGKILL loses at most the points that were still running; SQLite rolls the WAL forward on the next open.
Only the parent process writes (workers return results as data).

Read-only use (``cryoctl study status``, ``cryoctl report``): ``ResultStore(path, create=False)`` opens
the file through a SQLite URI with ``mode=ro`` -- every write through that connection fails, so reading
can never change a store. Where SQLite cannot open the WAL index read-only (a store in a directory the
reader may not write, with no ``-shm`` file left), it is opened ``immutable=1``; a store whose ``-wal``
file still holds writes is then refused with a message rather than read without them.

Concurrent runs: a run *claims* a point before computing it (table ``claims``: key, owner (one id per
run), pid, host, started_at, heartbeat; taken in a ``BEGIN IMMEDIATE`` transaction). A claim whose
process is gone (same host: no such pid; any host: no heartbeat for ``claim_timeout_s``) is taken over;
storing a point and dropping its claim is one transaction. Two runs on one store thus split the points
instead of both computing every one, and a killed run's points are completed by the other or by a rerun.

Failure modes are user errors, never hangs or silent damage: a file that is not SQLite (garbage bytes)
or fails ``PRAGMA quick_check`` is refused and left untouched; a store locked by another connection
gives a :class:`CryoctlError` after ``busy_timeout_s``.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryoctl.errors import CryoctlError

SCHEMA_VERSION = "1"
_HEADER = b"SQLite format 3\x00"
_COLUMNS = (
    "key", "study", "kind", "profile", "seed", "spec", "result", "status", "error",
    "started_at", "finished_at", "elapsed_s", "attempts", "worker",
)
_DDL = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    study TEXT NOT NULL,
    kind TEXT NOT NULL,
    profile TEXT NOT NULL,
    seed INTEGER,
    spec TEXT NOT NULL,
    result TEXT,
    status TEXT NOT NULL CHECK (status IN ('done', 'error')),
    error TEXT,
    started_at REAL,
    finished_at REAL,
    elapsed_s REAL,
    attempts INTEGER NOT NULL DEFAULT 1,
    worker TEXT
);
CREATE INDEX IF NOT EXISTS results_study ON results (study, kind);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""
# Added without a schema change: stores written before it get the table on their next writable open.
_CLAIMS_DDL = """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at REAL NOT NULL,
    heartbeat REAL NOT NULL
)"""

#: Without a heartbeat for this long, a claim counts as abandoned (its run hung, was stopped or lives on
#: a machine that can no longer reach the store). Runs refresh their claims every timeout / 6.
CLAIM_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Claimant:
    """Who claims points: one id per run (a pid can be reused, a run id cannot), its pid and host."""

    owner: str
    pid: int
    host: str

    @classmethod
    def current(cls) -> "Claimant":
        return cls(owner=uuid.uuid4().hex, pid=os.getpid(), host=socket.gethostname())


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (a zombie, killed but not reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(0) said it exists


@dataclass
class ClaimResult:
    """Outcome of :meth:`ResultStore.claim`: keys this run now owns, keys another run stored meanwhile,
    keys a live run is computing, and the claimed keys that were taken over from a dead run."""

    claimed: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    taken_over: list[str] = field(default_factory=list)


class ResultStore:
    """A study result store. Use as a context manager.

    ``create=False`` opens an existing store only, and read-only unless ``readonly=False`` is passed
    (``readonly`` defaults to ``not create``); a read-only store refuses every write.
    """

    def __init__(self, path: str | Path, busy_timeout_s: float = 5.0, create: bool = True,
                 readonly: bool | None = None):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.readonly = (not create) if readonly is None else readonly
        if self.readonly and create:
            raise ValueError("a read-only store cannot be created")
        #: How the file was opened: 'rw', 'ro' (SQLite mode=ro) or 'immutable' (read-only medium).
        self.open_mode = "ro" if self.readonly else "rw"
        self._has_claims = False
        fld = str(self.path)
        if not self.path.exists():
            if not create:
                raise CryoctlError("no such result store (run the study first)", field=fld)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif self.path.is_dir():
            raise CryoctlError("is a directory, expected a result store file (.sqlite)", field=fld)
        elif self.path.stat().st_size > 0:
            with self.path.open("rb") as fh:
                if fh.read(len(_HEADER)) != _HEADER:
                    raise CryoctlError(
                        "not a SQLite result store (corrupted or another kind of file); left untouched -- "
                        "move it away or pass another --store", field=fld)
        self._conn = self._connect(immutable=False)
        try:
            if self.readonly:
                try:
                    self._conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                except sqlite3.OperationalError as exc:
                    if "unable to open" not in str(exc) and "readonly" not in str(exc):
                        raise
                    # mode=ro could not open the WAL index (no -shm file and a directory we may not
                    # write): a read-only medium. Read the file as immutable, unless a WAL holds writes.
                    self._conn.close()
                    wal = Path(f"{self.path}-wal")
                    if wal.exists() and wal.stat().st_size > 0:
                        raise CryoctlError(
                            f"cannot read the store read-only: its write-ahead log {wal.name} holds writes "
                            "that are not in the file yet, and this directory is not writable (open it once "
                            "where it is writable, or copy the files)", field=fld) from None
                    self._conn = self._connect(immutable=True)
                    self.open_mode = "immutable"
            self._setup(create)
        except sqlite3.Error as exc:
            self._conn.close()
            raise CryoctlError(f"cannot open result store ({exc})", field=fld) from None
        except BaseException:
            self._conn.close()
            raise

    # -- opening -----------------------------------------------------------------------------------

    def _connect(self, immutable: bool) -> sqlite3.Connection:
        try:
            if not self.readonly:
                return sqlite3.connect(str(self.path), timeout=self.busy_timeout_s, isolation_level=None)
            uri = f"file:{quote(str(self.path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")
            return sqlite3.connect(uri, uri=True, timeout=self.busy_timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise CryoctlError(f"cannot open result store ({exc})", field=str(self.path)) from None

    def _guard(self, what: str, fn, *args):
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            msg = str(exc)
            if "locked" in msg or "busy" in msg:
                raise CryoctlError(
                    f"result store is locked by another process or connection (gave up {what} after "
                    f"{self.busy_timeout_s:g} s); wait for it to finish or use another --store", field=str(self.path)) from None
            if "readonly" in msg:
                raise CryoctlError(f"result store is opened read-only; refused {what}", field=str(self.path)) from None
            raise CryoctlError(f"result store error while {what}: {msg}", field=str(self.path)) from None
        except sqlite3.DatabaseError as exc:
            raise CryoctlError(
                f"corrupted result store ({exc}) while {what}; left untouched", field=str(self.path)) from None

    def _setup(self, create: bool) -> None:
        c = self._conn

        def setup():
            if self.readonly:
                mode = c.execute("PRAGMA journal_mode").fetchone()[0]
            else:
                mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                c.execute("PRAGMA synchronous=FULL")
            ok = c.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise CryoctlError(f"corrupted result store (quick_check: {ok}); left untouched", field=str(self.path))
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "meta" not in tables:
                raise CryoctlError(
                    f"a SQLite file but not a cryoctl result store (tables: {sorted(tables)}); left untouched",
                    field=str(self.path))
            if "meta" in tables:
                meta = dict(c.execute("SELECT k, v FROM meta").fetchall())
                if meta.get("app") != "cryoctl" or meta.get("schema_version") != SCHEMA_VERSION:
                    raise CryoctlError(
                        f"not a cryoctl result store of schema {SCHEMA_VERSION} (meta: {meta}); left untouched",
                        field=str(self.path))
                cols = {r[1] for r in c.execute("PRAGMA table_info(results)")}
                if not set(_COLUMNS) <= cols:
                    raise CryoctlError(f"result table lacks columns {sorted(set(_COLUMNS) - cols)}", field=str(self.path))
                if "claims" not in tables and not self.readonly:
                    c.execute(_CLAIMS_DDL)
                self._has_claims = "claims" in tables or not self.readonly
                return mode
            if not create:
                raise CryoctlError("empty SQLite file, not a result store", field=str(self.path))
            c.execute("BEGIN IMMEDIATE")
            try:
                for stmt in [*filter(str.strip, _DDL.split(";")), _CLAIMS_DDL]:
                    c.execute(stmt)
                c.execute("INSERT OR IGNORE INTO meta VALUES ('app', 'cryoctl')")
                c.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            self._has_claims = True
            return mode

        self.journal_mode = self._guard("opening", setup)

    def check_writable(self) -> None:
        """Take (and release) the write lock: fails fast if another connection holds it."""
        if self.readonly:
            raise CryoctlError("result store is opened read-only; refused taking the write lock", field=str(self.path))

        def probe():
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("ROLLBACK")

        self._guard("taking the write lock", probe)

    # -- writing -----------------------------------------------------------------------------------

    def put(self, row: dict[str, Any], claimant: Claimant | None = None) -> None:
        """Insert one finished point and commit. An 'error' row may be replaced later; 'done' never is.

        With ``claimant``, that run's claim on the point is dropped in the same transaction."""
        values = {c: row.get(c) for c in _COLUMNS if c != "attempts"}
        if values["status"] == "done" and values["result"] is None:
            raise ValueError(f"point {values['key']}: a 'done' row needs its result")
        for k in ("spec",):
            if not isinstance(values[k], str):
                values[k] = json.dumps(values[k], sort_keys=True)
        cols = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        updates = ", ".join(f"{k} = excluded.{k}" for k in values if k != "key")
        sql = (
            f"INSERT INTO results ({cols}) VALUES ({marks}) ON CONFLICT(key) DO UPDATE SET {updates}, "
            "attempts = results.attempts + 1 WHERE results.status != 'done'"
        )

        def write():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(sql, values)
                if claimant is not None:
                    self._conn.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (values["key"], claimant.owner))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

        self._guard("writing a result", write)

    def reopen(self, reasons: dict[str, str]) -> None:
        """Mark 'done' rows as 'error' with the given message ({key: why}), in one transaction."""

        def write():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "UPDATE results SET status = 'error', error = ? WHERE key = ? AND status = 'done'",
                    [(why, key) for key, why in reasons.items()])
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

        if reasons:
            self._guard("reopening results", write)

    # -- claims ------------------------------------------------------------------------------------

    def claim(self, keys: Iterable[str], me: Claimant, expected: dict[str, tuple[str, int] | None], want: int,
              timeout_s: float = CLAIM_TIMEOUT_S) -> ClaimResult:
        """Claim up to ``want`` of ``keys`` (in order) for ``me``, in one write transaction.

        ``expected`` is the (status, attempts) of each key when this run started (None: no row). A key
        whose row is 'done' or changed since (another run stored it) is *settled*; one claimed by a live
        run is *held*; unclaimed keys and claims of dead runs (:meth:`claim_is_dead`) become ours. Keys
        after the ``want``-th claim are not looked at (and are in no list)."""
        out = ClaimResult()

        def txn():
            c = self._conn
            now = time.time()
            c.execute("BEGIN IMMEDIATE")
            try:
                for key in keys:
                    if len(out.claimed) >= want:
                        break
                    row = c.execute("SELECT status, attempts FROM results WHERE key = ?", (key,)).fetchone()
                    if row is not None and (row[0] == "done" or tuple(row) != expected.get(key)):
                        out.settled.append(key)
                        continue
                    cl = c.execute("SELECT owner, pid, host, heartbeat FROM claims WHERE key = ?", (key,)).fetchone()
                    if cl is not None and cl[0] != me.owner:
                        if not self.claim_is_dead(cl[1], cl[2], cl[3], now, timeout_s):
                            out.held.append(key)
                            continue
                        out.taken_over.append(key)
                    c.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?)",
                              (key, me.owner, me.pid, me.host, now, now))
                    out.claimed.append(key)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

        self._guard("claiming points", txn)
        return out

    @staticmethod
    def claim_is_dead(pid: int, host: str, heartbeat: float, now: float, timeout_s: float = CLAIM_TIMEOUT_S) -> bool:
        """A claim is abandoned when its heartbeat is older than ``timeout_s``, or (on this machine) its
        process is gone -- checked at once, so a killed run's points are taken over without waiting."""
        if now - heartbeat > timeout_s:
            return True
        return host == socket.gethostname() and not pid_alive(pid)

    def release(self, me: Claimant) -> None:
        """Drop every claim of ``me`` (points it did not store: interrupted, lost)."""

        def txn():
            self._conn.execute("DELETE FROM claims WHERE owner = ?", (me.owner,))

        self._guard("releasing claims", txn)

    def claims(self) -> list[dict[str, Any]]:
        """Every claim row (none for a store written before claims existed), with ``alive``."""
        if not self._has_claims:
            return []
        q = "SELECT key, owner, pid, host, started_at, heartbeat FROM claims ORDER BY key"
        rows = self._guard("reading claims", lambda: self._conn.execute(q).fetchall())
        now = time.time()
        cols = ("key", "owner", "pid", "host", "started_at", "heartbeat")
        return [{**dict(zip(cols, r)), "alive": not self.claim_is_dead(r[2], r[3], r[5], now)} for r in rows]

    def heartbeat(self, me: Claimant, interval_s: float) -> "Heartbeat":
        """Start refreshing ``me``'s claims every ``interval_s`` on a thread (own connection); stop() it."""
        return Heartbeat(self.path, me, interval_s, self.busy_timeout_s)

    # -- reading -----------------------------------------------------------------------------------

    def states(self, keys: Iterable[str]) -> dict[str, tuple[str, int]]:
        """{key: (status, attempts)} for the keys present in the store (what :meth:`claim` compares)."""
        keys = list(keys)
        out: dict[str, tuple[str, int]] = {}

        def read():
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                q = f"SELECT key, status, attempts FROM results WHERE key IN ({','.join('?' * len(chunk))})"
                out.update((k, (s, a)) for k, s, a in self._conn.execute(q, chunk).fetchall())
            return out

        return self._guard("reading statuses", read)

    def statuses(self, keys: Iterable[str]) -> dict[str, str]:
        """{key: status} for the keys present in the store."""
        keys = list(keys)
        out: dict[str, str] = {}

        def read():
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                q = f"SELECT key, status FROM results WHERE key IN ({','.join('?' * len(chunk))})"
                out.update(self._conn.execute(q, chunk).fetchall())
            return out

        return self._guard("reading statuses", read)

    def rows(self, status: str | None = None, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """All rows (optionally filtered), spec/result decoded from JSON, ordered by key."""
        where, args = [], []
        if status is not None:
            where.append("status = ?")
            args.append(status)
        q = f"SELECT {', '.join(_COLUMNS)} FROM results" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY key"

        def read():
            return self._conn.execute(q, args).fetchall()

        rows = [dict(zip(_COLUMNS, r)) for r in self._guard("reading results", read)]
        if keys is not None:
            wanted = set(keys)
            rows = [r for r in rows if r["key"] in wanted]
        for r in rows:
            r["spec"] = json.loads(r["spec"])
            r["result"] = json.loads(r["result"]) if r["result"] is not None else None
        return rows

    def count(self) -> int:
        return self._guard("counting", lambda: self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Heartbeat:
    """Refreshes one run's claims from a daemon thread (its own connection; a busy store is retried)."""

    def __init__(self, path: Path, me: Claimant, interval_s: float, busy_timeout_s: float):
        self._stop = threading.Event()
        self._args = (path, me, interval_s, busy_timeout_s)
        self._thread = threading.Thread(target=self._run, name="cryoctl-claims-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        path, me, interval_s, busy_timeout_s = self._args
        conn = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None)
        try:
            while not self._stop.wait(interval_s):
                try:
                    conn.execute("UPDATE claims SET heartbeat = ? WHERE owner = ?", (time.time(), me.owner))
                except sqlite3.Error:  # locked for longer than busy_timeout_s: try again next beat
                    pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
