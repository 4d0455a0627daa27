"""The whole seed study from a cold cache: `cryoctl study run experiments/seed_study.yaml && cryoctl report`.

Target (issue "The seed study ..."): <= 30 minutes on 2 cores from a cold cache. Runs exactly the README's
two commands in fresh processes, with an empty gate-table cache (``CRYOCTL_CACHE``) and a new store in a
temporary directory, and prints each part's line (from ``study run``), the wall and CPU time (children's
user + system) of both commands, and the ratio to the target. The CPU time says how loaded the machine was:
on an idle 2-core machine it is ~2x the wall time of the study (two busy workers).

    python benchmarks/bench_seed_study.py [--workers 2] [--keep DIR]

Measured (cold cache, 2 workers, idle 2-core machines). Two sessions ago: 1615 s for the study as it was then
(~27.4 min with points added after, ratio 0.91). Last session's machine, every part 10-30 % slower: 33.6 min, then
31.2 min after part 3's polish cut (ratio 1.04, FAIL). This session, after observable batching and the small-gate
products in the executor (same spec plus part 7, the hardware warm start): parts 1-7 91 + 53 + 218 + 150 + 176 +
122 + 136 s, report 10 s, 956 s = 15.9 min (ratio 0.53, PASS; 1866 s CPU).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 30 * 60


def _cryoctl() -> list[str]:
    script = Path(sys.executable).with_name("cryoctl")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from cryoctl.cli import _console_main; _console_main()"]


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(_cryoctl() + args, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"cryoctl {' '.join(args)} failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    return wall, cpu, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="keep the store, cache and report in this directory")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seedbench-")) if a.keep is None else a.keep
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CRYOCTL_CACHE": str(work / "cache")}  # cold: an empty gate-table cache
    store = work / "seed.sqlite"
    if store.exists() or (work / "cache").exists():
        sys.exit(f"{work} already holds a store or cache: not a cold run")
    try:
        ws, cs, out = _run(["study", "run", "experiments/seed_study.yaml", "--store", str(store),
                            "--workers", str(a.workers)], env)
        print(out.strip())
        wr, cr, out = _run(["report", str(store), "-o", str(work / "report")], env)
        print("\n".join(line for line in out.splitlines() if "seed study" in line))
    finally:
        if a.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    total = ws + wr
    print(f"study run: {ws:.0f} s wall, {cs:.0f} s cpu; report: {wr:.0f} s wall, {cr:.0f} s cpu")
    print(f"total {total:.0f} s = {total / 60:.1f} min; ratio to the 30-minute target {total / TARGET_S:.2f} "
          f"({'PASS' if total <= TARGET_S else 'FAIL'})")


if __name__ == "__main__":
    main()
