"""Benchmark: build a calibrated flux CZ per coupled pair on a 14-bit flux DAC, vs QuTiP per pulse.

Chip: a 4-qubit chain 0-1-2-3, 3-level transmons (alpha = -0.3 GHz), J = 2 pi x 10 MHz per link; qubits 0
and 2 tunable (f_max 6.0 / 6.1 GHz, parked at the sweet spot), 1 and 3 fixed (5.0 / 5.1 GHz); flux DAC 14
bits at 1 GS/s over 0.25 Phi_0, cosine rise 5 ns, 2 ns buffer.

A build (``cryoctl.gates.cz.build_cz``) is the lab-style calibration through the quantized DAC (amplitude
codes x whole-sample durations, stage-refined, one batched fast-engine call per stage) plus the realized
gate. Printed per pair (best of --repeats, all measured in this run):

- build: seconds for the whole calibrated build, and the number of pulses it simulated;
- qutip: seconds for ONE pulse (the calibrated one) with the QuTiP reference (atol = rtol = 1e-10,
  Verner 9, exact step-held drive), and max |U_fast - U_qutip| on it;
- ratio build / qutip-per-pulse (a whole calibrated CZ costs this many QuTiP pulses), and the speed-up
  per pulse (qutip-per-pulse x pulses / build).

With ``--profile NAME`` a shipped (or any) profile with a flux section is used instead of this chip, its
flux DAC set to ``--bits`` (e.g. ``--profile rfsoc_14bit_flux``: 6.4 GS/s, bias tee, tails, predistortion,
T1/T2: the build then includes the Lindblad channel). The target is <= 5 s per pair on 2 cores.

Usage: .venv/bin/python benchmarks/bench_cz.py [--repeats 3] [--bits 14] [--profile NAME]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cryoctl.gates.cz import CzPair, build_cz, flux_bits_overrides
from cryoctl.physics import get_engine
from cryoctl.profile import load_profile


def chip(bits: int):
    return load_profile(
        "ideal",
        [
            "qubits.count=4",
            "couplings=[{qubits: [0, 1], j_mhz: 10.0}, {qubits: [1, 2], j_mhz: 10.0}, {qubits: [2, 3], j_mhz: 10.0}]",
            f"flux={{dac: {{bits: {bits}}}, full_scale_phi0: 0.25, rise_ns: 5.0, qubits: ["
            "{index: 0, f_max_ghz: 6.0}, {index: 1, f_max_ghz: 5.0, asymmetry: 1.0}, "
            "{index: 2, f_max_ghz: 6.1}, {index: 3, f_max_ghz: 5.1, asymmetry: 1.0}]}",
        ],
    )


def best_of(repeats: int, fn):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bits", type=int, default=14)
    ap.add_argument("--profile", default=None, help="a profile with a flux section (default: the chip above)")
    args = ap.parse_args()
    if args.profile is None:
        profile = chip(args.bits)
    else:
        base = load_profile(args.profile)
        profile = load_profile(args.profile, flux_bits_overrides(base, args.bits))
        print(f"profile {profile.name}: flux DAC {profile.flux.dac.sample_rate_gsps:g} GS/s, T1/T2 "
              f"{'on' if profile.qubits.t1_us else 'off'}")
    qutip = get_engine("qutip")
    js = ", ".join(f"{c.j_mhz:g}" for c in profile.couplings)
    print(f"flux DAC {args.bits} bits; {profile.qubits.levels}-level pairs; J = {js} MHz")
    print(f"{'pair':>8} {'build s':>9} {'pulses':>7} {'1-F':>9} {'L1':>9} {'gate ns':>8} {'qutip s/pulse':>14} "
          f"{'build/qutip':>12} {'speed-up/pulse':>15} {'|dU|':>9}")
    worst = 0.0
    for c in profile.couplings:
        pair = tuple(c.qubits)
        t_build, built = best_of(args.repeats, lambda: build_cz(profile, pair))
        cal = built.calibration
        n_pulses = cal.pulses_simulated
        p = CzPair.from_profile(profile, pair)
        signals = p.signals(cal.codes)
        t_q, u_q = best_of(1, lambda: qutip.propagate(p.model, signals, p.dt_ns))
        u_f = get_engine("fast").propagate(p.model, signals, p.dt_ns)
        print(
            f"{str(pair):>8} {t_build:9.3f} {n_pulses:7d} {cal.infidelity:9.2e} {cal.leakage:9.2e} "
            f"{cal.gate_time_ns:8.1f} {t_q:14.3f} {t_build / t_q:12.3f} {t_q * n_pulses / t_build:15.0f} "
            f"{np.abs(u_f - u_q).max():9.1e}"
        )
        worst = max(worst, t_build)
    print(f"slowest pair {worst:.2f} s per calibrated CZ (target <= 5 s on 2 cores): {'ok' if worst <= 5.0 else 'OVER'}")


if __name__ == "__main__":
    main()
