"""`cryoctl study status` and `cryoctl report` read the store read-only: they never write it, and they
work on a store the user may not write (a read-only directory, a 0444 file)."""

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cryoctl.errors import CryoctlError
from cryoctl.study import ResultStore, load_study_spec, run_study, study_status

REPO = Path(__file__).resolve().parents[2]
SPEC = "name: ro\nprofiles: [ideal]\ngrid: {dac.bits: '3..4'}\ntasks: [{kind: cost}]\n"
ROW = {"key": "new", "study": "ro", "kind": "cost", "profile": "p", "seed": None, "spec": {}, "result": '{"x": 1}',
       "status": "done", "error": None, "started_at": 0.0, "finished_at": 1.0, "elapsed_s": 1.0, "worker": "w"}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _study(d: Path) -> tuple[Path, Path]:
    d.mkdir(parents=True, exist_ok=True)
    spec_path = d / "ro.yaml"
    spec_path.write_text(SPEC)
    run_study(load_study_spec(spec_path), d / "ro.sqlite", workers=0, progress=False)
    return spec_path, d / "ro.sqlite"


def test_reading_opens_mode_ro_and_refuses_writes(tmp_path):
    spec_path, store = _study(tmp_path)
    digest = _digest(store)
    with ResultStore(store, create=False) as st:
        assert st.readonly and st.open_mode == "ro"
        assert st.count() == 2
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            st._conn.execute("INSERT INTO meta VALUES ('x', 'y')")  # the connection itself is read-only
        with pytest.raises(CryoctlError, match="ro.sqlite.*read-only"):
            st.put(ROW)
        with pytest.raises(CryoctlError, match="read-only"):
            st.check_writable()
    st = study_status(load_study_spec(spec_path), store)
    assert (st["done"], st["pending"], st["running"]) == (2, 0, 0)
    assert _digest(store) == digest  # reading changed nothing
    with ResultStore(store) as st:  # the writer still writes
        assert not st.readonly and st.open_mode == "rw"
        st.put(ROW)
        assert st.count() == 3
    with pytest.raises(ValueError):
        ResultStore(tmp_path / "x.sqlite", create=True, readonly=True)


def test_status_shows_points_a_live_run_is_computing(tmp_path):
    from cryoctl.study import expand_points
    from cryoctl.study.store import Claimant

    spec_path, store = _study(tmp_path)
    spec_path.write_text(SPEC.replace("'3..4'", "'3..5'"))
    spec = load_study_spec(spec_path)
    pending = [p.key for p in expand_points(spec) if p.profile is not None][-1:]
    with ResultStore(store) as st:
        me = Claimant.current()
        assert st.claim(iter(pending), me, {}, want=1).claimed == pending
        s = study_status(spec, store)
        assert (s["done"], s["pending"], s["running"]) == (2, 1, 1)
        assert s["runs"] == [{"pid": me.pid, "host": me.host, "points": 1}]


# Run in a subprocess that cannot bypass file permissions: as root it drops its capabilities
# (CAP_DAC_OVERRIDE lets root write anything; after capset(effective=0) root is an ordinary owner),
# as any other user the permissions already apply. Exit status 77: permissions could not be enforced.
UNPRIVILEGED = r"""
import ctypes, json, os, sys
if os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    class Hdr(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]
    hdr, data = Hdr(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if libc.capget(ctypes.byref(hdr), data) != 0:
        sys.exit(77)
    for d in data:
        d.effective = 0
    if libc.capset(ctypes.byref(hdr), data) != 0:
        sys.exit(77)
ro_dir, out_dir = sys.argv[1], sys.argv[2]
try:
    open(os.path.join(ro_dir, "probe"), "w").close()
    sys.exit(77)  # still allowed to write there
except PermissionError:
    pass
from cryoctl.cli import main
from cryoctl.study import ResultStore
from cryoctl.errors import CryoctlError
with ResultStore(os.path.join(ro_dir, "ro.sqlite"), create=False) as st:
    mode = st.open_mode
status = main(["study", "status", os.path.join(ro_dir, "ro.yaml"), "--json"])
report = main(["report", os.path.join(ro_dir, "ro.sqlite"), "-o", out_dir, "--json"])
try:
    ResultStore(os.path.join(ro_dir, "walheld.sqlite"), create=False)
    wal = "opened"
except CryoctlError as exc:
    wal = str(exc)
print(json.dumps({"mode": mode, "status": status, "report": report, "wal": wal}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="capset/permissions check written for Linux")
def test_status_and_report_on_a_store_nobody_may_write(tmp_path):
    ro_dir = tmp_path / "ro"
    spec_path, store = _study(ro_dir)
    # a store whose write-ahead log still holds a write (copied while a writer had it open, no -shm)
    with ResultStore(ro_dir / "w.sqlite") as st:
        st._conn.execute("PRAGMA wal_autocheckpoint=0")
        st.put(ROW)
        shutil.copy(ro_dir / "w.sqlite", ro_dir / "walheld.sqlite")
        shutil.copy(ro_dir / "w.sqlite-wal", ro_dir / "walheld.sqlite-wal")
    (ro_dir / "w.sqlite").unlink()
    assert not list(ro_dir.glob("ro.sqlite-*"))  # closed cleanly: no -wal / -shm next to it
    digests = {p.name: _digest(p) for p in ro_dir.iterdir()}
    for p in ro_dir.iterdir():
        p.chmod(0o444)
    ro_dir.chmod(0o555)
    out_dir = tmp_path / "out"
    try:
        r = subprocess.run([sys.executable, "-c", UNPRIVILEGED, str(ro_dir), str(out_dir)], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    finally:
        ro_dir.chmod(0o755)
    if r.returncode == 77:
        pytest.skip("cannot run a process that file permissions apply to (no capset)")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["mode"] == "immutable"  # SQLite could not create the WAL index there: read as immutable
    assert (got["status"], got["report"]) == (0, 0), r.stderr
    status = json.loads(r.stdout[: r.stdout.index("\n}\n") + 2])
    assert (status["done"], status["pending"]) == (2, 0)
    assert list(out_dir.glob("*.html"))
    assert "walheld.sqlite" in got["wal"] and "write-ahead log" in got["wal"]  # refused, not read stale
    assert {p.name: _digest(p) for p in ro_dir.iterdir()} == digests  # nothing created or changed
