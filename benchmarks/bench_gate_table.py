"""Benchmark: whole gate tables of the shipped instrument profiles at their own resolution, cold.

Tables (each built by :func:`cryoctl.gates.cache.load_or_build` into a fresh temporary cache directory,
so calibration and table are both computed, nothing is read from a cache):

- ``rfsoc_14bit``: 14 bit, 4 qubits x 2 axes x 16,384 codes, 256 samples (6.4 GS/s), ``sampled``
  amplitudes, 3.5 nV/sqrt(Hz) white noise, 0.1 ps jitter, T1 50 us / T2 40 us -> 9 x 9 channels;
- ``awg_16bit_rt``: 16 bit, 4 qubits x 2 axes x 65,536 codes, 96 samples (2.4 GS/s), 5 nV/sqrt(Hz),
  0.5 ps jitter, T1/T2 -> 9 x 9 channels.

Both are realized by the level look-up (:func:`cryoctl.gates.realize.realize_levels`, chosen by the
solve plan). The reference is the per-(code, sample) path, one Gauss-Hermite quadrature of
eigendecompositions per DAC sample of every code (``method="quadrature"`` forced; what the table
builder did before the level look-up): it is timed on a block of ``--ref-codes`` CONTIGUOUS codes of
EVERY channel (blocks spread over the code range, one position per channel; contiguous, so the
reference shares repeated samples within its chunk as it did on a whole table) and EXTRAPOLATED
linearly to all codes (its cost is per code). On those codes the max |S_table - S_reference| is
printed (target <= 1e-10).

Printed (all measured in this run): the plan (its estimate), the cold build time (calibration +
table), the reference's per-code time and extrapolated table time, their ratio, the max difference,
the process's peak resident memory, and whether the targets are met: rfsoc_14bit <= 20 s and
awg_16bit_rt <= 60 s (2 cores), max difference <= 1e-10.

Usage: .venv/bin/python benchmarks/bench_gate_table.py [--ref-codes 64] [--only rfsoc_14bit]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np

from cryoctl.conventions import DRIVE_AXES
from cryoctl.gates.cache import load_or_build
from cryoctl.gates.plan import measure_unit_costs, solve_plan
from cryoctl.gates.realize import realize
from cryoctl.profile import load_profile
from cryoctl.pulse import Drive

TARGETS_S = {"rfsoc_14bit": 20.0, "awg_16bit_rt": 60.0}
MAX_DIFF = 1e-10


def bench(name: str, ref_codes: int) -> dict:
    prof = load_profile(name)
    plan = solve_plan(prof)
    print(f"plan: {plan.with_unit_costs(measure_unit_costs()).describe()}")
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        table = load_or_build(prof, cache_dir=cache)
        t_build = time.perf_counter() - t0
    assert not table.meta.get("from_cache"), "the build must be cold"
    codes = table.codes
    ref_plan = solve_plan(prof, method="quadrature")
    n_ch = prof.qubits.count * len(DRIVE_AXES)
    diff, t_ref = 0.0, 0.0
    for q in range(prof.qubits.count):
        drive = Drive(prof, q)
        for a, axis in enumerate(DRIVE_AXES):
            c = q * len(DRIVE_AXES) + a
            first = int(round((c + 0.5) / n_ch * (codes.size - ref_codes)))
            idx = np.arange(first, first + ref_codes)
            beta = float(table.calibration.drag_beta[q, a])
            t0 = time.perf_counter()
            ref = realize(drive, codes[idx], axis, beta, plan=ref_plan)
            t_ref += time.perf_counter() - t0
            diff = max(diff, float(np.abs(table.ops[axis][q, idx] - ref).max()))
    per_code = t_ref / (n_ch * ref_codes)
    t_ref_all = per_code * n_ch * codes.size
    return {"name": name, "plan": plan, "t_build": t_build, "per_code": per_code, "t_ref": t_ref_all,
            "diff": diff, "n_ref": ref_codes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref-codes", type=int, default=64,
                    help="contiguous codes per channel solved by the reference path")
    ap.add_argument("--only", choices=sorted(TARGETS_S), default=None)
    args = ap.parse_args()
    names = [args.only] if args.only else ["rfsoc_14bit", "awg_16bit_rt"]
    results = []
    for name in names:
        r = bench(name, args.ref_codes)
        p = r["plan"]
        print(f"{name}: {p.bits} bit, {p.n_qubits} qubits x 2 axes x {p.n_codes:,} codes x {p.samples} samples, "
              f"{p.kind} {p.side}x{p.side}, method {p.method}")
        print(f"  cold build (calibration + table)      : {r['t_build']:8.2f} s   (plan estimate {p.seconds:.1f} s)")
        print(f"  per-(code, sample) quadrature, per code: {r['per_code'] * 1e3:8.3f} ms ({r['n_ref']} codes x "
              f"{p.n_channels} channels timed)")
        print(f"  -> whole table EXTRAPOLATED            : {r['t_ref']:8.1f} s   ratio {r['t_ref'] / r['t_build']:.0f}x")
        print(f"  max |S_table - S_quadrature| on those  : {r['diff']:.2e}")
        results.append(r)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MB")
    for r in results:
        target = TARGETS_S[r["name"]]
        print(f"  [{'PASS' if r['t_build'] <= target else 'FAIL'}] {r['name']} cold table <= {target:g} s "
              f"({r['t_build']:.1f} s)")
        print(f"  [{'PASS' if r['diff'] <= MAX_DIFF else 'FAIL'}] {r['name']} max difference <= {MAX_DIFF:g} "
              f"({r['diff']:.1e})")


if __name__ == "__main__":
    main()
