"""A study killed with SIGKILL mid-run resumes with exactly one result per point."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from cryoctl.study import ResultStore, expand_points, load_study_spec, run_study

REPO = Path(__file__).resolve().parents[2]
SPEC = """
name: killme
profiles: [ideal, cryo_cmos_8bit]
grid: {dac.bits: "4..8"}
seeds: [0, 1, 2]
tasks:
  - {kind: debug.sleep, seconds: 0.25}
"""


def _count(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        c = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
        try:
            return c.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        finally:
            c.close()
    except sqlite3.OperationalError:  # table not created yet
        return 0


def test_sigkill_mid_run_then_resume(tmp_path):
    spec_path = tmp_path / "killme.yaml"
    spec_path.write_text(SPEC)
    store = tmp_path / "killme.sqlite"
    spec = load_study_spec(spec_path)
    keys = {p.key for p in expand_points(spec)}
    assert len(keys) == 30

    cmd = [sys.executable, "-c", "import sys; from cryoctl.cli import main; sys.exit(main(sys.argv[1:]))",
           "study", "run", str(spec_path), "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while _count(store) < 4:
            assert proc.poll() is None, "the study ended before it could be killed"
            assert time.monotonic() < deadline, "no results appeared within 120 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # parent and pool workers at once
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with ResultStore(store, create=False) as st:  # opening recovers the WAL left by the killed writer
        before = {r["key"]: r for r in st.rows()}
    assert 4 <= len(before) < 30, "kill must land mid-run"
    assert set(before) <= keys and all(r["status"] == "done" for r in before.values())

    s = run_study(spec, store, workers=2, progress=False)
    assert s.skipped == len(before) and s.done == 30 - len(before) and s.errors == 0

    c = sqlite3.connect(store)
    n, distinct = c.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM results").fetchone()
    c.close()
    assert n == distinct == 30
    with ResultStore(store, create=False) as st:
        after = {r["key"]: r for r in st.rows()}
    assert set(after) == keys
    assert all(r["status"] == "done" and r["attempts"] == 1 for r in after.values())
    assert all(after[k] == r for k, r in before.items())  # nothing stored before the kill was lost or rewritten
