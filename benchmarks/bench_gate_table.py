"""Benchmark: propagators of a whole 12-bit gate table, fast engine vs QuTiP per code.

Table: 4096 signed codes of a 12-bit DAC, `scaled` mode (one amplitude code scales a stored
envelope), 3-level transmon (alpha = -0.3 GHz), 40 samples at 1 GS/s of a lifted Gaussian
(sigma 10 ns), drive area = code * LSB-scaled so that the top code (2047) gives ~1.1 pi.

Printed (all times measured in this run, best of --repeats):
- fast: the whole table in one batched call; also the same computation without the de-duplication
  of identical samples ("before" the optimisation), so the gain is measured, not quoted;
- reference: one numpy batched eigh of a (4096*40, 3, 3) real-symmetric stack, the irreducible core
  of the method; fast / reference is the machine-independent figure;
- qutip: per-code time on an evenly spaced subset of codes, EXTRAPOLATED to 4096 codes (linear in the
  number of codes: one solve per code), and the max |U_fast - U_qutip| on that subset (matched accuracy:
  QuTiP at atol = rtol = 1e-10, Verner 9, exact step-held drive);
- the DRAG (I/Q) version of the table, before/after the frame-change + de-dup optimisation;
- optionally (--channel) the fast T1/T2 channel table (9x9 superoperators) for the same codes.

Targets checked: fast table <= 0.3 s (machine dependent); fast <= 1.5 x reference eigh; qutip/fast >= 100.

Usage: .venv/bin/python benchmarks/bench_gate_table.py [--qutip-codes 32] [--repeats 3] [--channel]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cryoctl.physics.engines import get_engine
from cryoctl.physics.fast import sample_propagators, time_ordered_product
from cryoctl.physics.hamiltonian import hamiltonians

BITS = 12
LEVELS = 3
ALPHA_GHZ = -0.3
K = 40
DT = 1.0
SIGMA = 10.0
TOP_AREA = 1.1 * np.pi


def table_drive() -> np.ndarray:
    """omega (4096, 40) in rad/ns: code * LSB * lifted-Gaussian envelope of unit area."""
    t = (np.arange(K) + 0.5) * DT
    g = np.exp(-((t - K * DT / 2) ** 2) / (2 * SIGMA**2))
    edge = np.exp(-((K * DT / 2) ** 2) / (2 * SIGMA**2))
    env = (g - edge) / (1 - edge)
    env /= env.sum() * DT
    codes = np.arange(-(2 ** (BITS - 1)), 2 ** (BITS - 1))
    lsb_area = TOP_AREA / (2 ** (BITS - 1) - 1)
    return (codes * lsb_area)[:, None] * env


def best_time(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qutip-codes", type=int, default=32, help="codes solved with QuTiP (evenly spaced)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--channel", action="store_true", help="also time the fast T1/T2 channel table")
    args = ap.parse_args()

    omega = table_drive()
    n_codes = omega.shape[0]
    fast = get_engine("fast")

    t_fast, u_fast = best_time(lambda: fast.propagate(omega, None, DT, LEVELS, ALPHA_GHZ), args.repeats)

    def no_dedup():
        h = hamiltonians(omega, None, LEVELS, ALPHA_GHZ)
        return time_ordered_product(sample_propagators(h, DT))

    t_before, u_before = best_time(no_dedup, args.repeats)

    # DRAG variant of the same table (Q = -beta dI/dt / alpha, beta = 0.5): I/Q path
    omega_q = -0.5 * np.gradient(omega, DT, axis=-1) / (2 * np.pi * ALPHA_GHZ)
    t_iq, u_iq = best_time(lambda: fast.propagate(omega, omega_q, DT, LEVELS, ALPHA_GHZ), args.repeats)

    def iq_before():  # complex Hermitian eigh of every sample, no de-dup (the original path)
        return time_ordered_product(sample_propagators(hamiltonians(omega, omega_q, LEVELS, ALPHA_GHZ), DT))

    t_iq_before, u_iq_before = best_time(iq_before, args.repeats)

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n_codes * K, LEVELS, LEVELS))
    sym = a + np.swapaxes(a, -1, -2)
    t_ref, _ = best_time(lambda: np.linalg.eigh(sym), args.repeats)

    qutip = get_engine("qutip")
    idx = np.unique(np.linspace(0, n_codes - 1, args.qutip_codes).round().astype(int))
    qutip.propagate(omega[idx[:1]], None, DT, LEVELS, ALPHA_GHZ)  # warm-up (imports, compilation)
    t0 = time.perf_counter()
    u_qutip = qutip.propagate(omega[idx], None, DT, LEVELS, ALPHA_GHZ)
    t_qutip_per_code = (time.perf_counter() - t0) / idx.size
    dev = np.abs(u_qutip - u_fast[idx]).max()
    ratio = t_qutip_per_code * n_codes / t_fast

    top = u_fast[-1]
    print(f"gate table: {n_codes} codes ({BITS}-bit), {LEVELS} levels, {K} samples @ {1 / DT:g} GS/s")
    print(f"  top code area {TOP_AREA / np.pi:.2f} pi: P(0->1) = {abs(top[1, 0]) ** 2:.6f}")
    print(f"fast engine, whole table (1 call)   : {t_fast:.4f} s")
    print(f"fast without sample de-dup (before) : {t_before:.4f} s  (gain x{t_before / t_fast:.2f}, "
          f"max |diff| = {np.abs(u_before - u_fast).max():.1e})")
    print(f"fast DRAG (I/Q) table               : {t_iq:.4f} s  (before: complex eigh, no de-dup {t_iq_before:.4f} s, "
          f"max |diff| = {np.abs(u_iq - u_iq_before).max():.1e})")
    print(f"reference eigh of ({n_codes * K}, 3, 3)   : {t_ref:.4f} s  -> fast / reference = {t_fast / t_ref:.2f}")
    print(f"qutip per code ({idx.size} codes timed)    : {t_qutip_per_code * 1e3:.2f} ms"
          f"  -> 4096 codes EXTRAPOLATED: {t_qutip_per_code * n_codes:.1f} s")
    print(f"max |U_fast - U_qutip| on subset    : {dev:.2e}")
    print(f"ratio (qutip per code * {n_codes}) / fast : {ratio:.0f}")
    if args.channel:
        t_ch, s = best_time(
            lambda: fast.channel(omega, None, DT, LEVELS, ALPHA_GHZ, t1_us=50.0, t2_us=40.0), max(1, args.repeats - 1)
        )
        print(f"fast T1/T2 channel table ({s.shape[-1]}x{s.shape[-1]} superops): {t_ch:.3f} s")
    checks = {
        "fast table <= 0.3 s (machine dependent)": t_fast <= 0.3,
        "fast <= 1.5 x reference eigh": t_fast <= 1.5 * t_ref,
        "qutip/fast >= 100": ratio >= 100,
        "qutip agrees to <= 1e-6": dev <= 1e-6,
    }
    for name, ok in checks.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")


if __name__ == "__main__":
    main()
