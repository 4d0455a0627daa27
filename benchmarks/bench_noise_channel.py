"""Benchmark: noise-averaged gate table, level look-up (the default) vs exact quadrature vs Monte Carlo.

Table: ``cryo_cmos_6bit`` with ``dac.bits=10`` and one qubit (1024 codes x 2 axes, 3 levels, 80 DAC
samples, 1 nV/sqrt(Hz) white noise, 1 ps jitter, T1 = 50 us, T2 = 40 us), cold (no cache), same
calibration for both methods:

- level look-up (``method="levels"``, the default for this sampled profile): one noise-averaged step
  per DAC level (second-order expansion in the per-sample covariance), composed per code;
- Monte Carlo: ``n_noise_draws`` (default 32) full noisy pulses per code, noise x T1/T2 factorised over
  the whole pulse (``method="montecarlo"``);
- quadrature: the exact per-sample Gauss-Hermite average (``method="quadrature"``, default nodes),
  noise x T1/T2 factorised per DAC sample; also with ``exact=True`` (Lindblad steps averaged).

Printed (all measured in this run, best of --repeats): times, Monte Carlo / quadrature ratio,
max |S_levels - S_quad|, and the max |S_mc - S_quad| over all codes and axes (Monte Carlo sampling error at n draws; its scale is
shown by two Monte Carlo seeds), next to the
max |S_quad(q) - S_quad(9)| (quadrature convergence) and max |S_quad - S_quad(exact=True)|.

Usage: .venv/bin/python benchmarks/bench_noise_channel.py [--draws 32] [--repeats 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cryoctl.gates import build_gate_table, calibrate
from cryoctl.profile import load_profile


def best_time(fn, repeats: int):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def max_diff(a, b) -> float:
    return max(float(np.abs(a.ops[ax] - b.ops[ax]).max()) for ax in a.ops)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    prof = load_profile("cryo_cmos_6bit", {"dac.bits": 10, "qubits.count": 1})
    cal = calibrate(prof, use_cache=False)

    def build(**kw):
        return build_gate_table(prof, calibration=cal, **kw)

    t_lv, lv = best_time(lambda: build(method="levels"), a.repeats)
    t_mc, mc = best_time(lambda: build(method="montecarlo", n_noise_draws=a.draws), a.repeats)
    t_q, quad = best_time(lambda: build(method="quadrature"), a.repeats)
    t_x, exact = best_time(lambda: build(method="quadrature", exact=True), a.repeats)
    ref = build(method="quadrature", n_nodes=9)
    mc2 = build(method="montecarlo", n_noise_draws=a.draws, seed=1)  # sampling-error scale of Monte Carlo
    print(f"profile cryo_cmos_6bit, 10 bit, 1 qubit: {2 * 1024} channels of {prof.qubits.levels ** 2}x"
          f"{prof.qubits.levels ** 2}, nodes per noisy channel {quad.meta['noise_nodes']}")
    print(f"level look-up                  {t_lv:7.2f} s")
    print(f"monte carlo ({a.draws} draws)      {t_mc:7.2f} s")
    print(f"quadrature (factorised T1/T2)  {t_q:7.2f} s   speed-up x{t_mc / t_q:.1f}")
    print(f"quadrature (exact=True)        {t_x:7.2f} s   speed-up x{t_mc / t_x:.1f}")
    print(f"max |S_levels - S_quad|        {max_diff(lv, quad):.2e}   (level look-up vs per-sample quadrature)")
    print(f"max |S_mc - S_quad|            {max_diff(mc, quad):.2e}   (Monte Carlo sampling error)")
    print(f"max |S_mc(s0) - S_mc(s1)|/rt2  {max_diff(mc, mc2) / np.sqrt(2):.2e}   (its scale: two seeds)")
    print(f"max |S_quad - S_quad(q=9)|     {max_diff(quad, ref):.2e}   (quadrature convergence)")
    print(f"max |S_quad - S_exact|         {max_diff(quad, exact):.2e}   (per-sample noise x T1/T2 factorisation)")


if __name__ == "__main__":
    main()
