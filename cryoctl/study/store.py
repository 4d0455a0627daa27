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

Failure modes are user errors, never hangs or silent damage: a file that is not SQLite (garbage bytes)
or fails ``PRAGMA quick_check`` is refused and left untouched; a store locked by another connection
gives a :class:`CryoctlError` after ``busy_timeout_s``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


class ResultStore:
    """A study result store. Use as a context manager; ``create=False`` opens an existing store only."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 5.0, create: bool = True):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
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
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=busy_timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise CryoctlError(f"cannot open result store ({exc})", field=fld) from None
        try:
            self._setup(create)
        except BaseException:
            self._conn.close()
            raise

    # -- opening -----------------------------------------------------------------------------------

    def _guard(self, what: str, fn, *args):
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            msg = str(exc)
            if "locked" in msg or "busy" in msg:
                raise CryoctlError(
                    f"result store is locked by another process or connection (gave up {what} after "
                    f"{self.busy_timeout_s:g} s); wait for it to finish or use another --store", field=str(self.path)) from None
            raise CryoctlError(f"result store error while {what}: {msg}", field=str(self.path)) from None
        except sqlite3.DatabaseError as exc:
            raise CryoctlError(
                f"corrupted result store ({exc}) while {what}; left untouched", field=str(self.path)) from None

    def _setup(self, create: bool) -> None:
        c = self._conn

        def setup():
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
                return mode
            if not create:
                raise CryoctlError("empty SQLite file, not a result store", field=str(self.path))
            c.execute("BEGIN IMMEDIATE")
            try:
                for stmt in filter(str.strip, _DDL.split(";")):
                    c.execute(stmt)
                c.execute("INSERT OR IGNORE INTO meta VALUES ('app', 'cryoctl')")
                c.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            return mode

        self.journal_mode = self._guard("opening", setup)

    def check_writable(self) -> None:
        """Take (and release) the write lock: fails fast if another connection holds it."""

        def probe():
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("ROLLBACK")

        self._guard("taking the write lock", probe)

    # -- writing -----------------------------------------------------------------------------------

    def put(self, row: dict[str, Any]) -> None:
        """Insert one finished point and commit. An 'error' row may be replaced later; 'done' never is."""
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

    # -- reading -----------------------------------------------------------------------------------

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
