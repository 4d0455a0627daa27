"""Start-up time of the `cryoctl` command, absolute and as a ratio to a bare interpreter (`python -c pass`).

Targets: `cryoctl --help` <= 0.5 s and `cryoctl profile list` <= 1 s. The ratios make runs on busy or
slow machines comparable (a bare interpreter starts in ~20-40 ms). Each command runs ``--repeat`` times
in a fresh process; the best time is reported (the least disturbed by other load), with the median.

    python benchmarks/bench_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS_S = {"--help": 0.5, "profile list": 1.0}


def _cryoctl() -> list[str]:
    script = Path(sys.executable).with_name("cryoctl")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from cryoctl.cli import _console_main; _console_main()"]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _times(cmd: list[str], repeat: int) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds) of each run; CPU time is less disturbed by other load on the machine."""
    wall, cpu = [], []
    env = {**os.environ, "COLUMNS": "100"}
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), _cpu()
        subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        wall.append(time.perf_counter() - t0)
        cpu.append(_cpu() - c0)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    base, base_cpu = _times([sys.executable, "-c", "pass"], args.repeat)
    b = min(base)
    print(f"python -c pass            wall best {b * 1e3:7.1f} ms  median {statistics.median(base) * 1e3:7.1f} ms  "
          f"cpu best {min(base_cpu) * 1e3:6.1f} ms")
    for name, target in TARGETS_S.items():
        ts, cpu = _times([*_cryoctl(), *name.split()], args.repeat)
        best = min(ts)
        verdict = "ok" if best <= target else "OVER"
        print(f"cryoctl {name:<17} wall best {best * 1e3:7.1f} ms  median {statistics.median(ts) * 1e3:7.1f} ms  "
              f"cpu best {min(cpu) * 1e3:6.1f} ms  ratio to python -c pass {best / b:5.1f}x (cpu "
              f"{min(cpu) / min(base_cpu):4.1f}x)  target <= {target:g} s: {verdict}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times grow with it)")


if __name__ == "__main__":
    main()
